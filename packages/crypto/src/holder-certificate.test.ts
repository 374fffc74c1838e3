import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createHolderCertificate } from './holder-certificate.js';
import { generateIdentity } from './identity.js';
import { entityIdFromPeerCertificate } from './peer-identity.js';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

describe('holder certificates', () => {
  it('is a self-signed Ed25519 certificate whose key gives the holder entity id', async () => {
    const identity = generateIdentity();
    const cert = new X509Certificate(await createHolderCertificate(identity));

    expect(cert.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(cert.publicKey.equals(identity.publicKey)).toBe(true);
    expect(cert.subject).toBe(`CN=${identity.id}`);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(generateIdentity().publicKey)).toBe(false);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]); // Node names the extendedKeyUsage list "keyUsage"
    expect(entityIdFromPeerCertificate(cert)).toBe(identity.id);
  });

  it('takes a common name and a validity period', async () => {
    const identity = generateIdentity();
    const cert = new X509Certificate(await createHolderCertificate(identity, { commonName: 'alice, the holder', validDays: 2 }));
    // One CN holding a comma (Node escapes it), not a name parsed from "CN=alice, the holder".
    expect(cert.subject).toBe('CN=alice\\, the holder');
    const lifetimeDays = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    expect(lifetimeDays).toBeGreaterThan(2);
    expect(lifetimeDays).toBeLessThan(2.01);
    expect(entityIdFromPeerCertificate(cert)).toBe(identity.id);
  });

  it('rejects an impossible validity or common name', async () => {
    const identity = generateIdentity();
    await expect(createHolderCertificate(identity, { validDays: 0 })).rejects.toThrow(/validDays/);
    await expect(createHolderCertificate(identity, { commonName: 'x'.repeat(65) })).rejects.toThrow(/commonName/);
  });
});
