import { x509 } from './x509-provider.js';
import { commonNameSubject, validityPeriod } from './certificate-fields.js';
import { keyAlgorithms, toCryptoPrivateKey, toCryptoPublicKey } from './web-crypto-keys.js';
import type { Identity } from './identity.js';

export interface HolderCertificateOptions {
  /** Subject CN; defaults to the entity id. Informational only: the key is what identifies a holder. */
  readonly commonName?: string;
  readonly validDays?: number;
}

const DEFAULT_HOLDER_VALID_DAYS = 365;

/**
 * A self-signed Ed25519 certificate that carries a holder's key into a TLS handshake as its client
 * certificate. Issuers do not chain-validate it; they read the entity id from its public key.
 */
export async function createHolderCertificate(identity: Identity, options: HolderCertificateOptions = {}): Promise<string> {
  const publicKey = await toCryptoPublicKey(identity.publicKey);
  const name = commonNameSubject(options.commonName ?? identity.id);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    ...validityPeriod(options.validDays ?? DEFAULT_HOLDER_VALID_DAYS),
    keys: { privateKey: await toCryptoPrivateKey(identity.privateKey), publicKey },
    signingAlgorithm: keyAlgorithms(identity.privateKey).signingAlgorithm,
    // No keyUsage: RFC 5280 forbids keyCertSign without cA, yet OpenSSL does not count a certificate
    // whose keyUsage lacks keyCertSign as its own issuer. Without the extension it is a plain self-signed leaf.
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
  return certificate.toString('pem');
}
