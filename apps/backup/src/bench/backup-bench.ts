// pnpm --filter @lcp/backup bench: backup and restore throughput (MB/s) over real storage
// nodes and a real issuer on loopback, against a plain local copy of the same data in the same
// run; the storage overhead; and the cost in currency per GB. Prints figures and writes JSON.
// BENCH_MB (default 32), BENCH_NODES (6), BENCH_GOAL (0.999), BENCH_CHUNK_KB (1024).
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityId } from '@lcp/protocol';
import { formatAmount } from '@lcp/protocol';
import { loopback, startTestIssuer } from '@lcp/issuer/testing';
import { startBackup } from '../app.js';
import { parseConfig } from '../config.js';
import { peerList, startNodes } from './local-network.js';

const MB = 1024 * 1024;
const dataMb = Number(process.env.BENCH_MB ?? '32');
const nodeCount = Number(process.env.BENCH_NODES ?? '6');
const goal = Number(process.env.BENCH_GOAL ?? '0.999');
const chunkBytes = Number(process.env.BENCH_CHUNK_KB ?? '1024') * 1024;

async function timed<T>(run: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { seconds: (performance.now() - started) / 1000, value };
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

const work = await mkdtemp(join(tmpdir(), 'lcp-backup-bench-'));
const t = await startTestIssuer();
// the paper's section 4 prices: a contract 10, writes 1 per KB, reads 4 per KB (1 MiB contracts)
const nodes = await startNodes(t, nodeCount, () => ({
  LCP_STORAGE_CONTRACT_PRICE: '10',
  LCP_STORAGE_WRITE_PRICE_PER_KB: '1',
  LCP_STORAGE_READ_PRICE_PER_KB: '4',
  LCP_STORAGE_CONTRACT_BYTES: String(MB),
}));
try {
  const source = join(work, 'data');
  await mkdir(source);
  const files = Math.max(1, Math.round(dataMb / 4));
  for (let i = 0; i < files; i++) await writeFile(join(source, `file-${i}.bin`), randomBytes(Math.round((dataMb * MB) / files)));
  const bytes = await sizeOf(source);

  const copyBackup = await timed(() => cp(source, join(work, 'copy'), { recursive: true }));
  const copyRestore = await timed(() => cp(join(work, 'copy'), join(work, 'copy-back'), { recursive: true }));

  const lines: string[] = [];
  const config = parseConfig({
    LCP_BACKUP_HOME: join(work, 'home'),
    LCP_BACKUP_PEERS: peerList(nodes),
    LCP_BACKUP_CURRENCY_WSDL: t.issuer.wsdlUrl,
    LCP_BACKUP_PAYER: 'issuer',
    LCP_BACKUP_ISSUER_CA: t.caPath,
    LCP_BACKUP_CHUNK_BYTES: String(chunkBytes),
    LCP_BACKUP_CONCURRENCY: '4',
  });
  const running = await startBackup(config, { lookup: loopback, out: { write: (text) => void lines.push(text), isTTY: false } });
  const { client } = running;
  await t.issuer.ledger.mint(client.buyerId as EntityId, 10n ** 10n, 'bench-funds');
  const currency = { wsdl: t.issuer.wsdlUrl, scale: 2 };
  await client.init({ budget: 10n ** 10n, goal, chunkBytes, currency });
  const afterInit = client.spending.spent;
  const backup = await timed(() => client.backup([source]));
  const backupCost = client.spending.spent - afterInit;
  const stored = (await Promise.all(nodes.map((n) => sizeOf(join(n.home, 'content'))))).reduce((a, b) => a + b, 0);
  const beforeRestore = client.spending.spent;
  const restore = await timed(() => client.restore('1', undefined, join(work, 'restored')));
  const restoreCost = client.spending.spent - beforeRestore;
  await running.close();

  const gb = bytes / (1024 * MB);
  const perGb = (amount: bigint) => Number(amount) / 10 ** currency.scale / gb;
  const lineOf = (purpose: string) =>
    client.spending
      .lines()
      .filter((l) => l.purpose === purpose && l.status === 'paid')
      .reduce((s, l) => s + l.amount + l.fee, 0n);
  const result = {
    at: new Date().toISOString(),
    data: { bytes, files, chunkBytes },
    peers: nodeCount,
    goal,
    plan: backup.value.plan && { k: backup.value.plan.k, n: backup.value.plan.n, survival: backup.value.plan.survival, peers: backup.value.plan.peers },
    throughput: {
      backupMBps: bytes / MB / backup.seconds,
      restoreMBps: bytes / MB / restore.seconds,
      plainCopyMBps: bytes / MB / copyBackup.seconds,
      plainCopyBackMBps: bytes / MB / copyRestore.seconds,
      backupVsCopy: copyBackup.seconds / backup.seconds,
      restoreVsCopy: copyRestore.seconds / restore.seconds,
    },
    seconds: { backup: backup.seconds, restore: restore.seconds, plainCopy: copyBackup.seconds, plainCopyBack: copyRestore.seconds },
    overhead: {
      storedBytes: stored,
      fragmentsBytes: backup.value.bytesStored,
      ratio: stored / bytes,
      codeRatio: backup.value.plan.n / backup.value.plan.k,
    },
    cost: {
      prices: { contract: '10', writePerKb: '1', readPerKb: '4' },
      backup: formatAmount(backupCost, currency.scale),
      restore: formatAmount(restoreCost, currency.scale),
      backupPerGb: perGb(backupCost),
      restorePerGb: perGb(restoreCost),
      contracts: formatAmount(lineOf('contract'), currency.scale),
      writes: formatAmount(lineOf('write'), currency.scale),
      reads: formatAmount(lineOf('read'), currency.scale),
      payments: client.spending.lines().filter((l) => l.status === 'paid').length,
    },
  };
  const f = (n: number) => n.toFixed(2);
  console.log(`lcp-backup bench: ${f(bytes / MB)} MB in ${files} files, ${nodeCount} storage nodes on loopback, goal ${goal}`);
  console.log(`plan                ${result.plan.k} of ${result.plan.n} on ${result.plan.peers.join(', ')} (survival ${result.plan.survival.toFixed(6)})`);
  console.log(`backup              ${f(result.throughput.backupMBps)} MB/s   plain copy ${f(result.throughput.plainCopyMBps)} MB/s   ratio ${result.throughput.backupVsCopy.toFixed(4)} (the copy is ${f(1 / result.throughput.backupVsCopy)}x faster)`);
  console.log(`restore             ${f(result.throughput.restoreMBps)} MB/s   plain copy ${f(result.throughput.plainCopyBackMBps)} MB/s   ratio ${result.throughput.restoreVsCopy.toFixed(4)} (the copy is ${f(1 / result.throughput.restoreVsCopy)}x faster)`);
  console.log(`storage overhead    ${f(result.overhead.ratio)}x on the peers' disks (code ${result.plan.n}/${result.plan.k} = ${f(result.overhead.codeRatio)}x, plus sealing and the manifest)`);
  console.log(`cost                backup ${result.cost.backup} (${f(result.cost.backupPerGb)} per GB), restore ${result.cost.restore} (${f(result.cost.restorePerGb)} per GB), ${result.cost.payments} payments`);
  const outDir = join(process.cwd(), 'bench-results');
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'backup-bench.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`JSON: ${join(outDir, 'backup-bench.json')}`);
} finally {
  for (const n of nodes) await n.node.close();
  await t.stop();
  await rm(work, { recursive: true, force: true });
  for (const n of nodes) await rm(n.home, { recursive: true, force: true });
}
