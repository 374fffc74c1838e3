// Object bytes on disk: one file per stored object, under content/<contractId>/, named at random
// so two writes can never collide. A write lands in content/tmp/ first, is fsynced, and is moved
// into place before the database records it; files the database does not know (a crash between
// the two) are removed at the next start.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDirectory } from '@lcp/client';

export interface ReceivedContent {
  temp: string;
  size: number;
  sha256: string;
}

export class ContentStore {
  readonly #tmp: string;

  constructor(readonly dir: string) {
    this.#tmp = join(dir, 'tmp');
  }

  /** Creates the folders and removes leftovers: temporary files and files no record names. */
  async open(knownFiles: Set<string>): Promise<void> {
    await rm(this.#tmp, { recursive: true, force: true });
    await mkdir(this.#tmp, { recursive: true, mode: 0o700 });
    for (const entry of await readdir(this.dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === 'tmp') continue;
      for (const file of await readdir(join(this.dir, entry.name))) {
        const relative = `${entry.name}/${file}`;
        if (!knownFiles.has(relative)) await rm(join(this.dir, relative), { force: true });
      }
    }
  }

  /** Streams `body` to a temporary file, hashing it; 'tooLarge' (and nothing kept) beyond `limit` bytes. */
  async receive(body: AsyncIterable<Buffer>, limit: number): Promise<ReceivedContent | 'tooLarge'> {
    const temp = join(this.#tmp, randomBytes(12).toString('base64url'));
    const hash = createHash('sha256');
    let size = 0;
    const file = await open(temp, 'wx', 0o600);
    let kept = false;
    try {
      // next() by hand: leaving a for-await early would destroy the request and its socket,
      // and the refusal could not be answered
      const chunks = body[Symbol.asyncIterator]();
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        const chunk = next.value;
        size += chunk.length;
        if (size > limit) return 'tooLarge';
        hash.update(chunk);
        await file.write(chunk);
      }
      await file.sync();
      kept = true;
      return { temp, size, sha256: hash.digest('hex') };
    } finally {
      await file.close();
      if (!kept) await rm(temp, { force: true });
    }
  }

  /** Moves a received file into the contract's folder; returns its name relative to the store. */
  async place(received: ReceivedContent, contractId: string): Promise<string> {
    const relative = `${contractId}/${randomBytes(12).toString('base64url')}`;
    const target = join(this.dir, relative);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await rename(received.temp, target);
    await syncDirectory(dirname(target));
    return relative;
  }

  async discard(pathOrRelative: string): Promise<void> {
    const path = pathOrRelative.startsWith(this.dir) ? pathOrRelative : join(this.dir, pathOrRelative);
    await rm(path, { force: true });
  }

  /** The object's bytes, or `length` of them from `offset`. */
  read(relative: string, range?: { offset: number; length: number }): ReadStream {
    return createReadStream(join(this.dir, relative), range ? { start: range.offset, end: range.offset + range.length - 1 } : {});
  }
}
