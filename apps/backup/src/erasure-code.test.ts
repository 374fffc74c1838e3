import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decode, encode, gfInv, gfMul, rebuild, shardSize } from './erasure-code.js';

/** Every subset of size k of 0..n-1. */
function* subsets(n: number, k: number, start = 0, picked: number[] = []): Generator<number[]> {
  if (picked.length === k) {
    yield picked;
    return;
  }
  for (let i = start; i < n; i++) yield* subsets(n, k, i + 1, [...picked, i]);
}

describe('k-of-n erasure coding (systematic Reed-Solomon, Cauchy)', () => {
  it('has a field where every non-zero element has an inverse', () => {
    for (let a = 1; a < 256; a++) expect(gfMul(a, gfInv(a))).toBe(1);
    expect(gfMul(0, 7)).toBe(0);
  });

  it('keeps the data in the first k shards (systematic) and shards of equal size', () => {
    const data = randomBytes(1000);
    const shards = encode(data, { k: 4, n: 6 });
    expect(shards).toHaveLength(6);
    expect(shards.every((s) => s.length === shardSize(1000, 4))).toBe(true);
    expect(Buffer.concat(shards.slice(0, 4)).subarray(0, 1000).equals(data)).toBe(true);
  });

  it('rebuilds the data from every choice of k shards, for every shape up to n = 7', () => {
    for (let n = 1; n <= 7; n++) {
      for (let k = 1; k <= n; k++) {
        const data = randomBytes(257 + n * 31 + k);
        const shards = encode(data, { k, n });
        for (const kept of subsets(n, k)) {
          const partial = shards.map((s, i) => (kept.includes(i) ? s : undefined));
          expect(decode(partial, { k, n }, data.length).equals(data), `k=${k} n=${n} kept=${kept.join(',')}`).toBe(true);
        }
      }
    }
  });

  it('re-creates lost shards byte-exact (repair)', () => {
    const data = randomBytes(4321);
    const shards = encode(data, { k: 3, n: 6 });
    const survivors = shards.map((s, i) => (i === 0 || i === 4 || i === 5 ? s : undefined));
    const rebuilt = rebuild(survivors, { k: 3, n: 6 }, data.length, [1, 2, 3]);
    for (const i of [1, 2, 3]) expect(rebuilt.get(i)?.equals(shards[i] as Buffer)).toBe(true);
  });

  it('handles tiny and empty data and refuses too few shards or bad shapes', () => {
    for (const length of [0, 1, 2]) {
      const data = randomBytes(length);
      const shards = encode(data, { k: 3, n: 5 });
      expect(decode([undefined, undefined, shards[2], shards[3], shards[4]], { k: 3, n: 5 }, length).equals(data)).toBe(true);
    }
    const shards = encode(randomBytes(100), { k: 3, n: 5 });
    expect(() => decode([shards[0], undefined, undefined, undefined, shards[4]], { k: 3, n: 5 }, 100)).toThrow(/2 shards present, 3 needed/);
    expect(() => encode(randomBytes(10), { k: 0, n: 2 })).toThrow(RangeError);
    expect(() => encode(randomBytes(10), { k: 3, n: 2 })).toThrow(RangeError);
    expect(() => encode(randomBytes(10), { k: 3, n: 256 })).toThrow(RangeError);
  });
});
