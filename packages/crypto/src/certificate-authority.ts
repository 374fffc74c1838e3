import { createPrivateKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { x509 } from './x509-provider.js';
import { commonNameSubject, validityPeriod } from './certificate-fields.js';
import { keyAlgorithms, toCryptoPrivateKey, toCryptoPublicKey } from './web-crypto-keys.js';

/** A certificate authority that can issue server certificates (a demo or private CA). */
export interface CertificateAuthority {
  readonly certPem: string;
  /** PKCS#8 PEM. Secret: store with mode 0600. */
  readonly keyPem: string;
  readonly certificate: X509Certificate;
  readonly privateKey: KeyObject;
}

export interface CertificateAuthorityOptions {
  readonly validDays?: number;
}

const DEFAULT_CA_VALID_DAYS = 3650;

/**
 * Creates a self-signed root CA with an ECDSA P-256 key: every TLS stack and browser accepts
 * P-256 certificate chains, which is not yet true of Ed25519.
 */
export async function createCertificateAuthority(
  name: string,
  options: CertificateAuthorityOptions = {},
): Promise<CertificateAuthority> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const cryptoPublicKey = await toCryptoPublicKey(publicKey);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: commonNameSubject(name),
    ...validityPeriod(options.validDays ?? DEFAULT_CA_VALID_DAYS),
    keys: { privateKey: await toCryptoPrivateKey(privateKey), publicKey: cryptoPublicKey },
    signingAlgorithm: keyAlgorithms(privateKey).signingAlgorithm,
    extensions: [
      // pathLength 0: this CA signs leaf certificates only, never other CAs.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(cryptoPublicKey),
    ],
  });
  return loadCertificateAuthority(
    certificate.toString('pem'),
    privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  );
}

/** Loads a CA from PEM, checking that the certificate is a CA certificate and that the key is its key. */
export function loadCertificateAuthority(certPem: string, keyPem: string): CertificateAuthority {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (error) {
    throw new TypeError('The CA certificate is not a PEM X.509 certificate', { cause: error });
  }
  if (!certificate.ca) {
    throw new TypeError(`The certificate for ${certificate.subject} is not a CA certificate (basicConstraints cA is not set)`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: keyPem, format: 'pem' });
  } catch (error) {
    throw new TypeError('The CA key is not a PEM private key', { cause: error });
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TypeError(`The CA key does not belong to the CA certificate for ${certificate.subject}`);
  }
  keyAlgorithms(privateKey); // throws early for a key type we cannot sign with
  return { certPem, keyPem, certificate, privateKey };
}
