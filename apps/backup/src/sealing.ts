// Authenticated encryption on the client (AES-256-GCM, node:crypto): a sealed chunk is
// nonce (12) | ciphertext | tag (16). The chunk's id goes in as additional data, so a
// fragment set moved under another chunk's name is refused as well as a flipped byte.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const NONCE = 12;
const TAG = 16;
export const SEAL_OVERHEAD = NONCE + TAG;

/** The sealed bytes failed authentication: altered, truncated, or sealed under another secret. */
export class TamperedError extends Error {
  override name = 'TamperedError';
}

export function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

export function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < SEAL_OVERHEAD) throw new TamperedError('sealed data is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(NONCE, sealed.length - TAG)), decipher.final()]);
  } catch {
    throw new TamperedError('authentication failed: the data was altered or sealed under another secret');
  }
}

/** A chunk's id: keyed by the secret, so identical chunks deduplicate without telling peers so. */
export const chunkId = (namesKey: Buffer, plaintext: Buffer): string =>
  createHmac('sha256', namesKey).update('chunk\u0000').update(plaintext).digest('base64url').slice(0, 32);
