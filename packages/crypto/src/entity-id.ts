import { createPublicKey, type KeyObject } from 'node:crypto';

/** An entity id: an Ed25519 public key written as 64 lowercase hex characters. */
const ENTITY_ID = /^[0-9a-f]{64}$/;

// An Ed25519 SubjectPublicKeyInfo is this fixed 12-byte DER header followed by the 32-byte raw key.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_SPKI_LENGTH = ED25519_SPKI_PREFIX.length + 32;

export function isEntityId(value: unknown): value is string {
  return typeof value === 'string' && ENTITY_ID.test(value);
}

/**
 * The entity id named by an Ed25519 key. A private key is accepted too (its public half is used).
 * Throws for any other key type, so an RSA or ECDSA key can never silently become an identity.
 */
export function entityIdOf(key: KeyObject): string {
  if (key.type === 'secret') {
    throw new TypeError('An entity id needs an Ed25519 public key, but a secret (symmetric) key was given');
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(
      `An entity id needs an Ed25519 key, but a ${key.asymmetricKeyType ?? 'unknown'} key was given`,
    );
  }
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return entityIdFromSpki(publicKey.export({ type: 'spki', format: 'der' }));
}

/** The Ed25519 public key an entity id names, e.g. to verify something that entity signed. */
export function publicKeyFromEntityId(id: string): KeyObject {
  if (!isEntityId(id)) {
    throw new TypeError(`Not an entity id (expected 64 lowercase hex characters): ${JSON.stringify(id)}`);
  }
  const der = Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(id, 'hex')]);
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

/** The entity id inside an Ed25519 SubjectPublicKeyInfo (DER); throws for any other key. */
export function entityIdFromSpki(spki: Buffer): string {
  if (spki.length !== ED25519_SPKI_LENGTH || !spki.subarray(0, ED25519_SPKI_PREFIX.length).equals(ED25519_SPKI_PREFIX)) {
    throw new TypeError('Not an Ed25519 SubjectPublicKeyInfo');
  }
  return spki.subarray(ED25519_SPKI_PREFIX.length).toString('hex');
}
