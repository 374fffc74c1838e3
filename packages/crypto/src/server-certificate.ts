import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { x509 } from './x509-provider.js';
import { commonNameSubject, MAX_COMMON_NAME_LENGTH, validityPeriod } from './certificate-fields.js';
import { keyAlgorithms, toCryptoPrivateKey, toCryptoPublicKey } from './web-crypto-keys.js';
import type { CertificateAuthority } from './certificate-authority.js';
import type { Identity } from './identity.js';

export interface ServerCertificateOptions {
  /** DNS names (wildcards like *.money.com allowed) and IP literals; the first also becomes the CN. */
  readonly hostnames: readonly string[];
  /** Certify this Ed25519 identity's key, so the server's certificate names its entity. Default: a fresh P-256 key. */
  readonly identity?: Identity;
  readonly validDays?: number;
}

export interface IssuedCertificate {
  readonly certPem: string;
  /** PKCS#8 PEM of the certified key. Secret: store with mode 0600. */
  readonly keyPem: string;
}

const DEFAULT_SERVER_VALID_DAYS = 397;
const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Issues a leaf certificate for a server, signed by `ca`. It allows both serverAuth and clientAuth
 * because banks and publishers are servers and also LCP holders that connect to issuers.
 */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  options: ServerCertificateOptions,
): Promise<IssuedCertificate> {
  const names = options.hostnames.map(subjectAltName);
  const [first] = options.hostnames;
  if (first === undefined) throw new RangeError('A server certificate needs at least one hostname');

  const { privateKey, publicKey } = options.identity ?? generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const cryptoPublicKey = await toCryptoPublicKey(publicKey);
  const caCertificate = new x509.X509Certificate(ca.certPem);
  const caKeyId = caCertificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  // A name too long for a CN lives only in the SAN; with an empty subject the SAN must be critical.
  const withCommonName = first.length <= MAX_COMMON_NAME_LENGTH;

  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    new x509.SubjectAlternativeNameExtension(names, !withCommonName),
    await x509.SubjectKeyIdentifierExtension.create(cryptoPublicKey),
  ];
  // Copy the CA's own key id rather than recomputing it: verifiers match the two byte for byte.
  if (caKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(caKeyId));

  const certificate = await x509.X509CertificateGenerator.create({
    // The CA's subject exactly as encoded in its certificate, so the issuer name matches byte for byte.
    issuer: caCertificate.subjectName,
    subject: withCommonName ? commonNameSubject(first.toLowerCase()) : [],
    ...validityPeriod(options.validDays ?? DEFAULT_SERVER_VALID_DAYS),
    publicKey: cryptoPublicKey,
    signingKey: await toCryptoPrivateKey(ca.privateKey),
    signingAlgorithm: keyAlgorithms(ca.privateKey).signingAlgorithm,
    extensions,
  });
  return { certPem: certificate.toString('pem'), keyPem: pkcs8Pem(privateKey) };
}

function subjectAltName(hostname: string): x509.JsonGeneralName {
  if (isIP(hostname) !== 0) return { type: 'ip', value: hostname };
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (!DNS_NAME.test(name) || name.length > 253) {
    throw new RangeError(`Not a DNS name or IP address: ${JSON.stringify(hostname)}`);
  }
  return { type: 'dns', value: name };
}

function pkcs8Pem(privateKey: KeyObject): string {
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
