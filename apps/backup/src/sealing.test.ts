import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decode, encode } from './erasure-code.js';
import { chunkId, open, seal, SEAL_OVERHEAD, TamperedError } from './sealing.js';
import { deriveKeys, formatSecret, keyedName, newSecretKey, parseSecret, SecretFormatError } from './secret.js';

const keys = deriveKeys(newSecretKey());

describe('client-side encryption', () => {
  it('seals with AES-256-GCM: the ciphertext hides the plaintext and opens back', () => {
    const plaintext = Buffer.from('the family photos, 2003'.repeat(50));
    const sealed = seal(keys.data, plaintext, 'chunk-1');
    expect(sealed.length).toBe(plaintext.length + SEAL_OVERHEAD);
    expect(sealed.includes(Buffer.from('family photos'))).toBe(false);
    expect(open(keys.data, sealed, 'chunk-1').equals(plaintext)).toBe(true);
    // a fresh nonce each time: the same chunk sealed twice looks different
    expect(seal(keys.data, plaintext, 'chunk-1').equals(sealed)).toBe(false);
  });

  it('detects a tampered fragment: one flipped bit in any fragment fails authentication after decoding', () => {
    const plaintext = randomBytes(5000);
    const sealed = seal(keys.data, plaintext, 'c');
    const shards = encode(sealed, { k: 3, n: 5 });
    const tampered = shards.map((s) => Buffer.from(s));
    const victim = tampered[1] as Buffer;
    victim[17] = (victim[17] as number) ^ 0x01;
    expect(() => open(keys.data, decode(tampered, { k: 3, n: 5 }, sealed.length), 'c')).toThrow(TamperedError);
    // without the tampered one, the others rebuild it fine
    const rest = tampered.map((s, i) => (i === 1 ? undefined : s));
    expect(open(keys.data, decode(rest, { k: 3, n: 5 }, sealed.length), 'c').equals(plaintext)).toBe(true);
  });

  it('refuses a truncated seal, another chunk name (moved fragments) and another secret', () => {
    const sealed = seal(keys.data, Buffer.from('x'), 'a');
    expect(() => open(keys.data, sealed.subarray(0, 10), 'a')).toThrow(TamperedError);
    expect(() => open(keys.data, sealed, 'b')).toThrow(TamperedError);
    const other = deriveKeys(newSecretKey());
    expect(() => open(other.data, sealed, 'a')).toThrow(TamperedError);
  });

  it('names chunks and fragments with keyed hashes: equal under one secret, unrelated under another', () => {
    const chunk = Buffer.from('same bytes');
    const other = deriveKeys(newSecretKey());
    expect(chunkId(keys.names, chunk)).toBe(chunkId(keys.names, Buffer.from('same bytes')));
    expect(chunkId(other.names, chunk)).not.toBe(chunkId(keys.names, chunk));
    expect(keyedName(keys, 'fragment', 'x', 0, 0)).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });
});

describe('the secret', () => {
  it('derives the same keys and buyer identity from the same secret, and others from another', () => {
    const key = newSecretKey();
    const a = deriveKeys(key);
    const b = deriveKeys(key);
    expect(a.identity.id).toBe(b.identity.id);
    expect(a.data.equals(b.data)).toBe(true);
    expect(a.identity.id).toMatch(/^[0-9a-f]{64}$/);
    expect(deriveKeys(newSecretKey()).identity.id).not.toBe(a.identity.id);
  });

  it('carries the root locators and refuses malformed secrets', () => {
    const key = newSecretKey();
    const roots = [{ nodePrefix: '0123456789abcdef', contractId: 'A'.repeat(22) }];
    const secret = formatSecret(key, roots);
    expect(parseSecret(secret)).toEqual({ key, roots });
    expect(() => parseSecret('hunter2')).toThrow(SecretFormatError);
    expect(() => parseSecret(`${secret}.nonsense`)).toThrow(SecretFormatError);
  });
});
