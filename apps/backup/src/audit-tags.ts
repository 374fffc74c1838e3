// What lets an audit check a random byte range of a fragment without keeping the fragment: at
// backup time each fragment is cut in at most AUDIT_BLOCKS blocks, and a keyed tag (HMAC-SHA256
// under a key derived from the secret, truncated to 8 bytes) of every block is kept in the
// catalog. A challenge is a paid ranged read of one block chosen at random; the bytes the peer
// sends are the proof, checked against the tag. The peer does not know the key, so it cannot
// answer from anything but the block itself (it cannot forge a tag, 2^-64 a try).
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

/** Blocks per fragment: 16 tags of 8 bytes are 128 bytes of catalog per fragment. */
export const AUDIT_BLOCKS = 16;
/** The smallest block: one KB, the smallest read a storage node charges for. */
export const MIN_BLOCK_BYTES = 1024;
const TAG_BYTES = 8;

/** A fragment's audit record: its block size and the tags of its blocks (base64url, 8 bytes each). */
export interface FragmentAudit {
  blockBytes: number;
  tags: string;
}

export const blockBytesFor = (size: number): number => Math.max(MIN_BLOCK_BYTES, Math.ceil(size / AUDIT_BLOCKS));
export const blockCount = (size: number, blockBytes: number): number => Math.max(1, Math.ceil(size / blockBytes));

/** The byte range of block `index` (the last one may be shorter). */
export function blockRange(size: number, blockBytes: number, index: number): { offset: number; length: number } {
  const offset = index * blockBytes;
  return { offset, length: Math.min(blockBytes, size - offset) };
}

// the tag names the object and the block's place, so a peer cannot answer with another block
function tag(key: Buffer, objectId: string, blockBytes: number, index: number, bytes: Buffer): Buffer {
  return createHmac('sha256', key).update(`lcp-backup/v1 block\u0000${objectId}\u0000${blockBytes}\u0000${index}\u0000`).update(bytes).digest().subarray(0, TAG_BYTES);
}

/** The audit record of a fragment about to be written. */
export function auditTags(key: Buffer, objectId: string, fragment: Buffer): FragmentAudit {
  const blockBytes = blockBytesFor(fragment.length);
  const tags: Buffer[] = [];
  for (let index = 0; index < blockCount(fragment.length, blockBytes); index++) {
    const { offset, length } = blockRange(fragment.length, blockBytes, index);
    tags.push(tag(key, objectId, blockBytes, index, fragment.subarray(offset, offset + length)));
  }
  return { blockBytes, tags: Buffer.concat(tags).toString('base64url') };
}

/** A random block of the fragment to challenge (crypto.randomInt: the peer cannot predict it). */
export function pickBlock(size: number, audit: FragmentAudit): { index: number; offset: number; length: number } {
  const index = randomInt(blockCount(size, audit.blockBytes));
  return { index, ...blockRange(size, audit.blockBytes, index) };
}

/** True when `bytes` are block `index` of the fragment as it was written. */
export function checkBlock(key: Buffer, objectId: string, audit: FragmentAudit, index: number, bytes: Buffer): boolean {
  const expected = Buffer.from(audit.tags, 'base64url').subarray(index * TAG_BYTES, (index + 1) * TAG_BYTES);
  if (expected.length !== TAG_BYTES) return false;
  return timingSafeEqual(expected, tag(key, objectId, audit.blockBytes, index, bytes));
}
