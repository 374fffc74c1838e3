// Files are cut into fixed-size chunks (the last one shorter). Fixed sizes keep every
// fragment of a chunk the same size and let the cost of a backup be known before it starts.
import { open } from 'node:fs/promises';

export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** Yields a file's chunks in order; an empty file yields none. */
export async function* chunkFile(path: string, chunkBytes = DEFAULT_CHUNK_BYTES): AsyncGenerator<Buffer> {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RangeError('chunkBytes must be a positive integer');
  const handle = await open(path, 'r');
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(chunkBytes);
      let filled = 0;
      while (filled < chunkBytes) {
        const { bytesRead } = await handle.read(buffer, filled, chunkBytes - filled, null);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled === 0) return;
      yield filled === chunkBytes ? buffer : buffer.subarray(0, filled);
      if (filled < chunkBytes) return;
    }
  } finally {
    await handle.close();
  }
}

/** The chunk sizes of a file of `size` bytes. */
export function chunkSizes(size: number, chunkBytes = DEFAULT_CHUNK_BYTES): number[] {
  const sizes: number[] = [];
  for (let at = 0; at < size; at += chunkBytes) sizes.push(Math.min(chunkBytes, size - at));
  return sizes;
}
