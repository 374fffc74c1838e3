import { createPrivateKey, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, loadCertificateAuthority, type CertificateAuthority } from './certificate-authority.js';
import { createHolderCertificate } from './holder-certificate.js';
import { generateIdentity, privateKeyPem } from './identity.js';
import { entityIdFromPeerCertificate } from './peer-identity.js';
import { issueServerCertificate } from './server-certificate.js';
import { x509 } from './x509-provider.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

describe('certificate authority', () => {
  let ca: CertificateAuthority;

  beforeAll(async () => {
    ca = await createCertificateAuthority('LCP Demo CA');
  });

  it('is a self-signed P-256 CA that may only sign certificates and CRLs', () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=LCP Demo CA');
    expect(cert.publicKey.asymmetricKeyType).toBe('ec');
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(ca.privateKey)).toBe(true);

    const parsed = new x509.X509Certificate(ca.certPem);
    const constraints = parsed.getExtension(x509.BasicConstraintsExtension);
    expect(constraints).toMatchObject({ ca: true, pathLength: 0, critical: true });
    const usages = parsed.getExtension(x509.KeyUsagesExtension);
    expect(usages?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(usages?.critical).toBe(true);
  });

  it('loads back from PEM, and refuses a key or certificate that does not fit', async () => {
    const loaded = loadCertificateAuthority(ca.certPem, ca.keyPem);
    expect(loaded.certificate.fingerprint256).toBe(ca.certificate.fingerprint256);

    const other = await createCertificateAuthority('Other CA');
    expect(() => loadCertificateAuthority(ca.certPem, other.keyPem)).toThrow(/does not belong/);

    const holder = generateIdentity();
    const holderCert = await createHolderCertificate(holder);
    expect(() => loadCertificateAuthority(holderCert, privateKeyPem(holder))).toThrow(/not a CA certificate/);
  });

  describe('server certificates', () => {
    it('chain to the CA and carry DNS and IP subject alternative names', async () => {
      const { certPem, keyPem } = await issueServerCertificate(ca, { hostnames: ['money.com', '127.0.0.1', '::1'] });
      const cert = new X509Certificate(certPem);

      expect(cert.verify(ca.certificate.publicKey)).toBe(true);
      expect(cert.checkIssued(ca.certificate)).toBe(true);
      expect(cert.verify((await createCertificateAuthority('Other CA')).certificate.publicKey)).toBe(false);
      expect(cert.issuer).toBe(ca.certificate.subject);
      expect(cert.subject).toBe('CN=money.com');
      expect(cert.subjectAltName).toBe('DNS:money.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
      expect(cert.checkHost('money.com')).toBe('money.com');
      expect(cert.checkHost('other.com')).toBeUndefined();
      expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(cert.ca).toBe(false);
      expect(cert.keyUsage).toEqual([SERVER_AUTH, CLIENT_AUTH]);
      expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(cert.checkPrivateKey(createPrivateKey(keyPem))).toBe(true);
      expect(entityIdFromPeerCertificate(cert)).toBeUndefined();

      // The authority key id must equal the CA's subject key id, or chain building can fail.
      const parsed = new x509.X509Certificate(certPem);
      const caKeyId = new x509.X509Certificate(ca.certPem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
      expect(caKeyId).toBeDefined();
      expect(parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(caKeyId);
    });

    it('certifies a given Ed25519 identity, so the server certificate names its entity', async () => {
      const identity = generateIdentity();
      const { certPem, keyPem } = await issueServerCertificate(ca, { hostnames: ['bank.example'], identity });
      const cert = new X509Certificate(certPem);
      expect(cert.verify(ca.certificate.publicKey)).toBe(true);
      expect(entityIdFromPeerCertificate(cert)).toBe(identity.id);
      expect(keyPem).toBe(privateKeyPem(identity));
    });

    it('accepts wildcards and long names, and rejects what is not a host name', async () => {
      const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.example`;
      const cert = new X509Certificate((await issueServerCertificate(ca, { hostnames: [long, '*.money.com'] })).certPem);
      // Too long for a CN: the subject stays empty and the SAN becomes critical (RFC 5280 4.2.1.6).
      expect(cert.subject ?? '').toBe('');
      const san = new x509.X509Certificate(cert.raw).getExtension(x509.SubjectAlternativeNameExtension);
      expect(san?.critical).toBe(true);
      expect(cert.checkHost(long)).toBe(long);
      expect(cert.checkHost('www.money.com')).toBe('*.money.com'); // returns the name that matched
      expect(cert.checkHost('a.b.money.com')).toBeUndefined();

      await expect(issueServerCertificate(ca, { hostnames: [] })).rejects.toThrow(/at least one hostname/);
      await expect(issueServerCertificate(ca, { hostnames: ['money.com, evil.com'] })).rejects.toThrow(/Not a DNS name/);
      await expect(issueServerCertificate(ca, { hostnames: ['-bad.com'] })).rejects.toThrow(/Not a DNS name/);
    });
  });
});
