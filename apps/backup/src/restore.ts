// `lcp-backup list` and `restore`: the snapshots in the catalog, and a snapshot (or a path in
// it) written back from paid reads of its chunks.
import { chmod, mkdir, open, utimes } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { formatAmount } from '@lcp/protocol';
import type { ChunkRef } from './catalog.js';
import { fetchChunk } from './chunk-read.js';
import type { ClientContext } from './client-context.js';
import { UsageError } from './errors.js';
import { probeAll } from './peer-planning.js';
import { formatBytes, progressBar, table } from './progress.js';

export function listSnapshots(ctx: ClientContext, snapshotId?: string): string {
  const catalog = ctx.catalog;
  if (snapshotId) {
    const snapshot = findSnapshot(ctx, snapshotId);
    return table(
      snapshot.files.map((f) => [f.path, String(f.size), String(f.chunks.length)]),
      ['path', 'bytes', 'chunks'],
    );
  }
  return table(
    catalog.snapshots.map((s) => [s.id, s.createdAt, String(s.files.length), formatBytes(s.files.reduce((t, f) => t + f.size, 0))]),
    ['snapshot', 'created', 'files', 'size'],
  );
}

export async function restoreSnapshot(ctx: ClientContext, snapshotId: string, path: string | undefined, to: string): Promise<{ files: number; bytes: number; paid: bigint }> {
  const snapshot = findSnapshot(ctx, snapshotId);
  const wanted = path ? path.replace(/\/+$/, '') : undefined;
  const files = snapshot.files.filter((f) => !wanted || f.path === wanted || f.path.startsWith(`${wanted}/`));
  if (files.length === 0) throw new UsageError(`snapshot ${snapshotId} has no file at ${path}`);
  const spending = ctx.spending;
  const paidBefore = spending.spent;
  const total = files.reduce((s, f) => s + f.size, 0);
  const bar = progressBar(ctx.out, 'restore', total);
  const root = resolve(to);
  await probeAll(ctx);
  for (const file of files) {
    const target = resolve(root, file.path);
    if (target !== root && !target.startsWith(root + sep)) throw new UsageError(`refusing to write outside ${root}: ${file.path}`);
    await mkdir(dirname(target), { recursive: true });
    const handle = await open(target, 'w', file.mode & 0o777);
    try {
      // fetch ahead: a few chunks in flight, written in order
      const ahead = ctx.options.concurrency ?? 2;
      const queue: Promise<Buffer>[] = [];
      let next = 0;
      const fill = () => {
        while (queue.length < ahead && next < file.chunks.length) {
          const id = file.chunks[next++] as string;
          queue.push(fetchChunk(ctx, id, chunkRef(ctx, id), spending));
        }
      };
      fill();
      while (queue.length > 0) {
        const plaintext = await (queue.shift() as Promise<Buffer>);
        fill();
        await handle.write(plaintext);
        bar.tick(plaintext.length);
      }
    } finally {
      await handle.close();
    }
    await chmod(target, file.mode & 0o777);
    await utimes(target, new Date(file.mtimeMs), new Date(file.mtimeMs));
  }
  bar.done();
  await ctx.saveLocal();
  const paid = spending.spent - paidBefore;
  ctx.out.write(
    `${table(
      [
        ['snapshot', snapshotId],
        ['files', String(files.length)],
        ['bytes', formatBytes(total)],
        ['to', root],
        ['paid for reads', formatAmount(paid, ctx.catalog.settings.currency.scale)],
      ],
      ['restore', 'result'],
    )}\n`,
  );
  return { files: files.length, bytes: total, paid };
}

function findSnapshot(ctx: ClientContext, id: string) {
  const snapshot = ctx.catalog.snapshots.find((s) => s.id === id);
  if (!snapshot) throw new UsageError(`no snapshot ${id} (see \`lcp-backup list\`)`);
  return snapshot;
}

function chunkRef(ctx: ClientContext, id: string): ChunkRef {
  const ref = ctx.catalog.chunks[id];
  if (!ref) throw new UsageError(`the catalog has no chunk ${id}`);
  return ref;
}
