// `lcp-backup backup`: a new snapshot of the paths. Chunks already stored well enough are
// reused; the others are placed by one plan for the whole run, then the catalog is saved here
// and on the peers.
import { lstat, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { formatAmount } from '@lcp/protocol';
import type { FileEntry } from './catalog.js';
import { chunkFile, chunkSizes } from './chunker.js';
import { saveEverywhere } from './catalog-roots.js';
import { storeChunk } from './chunk-write.js';
import type { ClientContext } from './client-context.js';
import { chunkSurvival } from './fragment-health.js';
import { planFor, probeAll, showPlan } from './peer-planning.js';
import { formatBytes, progressBar, table } from './progress.js';
import { chunkId, SEAL_OVERHEAD } from './sealing.js';

export interface BackupSummary {
  snapshot: string;
  files: number;
  bytes: number;
  chunksNew: number;
  chunksReused: number;
  fragmentsWritten: number;
  bytesStored: number;
  plan: { k: number; n: number; survival: number; peers: string[]; estimatedCost: bigint };
  paid: bigint;
}

export async function takeSnapshot(ctx: ClientContext, paths: readonly string[]): Promise<BackupSummary> {
  const catalog = ctx.catalog;
  const spending = ctx.spending;
  const paidBefore = spending.spent;
  const files = await collectFiles(paths);
  const totalBytes = files.reduce((s, f) => s + f.size, 0);
  const chunkBytes = catalog.settings.chunkBytes;
  const sealedSizes = files.flatMap((f) => chunkSizes(f.size, chunkBytes).map((size) => size + SEAL_OVERHEAD));
  await probeAll(ctx);
  const plan = planFor(ctx, sealedSizes, 'this backup');
  showPlan(ctx, plan);

  const bar = progressBar(ctx.out, 'backup ', totalBytes);
  const entries: FileEntry[] = [];
  let chunksNew = 0;
  let chunksReused = 0;
  let fragmentsWritten = 0;
  let bytesStored = 0;
  for (const file of files) {
    const entry: FileEntry = { path: file.name, size: file.size, mode: file.mode, mtimeMs: file.mtimeMs, chunks: [] };
    const pending: Promise<void>[] = [];
    for await (const chunk of chunkFile(file.path, chunkBytes)) {
      const id = chunkId(ctx.options.keys.names, chunk);
      entry.chunks.push(id);
      const known = catalog.chunks[id];
      if (known && chunkSurvival(ctx, known) >= catalog.settings.goal) {
        chunksReused++;
        bar.tick(chunk.length);
        continue;
      }
      const job = storeChunk(ctx, id, chunk, plan).then((ref) => {
        chunksNew++;
        fragmentsWritten += ref.fragments.length;
        bytesStored += ref.fragments.reduce((s, f) => s + f.size, 0);
        bar.tick(chunk.length);
      });
      pending.push(job);
      if (pending.length >= (ctx.options.concurrency ?? 2)) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    entries.push(entry);
  }
  bar.done();
  const snapshot = { id: String(catalog.snapshots.length + 1), createdAt: new Date().toISOString(), files: entries };
  catalog.snapshots.push(snapshot);
  await saveEverywhere(ctx, plan);
  const summary: BackupSummary = {
    snapshot: snapshot.id,
    files: entries.length,
    bytes: totalBytes,
    chunksNew,
    chunksReused,
    fragmentsWritten,
    bytesStored,
    plan: { k: plan.k, n: plan.n, survival: plan.survival, peers: plan.peers.map((p) => p.name), estimatedCost: plan.cost },
    paid: spending.spent - paidBefore,
  };
  const s = catalog.settings.currency.scale;
  ctx.out.write(
    `${table(
      [
        ['snapshot', summary.snapshot],
        ['files', String(summary.files)],
        ['data', formatBytes(summary.bytes)],
        ['chunks new / reused', `${chunksNew} / ${chunksReused}`],
        ['fragments written', String(fragmentsWritten)],
        ['stored on peers', `${formatBytes(bytesStored)} (overhead ${totalBytes ? (bytesStored / totalBytes).toFixed(2) : '-'}x)`],
        ['code', `${plan.k} of ${plan.n} on ${summary.plan.peers.join(', ')}`],
        ['survival', plan.survival.toFixed(6)],
        ['paid (with the manifest)', formatAmount(summary.paid, s)],
        ['budget left', formatAmount(spending.remaining, s)],
      ],
      ['backup', 'result'],
    )}\n`,
  );
  return summary;
}

interface FoundFile {
  path: string;
  name: string;
  size: number;
  mode: number;
  mtimeMs: number;
}

/** Regular files under the paths, named relative to each path's parent (symbolic links are skipped). */
export async function collectFiles(paths: readonly string[]): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  const visit = async (path: string, name: string): Promise<void> => {
    const info = await lstat(path);
    if (info.isDirectory()) {
      for (const entry of (await readdir(path)).sort()) await visit(join(path, entry), `${name}/${entry}`);
    } else if (info.isFile()) {
      found.push({ path, name, size: info.size, mode: info.mode, mtimeMs: info.mtimeMs });
    }
  };
  for (const path of paths) await visit(resolve(path), basename(resolve(path)));
  return found;
}
