import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileDurably } from './durable-file.js';

const made: string[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('writeFileDurably', () => {
  it('creates the folder, replaces the file whole, leaves no temporary file, and keeps it private', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lcp-durable-'));
    made.push(dir);
    const path = join(dir, 'state', 'holder.json');
    await writeFileDurably(path, 'first');
    await Promise.all([writeFileDurably(path, 'second'), writeFileDurably(path, 'third')]);
    expect(['second', 'third']).toContain(await readFile(path, 'utf8'));
    expect(await readdir(join(dir, 'state'))).toEqual(['holder.json']);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});
