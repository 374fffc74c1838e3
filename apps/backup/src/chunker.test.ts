import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkFile, chunkSizes } from './chunker.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lcp-backup-chunks-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function chunksOf(bytes: Buffer, chunkBytes: number): Promise<Buffer[]> {
  const path = join(dir, `f-${bytes.length}-${chunkBytes}`);
  await writeFile(path, bytes);
  const chunks: Buffer[] = [];
  for await (const chunk of chunkFile(path, chunkBytes)) chunks.push(Buffer.from(chunk));
  return chunks;
}

describe('chunking', () => {
  it('cuts a file into fixed-size chunks, the last one shorter, and they join back byte-exact', async () => {
    const data = randomBytes(10_000);
    const chunks = await chunksOf(data, 4096);
    expect(chunks.map((c) => c.length)).toEqual([4096, 4096, 1808]);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect(chunkSizes(10_000, 4096)).toEqual([4096, 4096, 1808]);
  });

  it('gives no chunk for an empty file and no empty chunk at an exact multiple', async () => {
    expect(await chunksOf(Buffer.alloc(0), 4096)).toEqual([]);
    expect(chunkSizes(0, 4096)).toEqual([]);
    const exact = await chunksOf(randomBytes(8192), 4096);
    expect(exact.map((c) => c.length)).toEqual([4096, 4096]);
  });

  it('refuses a chunk size that is not a positive integer', async () => {
    await expect(chunksOf(randomBytes(10), 0)).rejects.toThrow(RangeError);
  });
});
