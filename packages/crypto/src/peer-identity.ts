import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { entityIdFromSpki } from './entity-id.js';

/** The entity id named by a certificate's key, or undefined if there is no certificate or its key is not Ed25519. */
export function entityIdFromPeerCertificate(cert: X509Certificate | undefined): string | undefined {
  if (cert?.publicKey.asymmetricKeyType !== 'ed25519') return undefined;
  return entityIdFromSpki(cert.publicKey.export({ type: 'spki', format: 'der' }));
}

/**
 * The entity id of the peer on a TLS connection, from the certificate it presented (also on resumed
 * sessions, where OpenSSL restores it from the session). Undefined when it presented none or a non-Ed25519 one.
 *
 * This proves possession of the key (the handshake's CertificateVerify), not that anyone vouches for it:
 * for holders that is exactly the LCP model; do not treat it as a verified domain.
 */
export function entityIdFromSocket(socket: TLSSocket): string | undefined {
  return entityIdFromPeerCertificate(socket.getPeerX509Certificate());
}
