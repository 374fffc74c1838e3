import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateIdentity, identityFromPem, identityFromPrivateKey, privateKeyPem } from './identity.js';

describe('identities', () => {
  it('round-trips through PKCS#8 PEM', () => {
    const identity = generateIdentity();
    const pem = privateKeyPem(identity);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const again = identityFromPem(pem);
    expect(again.id).toBe(identity.id);
    expect(again.publicKey.equals(identity.publicKey)).toBe(true);
  });

  it('refuses a PEM that is not an Ed25519 private key', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    expect(() => identityFromPem(ec.export({ type: 'pkcs8', format: 'pem' }).toString())).toThrow(
      /Ed25519 private key, but a ec private key/,
    );
    expect(() => identityFromPem('not a key')).toThrow(/Not a PEM private key/);
  });

  it('refuses a public key where a private key is needed', () => {
    expect(() => identityFromPrivateKey(generateIdentity().publicKey)).toThrow(/ed25519 public key/);
  });
});
