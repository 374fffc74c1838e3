import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { entityIdOf, isEntityId, publicKeyFromEntityId } from './entity-id.js';
import { generateIdentity } from './identity.js';

describe('entity ids', () => {
  it('is the raw Ed25519 public key as 64 lowercase hex characters', () => {
    const { id, publicKey } = generateIdentity();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
    expect(raw).toHaveLength(32);
    expect(id).toBe(raw.toString('hex'));
  });

  it('is the same for the private and the public half of a key', () => {
    const identity = generateIdentity();
    expect(entityIdOf(identity.privateKey)).toBe(identity.id);
    expect(entityIdOf(identity.publicKey)).toBe(identity.id);
  });

  it('differs between identities', () => {
    expect(generateIdentity().id).not.toBe(generateIdentity().id);
  });

  it('refuses keys that are not Ed25519, naming the type', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const x25519 = generateKeyPairSync('x25519').publicKey;
    expect(() => entityIdOf(ec)).toThrow(/Ed25519 key, but a ec key/);
    expect(() => entityIdOf(x25519)).toThrow(/Ed25519 key, but a x25519 key/);
  });

  it('turns back into the public key it names', () => {
    const identity = generateIdentity();
    const key = publicKeyFromEntityId(identity.id);
    expect(key.equals(identity.publicKey)).toBe(true);
    expect(() => publicKeyFromEntityId(identity.id.toUpperCase())).toThrow(/Not an entity id/);
  });

  it('recognises only 64 lowercase hex characters', () => {
    const { id } = generateIdentity();
    expect(isEntityId(id)).toBe(true);
    expect(isEntityId(id.toUpperCase())).toBe(false);
    expect(isEntityId(id.slice(1))).toBe(false);
    expect(isEntityId(`${id}0`)).toBe(false);
    expect(isEntityId(`${id.slice(1)}g`)).toBe(false);
    expect(isEntityId(undefined)).toBe(false);
    expect(isEntityId(42)).toBe(false);
  });
});
