import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { FileStateStore, initialState } from './holder-state.js';

it('starts a new holder counter at the current time in microseconds', () => {
  const counter = BigInt(initialState().counter);
  const now = BigInt(Date.now()) * 1000n;
  expect(counter).toBeLessThanOrEqual(now);
  expect(counter).toBeGreaterThan(now - 10_000_000n);
});

it('saves atomically, one save at a time, keeping the last snapshot, mode 0600', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lcp-state-'));
  try {
    const store = new FileStateStore(join(dir, 'nested', 'state.json'));
    expect(await store.load()).toMatchObject({ acknowledged: '0', inbox: [] });
    const state = await store.load();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        state.counter = String(i);
        return store.save(state);
      }),
    );
    expect((await store.load()).counter).toBe('19');
    expect(JSON.parse(await readFile(join(dir, 'nested', 'state.json'), 'utf8')).counter).toBe('19');
    expect((await stat(join(dir, 'nested', 'state.json'))).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'nested'))).toEqual(['state.json']); // no temp files left
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
