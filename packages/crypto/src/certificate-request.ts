import { x509 } from './x509-provider.js';
import { commonNameSubject } from './certificate-fields.js';
import { keyAlgorithms, toCryptoPrivateKey, toCryptoPublicKey } from './web-crypto-keys.js';
import type { Identity } from './identity.js';

/**
 * A PKCS#10 certificate signing request for a server's own Ed25519 key and its domain, to send
 * to a real CA; the certificate it returns then names the entity's key, as the demo CA's does.
 */
export async function createCertificateRequest(identity: Identity, hostnames: readonly string[]): Promise<string> {
  const [first] = hostnames;
  if (first === undefined) throw new RangeError('A certificate request needs at least one hostname');
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: commonNameSubject(first.toLowerCase()),
    keys: { publicKey: await toCryptoPublicKey(identity.publicKey), privateKey: await toCryptoPrivateKey(identity.privateKey) },
    signingAlgorithm: keyAlgorithms(identity.privateKey).signingAlgorithm,
    extensions: [new x509.SubjectAlternativeNameExtension(hostnames.map((value) => ({ type: 'dns', value: value.toLowerCase() })))],
  });
  return request.toString('pem');
}
