// The user's secret and what is derived from it. Everything a new machine needs to restore
// comes from this one string: the keys that encrypt and name the data, the Ed25519 key that
// is the buyer of every storage contract (so a new machine can ask the peers for reads, and
// ask them which of its contracts hold the root of the manifest).
import { createHmac, createPrivateKey, hkdfSync, randomBytes, scryptSync } from 'node:crypto';
import { identityFromPrivateKey, type Identity } from '@lcp/crypto';

const PREFIX = 'lcpb1';
// scrypt makes a guessed secret expensive to try; the secret is random, but users copy it by hand
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const SALT = 'lcp-backup/v1';

/**
 * Where a root replica lives: the peer (by the first 16 hex of its node id) and the contract.
 * Secrets made before the storage node could list a buyer's contracts carry these; secrets
 * made now carry none (the roots are found by asking the peers), and old ones still read.
 */
export interface RootLocator {
  nodePrefix: string;
  contractId: string;
}

export interface BackupKeys {
  /** AES-256-GCM key of chunks and of the manifest. */
  data: Buffer;
  /** HMAC key that names chunks and fragments: peers see only these names. */
  names: Buffer;
  /** HMAC key of the audit tags of fragment blocks (src/audit-tags.ts). */
  audit: Buffer;
  /** The contract buyer and reader on every peer. */
  identity: Identity;
}

export class SecretFormatError extends Error {
  override name = 'SecretFormatError';
}

/** A fresh random key: the secret's key part. */
export const newSecretKey = (): string => randomBytes(32).toString('base64url');

export function formatSecret(key: string, roots: readonly RootLocator[] = []): string {
  return [PREFIX, key, ...roots.map((r) => `${r.nodePrefix}~${r.contractId}`)].join('.');
}

export function parseSecret(secret: string): { key: string; roots: RootLocator[] } {
  const parts = secret.trim().split('.');
  const [prefix, key, ...rest] = parts;
  if (prefix !== PREFIX || !key || !/^[A-Za-z0-9_-]{43}$/.test(key)) {
    throw new SecretFormatError('not an lcp-backup secret (it starts with "lcpb1." followed by 43 characters)');
  }
  const roots = rest.map((part) => {
    const match = /^([0-9a-f]{16})~([A-Za-z0-9_-]{22})$/.exec(part);
    if (!match) throw new SecretFormatError(`the secret's root locator ${JSON.stringify(part)} is malformed`);
    return { nodePrefix: match[1] as string, contractId: match[2] as string };
  });
  return { key, roots };
}

// PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows it
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The keys of a secret's key part (slow on purpose: scrypt). */
export function deriveKeys(key: string): BackupKeys {
  const master = scryptSync(key, SALT, 32, SCRYPT);
  const sub = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `lcp-backup/v1 ${info}`, 32));
  const seed = sub('buyer identity');
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return { data: sub('data'), names: sub('names'), audit: sub('audit tags'), identity: identityFromPrivateKey(privateKey) };
}

/** A name peers see: keyed, so equal names reveal nothing about the content to anyone without the secret. */
export const keyedName = (keys: BackupKeys, ...parts: (string | number)[]): string =>
  createHmac('sha256', keys.names).update(parts.join('\u0000')).digest('base64url').slice(0, 32);
