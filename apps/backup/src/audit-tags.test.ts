import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AUDIT_BLOCKS, auditTags, blockCount, blockRange, checkBlock, MIN_BLOCK_BYTES, pickBlock } from './audit-tags.js';

const key = randomBytes(32);

describe('audit tags of fragment blocks', () => {
  it('cut a fragment in at most 16 blocks of at least 1 KB that cover it exactly', () => {
    for (const size of [1, 1023, 1024, 1025, 16 * 1024, 16 * 1024 + 1, 21_846, 349_526, 4 * 1024 * 1024]) {
      const fragment = randomBytes(size);
      const audit = auditTags(key, 'fobject', fragment);
      const count = blockCount(size, audit.blockBytes);
      expect(count).toBeLessThanOrEqual(AUDIT_BLOCKS);
      expect(audit.blockBytes).toBeGreaterThanOrEqual(MIN_BLOCK_BYTES);
      expect(Buffer.from(audit.tags, 'base64url')).toHaveLength(count * 8);
      let covered = 0;
      for (let index = 0; index < count; index++) {
        const { offset, length } = blockRange(size, audit.blockBytes, index);
        expect(offset).toBe(covered);
        expect(length).toBeGreaterThan(0);
        covered += length;
        expect(checkBlock(key, 'fobject', audit, index, fragment.subarray(offset, offset + length))).toBe(true);
      }
      expect(covered).toBe(size);
      const picked = pickBlock(size, audit);
      expect(picked.index).toBeLessThan(count);
      expect(picked).toMatchObject(blockRange(size, audit.blockBytes, picked.index));
    }
  });

  it('refuse an altered byte, another block, another object, another key, and a block index past the end', () => {
    const fragment = randomBytes(20_000);
    const audit = auditTags(key, 'fobject', fragment);
    const { offset, length } = blockRange(fragment.length, audit.blockBytes, 3);
    const block = Buffer.from(fragment.subarray(offset, offset + length));
    expect(checkBlock(key, 'fobject', audit, 3, block)).toBe(true);
    const altered = Buffer.from(block);
    altered[length >> 1] = (altered[length >> 1] as number) ^ 1;
    expect(checkBlock(key, 'fobject', audit, 3, altered)).toBe(false);
    const other = blockRange(fragment.length, audit.blockBytes, 4);
    expect(checkBlock(key, 'fobject', audit, 3, fragment.subarray(other.offset, other.offset + length))).toBe(false);
    expect(checkBlock(key, 'fanother', audit, 3, block)).toBe(false);
    expect(checkBlock(randomBytes(32), 'fobject', audit, 3, block)).toBe(false);
    expect(checkBlock(key, 'fobject', audit, 99, block)).toBe(false);
  });
});
