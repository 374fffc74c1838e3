import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { entityIdOf } from './entity-id.js';

/** An LCP entity: an Ed25519 key pair, named by its public key. */
export interface Identity {
  /** The entity id: the raw Ed25519 public key as 64 lowercase hex characters. */
  readonly id: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateIdentity(): Identity {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { id: entityIdOf(publicKey), privateKey, publicKey };
}

/** The identity held by an Ed25519 private key. */
export function identityFromPrivateKey(privateKey: KeyObject): Identity {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    const kind = privateKey.type === 'secret' ? 'secret' : `${privateKey.asymmetricKeyType ?? 'unknown'} ${privateKey.type}`;
    throw new TypeError(`An identity needs an Ed25519 private key, but a ${kind} key was given`);
  }
  const publicKey = createPublicKey(privateKey);
  return { id: entityIdOf(publicKey), privateKey, publicKey };
}

/** Reads an identity from an (unencrypted) PEM private key, normally PKCS#8 as written by privateKeyPem. */
export function identityFromPem(pem: string): Identity {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new TypeError('Not a PEM private key', { cause: error });
  }
  return identityFromPrivateKey(privateKey);
}

/** The identity's private key as PKCS#8 PEM. This is secret material: store it with mode 0600. */
export function privateKeyPem(identity: Identity): string {
  return identity.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
