// Issue #8 in containers: six storage-node containers, a backup of 50 MiB in several files from
// the backup client's container, two peers stopped, a byte-exact restore, a repair that brings
// redundancy back on the remaining peers, a peer that silently corrupts what it holds caught by
// an audit, and the backup's statement equal to money.com's records of the buyer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupWorld, CHUNK_BYTES, type Peer } from './backup-world.js';
import { units } from './issuer-container.js';

const MIB = 1024 * 1024;
/** documents/: 50 MiB of random bytes in six files (chunks of 8 MiB: whole and partial ones), and a letter. */
const FILES: [string, number][] = [
  ['photos/2003/fire.raw', 16 * MIB],
  ['photos/2003/harbour.raw', 12 * MIB],
  ['video/clip.bin', 8 * MIB],
  ['video/trailer.bin', 7 * MIB + 12_345],
  ['archive.tar', 5 * MIB],
  ['taxes.pdf', 2 * MIB - 12_345],
];
const FUNDS = '100000';

let w: BackupWorld;
const timings: [string, number][] = [];
async function timed<T>(what: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await run();
  } finally {
    timings.push([what, Date.now() - started]);
  }
}

/** The rows of a table the CLI printed (a header, a line of dashes, rows), split on runs of spaces. */
function rows(output: string, header: RegExp): string[][] {
  const lines = output.split('\n');
  const at = lines.findIndex((l) => header.test(l));
  if (at === -1) throw new Error(`no table ${header} in:\n${output}`);
  const found: string[][] = [];
  for (const line of lines.slice(at + 2)) {
    if (!line.trim() || /^-+/.test(line)) break;
    found.push(line.trim().split(/\s{2,}/));
  }
  return found;
}
const cell = (table: string[][], first: string, column: number) => table.find((r) => r[0] === first)?.[column];

beforeAll(async () => {
  w = await timed('start money.com, six peers and the client', () => BackupWorld.start('backup'));
}, 240_000);

afterAll(async () => {
  await w?.close();
  if (timings.length > 0) console.log(`backup in containers:\n${timings.map(([what, ms]) => `  ${what}: ${(ms / 1000).toFixed(1)} s`).join('\n')}`);
});

describe('archival backup over six storage-node containers', () => {
  it('backs up 50 MiB, restores byte-exact with two peers stopped, repairs, catches a corrupting peer, and its statement matches money.com', async () => {
    // the data, made in the client's container
    const script = FILES.map(([path, size]) => `mkdir -p "$(dirname ${path})" && head -c ${size} /dev/urandom > ${path}`).join(' && ');
    await w.client.exec(['sh', '-c', `mkdir -p /data/documents && cd /data/documents && ${script} && yes 'Dear Claire,' | head -n 2000 > letter.txt`]);
    const original = await w.digests('/data/documents');
    expect(original.size).toBe(FILES.length + 1);
    const totalBytes = Number(await w.client.exec(['sh', '-c', 'du -cb /data/documents | tail -1 | cut -f1']));
    expect(totalBytes).toBeGreaterThanOrEqual(50 * MIB);

    // the buyer key comes from the secret: `identity` makes and keeps one, money.com funds its key, then init
    const buyer = await w.backup('identity');
    expect(buyer).toMatch(/^[0-9a-f]{64}$/);
    const secret = (await w.client.exec(['cat', '/data/secret'])).trim();
    // the secret is the key alone: no contract in it, the peers say where the roots are
    expect(secret).toMatch(/^lcpb1\.[A-Za-z0-9_-]{43}$/);
    await w.money.mint(buyer, FUNDS, 'fund-backup');
    const init = await timed('init (root contracts)', () => w.backup('init', '--budget', '50000', '--goal', '0.996'));
    expect(init).toMatch(/root contracts on peer\d/);
    expect((await w.client.exec(['cat', '/data/secret'])).trim()).toBe(secret);

    // back up: the plan keeps the data when any two holders fail, and leaves the dearer two in reserve
    const backup = await timed('backup 50 MiB', () => w.backup('backup', '/data/documents'));
    const code = /code\s+(\d+) of (\d+) on (.+)/.exec(backup);
    expect(code, backup).not.toBeNull();
    const [k, n] = [Number(code?.[1]), Number(code?.[2])];
    const holderNames = (code?.[3] ?? '').split(', ').map((s) => s.trim());
    expect(n - k).toBeGreaterThanOrEqual(2);
    expect(holderNames).toHaveLength(n);
    expect(holderNames).not.toContain('peer5');
    expect(holderNames).not.toContain('peer6');
    expect(backup).toMatch(/backup {2}\[#{20}\] 100%/);
    expect(await w.backup('list', '1')).toContain('documents/photos/2003/fire.raw');

    // two holders stop: the restore is still byte-exact
    const holders = holderNames.map((name) => w.peer(name));
    const stopped = holders.slice(0, 2);
    await Promise.all(stopped.map((p) => p.party.container.stop({ timeout: 5_000 })));
    await timed('restore (two peers stopped)', () => w.backup('restore', '1', '--to', '/data/restored-2'));
    expect(await w.digests('/data/restored-2/documents')).toEqual(original);

    // repair: the missing fragments are re-created on the remaining peers
    const repair = await timed('repair', () => w.backup('repair'));
    const repaired = rows(repair, /^repair\s+result/);
    expect(Number(cell(repaired, 'fragments re-created', 1))).toBeGreaterThan(0);
    expect(cell(repaired, 'still below the goal', 1)).toBe('0');
    expect(cell(repaired, 'unrecoverable', 1)).toBe('0');
    // the catalog: every chunk meets the goal again with fragments on the peers that are up,
    // more than k of them (it survives another failure); the reserve peers took the new ones
    const up = new Set(w.peers.filter((p) => !stopped.includes(p)).map((p) => p.nodeId));
    const catalog = JSON.parse(await w.client.exec(['cat', '/data/catalog.json'])) as {
      chunks: Record<string, { k: number; n: number; fragments: { nodeId: string; state: string; index: number }[] }>;
    };
    const chunks = Object.values(catalog.chunks);
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil((50 * MIB) / CHUNK_BYTES));
    for (const chunk of chunks) {
      const live = chunk.fragments.filter((f) => f.state === 'ok' && up.has(f.nodeId));
      expect(live.length).toBeGreaterThan(chunk.k);
      expect(new Set(live.map((f) => f.index)).size).toBe(live.length);
      expect(new Set(live.map((f) => f.nodeId)).size).toBe(live.length);
    }
    const peersAfterRepair = rows(await w.backup('peers'), /^peer\s+contract/);
    for (const p of stopped) expect(cell(peersAfterRepair, p.name, 9)).toBe('unreachable');
    const reserve = Number(cell(peersAfterRepair, 'peer5', 8)) + Number(cell(peersAfterRepair, 'peer6', 8));
    expect(reserve).toBe(Number(cell(repaired, 'fragments re-created', 1)));
    expect(reserve).toBeGreaterThanOrEqual(chunks.length);

    // a peer that silently alters what it holds is caught by the audit and loses its standing
    const liar = holders[2] as Peer;
    expect(await w.corrupt(liar)).toBeGreaterThan(0);
    const audit = rows(await timed('check (audit)', () => w.backup('check', '--audits', '3')), /^peer\s+passed/);
    expect(cell(audit, liar.name, 2)).toBe('1');
    expect(cell(audit, liar.name, 5)).toBe('disqualified');
    const audited = audit.map((r) => r[0] ?? '').filter((name) => w.peers.some((p) => p.name === name));
    for (const p of stopped.filter((p) => audited.includes(p.name))) expect(cell(audit, p.name, 3), p.name).toBe('unreachable');
    const honest = audited.filter((name) => name !== liar.name && !stopped.some((p) => p.name === name));
    expect(honest.length).toBeGreaterThanOrEqual(2);
    for (const p of honest.map((name) => w.peer(name))) {
      expect(cell(audit, p.name, 2), p.name).toBe('0');
      expect(Number(cell(audit, p.name, 1)), p.name).toBeGreaterThan(0);
      expect(cell(audit, p.name, 5), p.name).toBe('good');
    }
    expect(cell(rows(await w.backup('peers'), /^peer\s+contract/), liar.name, 9)).toBe('disqualified');
    // the challenges were ranges: a passing one read one block (at most 1/16 of a fragment), not the fragment
    const block = Math.ceil((CHUNK_BYTES + 28) / k / 16);
    for (const p of honest) {
      const [, value, unit] = /^([\d.]+) (MB|KB|B)$/.exec(cell(audit, p, 6) ?? '') ?? [];
      const read = Number(value) * (unit === 'MB' ? MIB : unit === 'KB' ? 1024 : 1);
      expect(read, p).toBeGreaterThan(0);
      expect(read, p).toBeLessThanOrEqual(Number(cell(audit, p, 1)) * block * 1.001);
    }
    // and the data still comes back whole from the honest peers (a folder of it, to keep the run short)
    await timed('restore of documents/video (liar disqualified)', () => w.backup('restore', '1', 'documents/video', '--to', '/data/restored-3'));
    const videos = new Map([...original].filter(([path]) => path.startsWith('./video/')));
    expect(videos.size).toBe(2);
    expect(await w.digests('/data/restored-3/documents')).toEqual(videos);

    // a new machine (another folder) with only the secret finds the catalog on the peers
    const recovered = await timed('init on a new machine with the secret alone', () =>
      w.client.exec(['sh', '-c', `LCP_BACKUP_HOME=/data/new-machine LCP_BACKUP_SECRET='${secret}' lcp-backup init --budget 100`]),
    );
    expect(recovered).toMatch(/catalog recovered/);
    expect(await w.client.exec(['sh', '-c', 'LCP_BACKUP_HOME=/data/new-machine lcp-backup list 1'])).toContain('documents/photos/2003/fire.raw');

    // money: the backup's statement is money.com's record of the buyer, payment by payment
    // (both machines' statements: the new one paid the reads that found the catalog)
    const readStatement = async (path: string) => {
      const last = new Map<string, { purpose: string; amount: string; fee: string; status: string }>();
      for (const line of (await w.client.exec(['cat', path])).split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as { transactionId: string; purpose: string; amount: string; fee: string; status: string };
        last.set(entry.transactionId, entry);
      }
      return last;
    };
    const main = await readStatement('/data/statement.jsonl');
    const last = new Map([...main, ...(await readStatement('/data/new-machine/statement.jsonl'))]);
    expect([...last.values()].every((l) => l.status === 'paid')).toBe(true);
    expect(new Set([...last.values()].map((l) => l.purpose))).toEqual(new Set(['contract', 'write', 'read', 'audit']));
    const ours = new Map([...last].map(([id, l]) => [id, BigInt(l.amount) + BigInt(l.fee)]));
    const theirs = new Map<string, bigint>();
    for (const line of (await w.money.cli('statement', '--account', buyer)).split('\n').filter(Boolean)) {
      const fields = line.trim().split(/\s+/);
      const delta = units(fields[2] ?? '');
      if (delta >= 0n) continue; // the funding
      const id = fields.length === 5 ? (fields[3] as string) : '';
      theirs.set(id, (theirs.get(id) ?? 0n) - delta);
    }
    expect(theirs).toEqual(ours);
    const spent = [...ours.values()].reduce((s, v) => s + v, 0n);
    expect(await w.money.balance(buyer)).toBe(units(FUNDS) - spent);
    expect(await w.money.sum()).toBe(0n);
    // the CLI's own statement (this folder's) says the same total as its statement file
    const statement = await w.backup('statement');
    expect(units(/spent (\S+) of/.exec(statement)?.[1] ?? 'missing')).toBe([...main.values()].reduce((s, l) => s + BigInt(l.amount) + BigInt(l.fee), 0n));
  }, 600_000);
});
