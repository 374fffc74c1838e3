// `lcp-backup repair`: fragments re-created on other peers for every chunk whose chance of
// surviving fell below the goal, and a new manifest when anything moved or the roots near their end.
import { StorageNodeIdentityError, StorageNodeProblemError } from '@lcp/storage-node';
import { formatAmount } from '@lcp/protocol';
import { rootsMeetGoal, saveEverywhere } from './catalog-roots.js';
import { readShards } from './chunk-read.js';
import { writeFragment } from './chunk-write.js';
import type { ClientContext } from './client-context.js';
import { rebuild, shardSize } from './erasure-code.js';
import { ChunkUnavailableError } from './errors.js';
import { chunkSurvival, isAvailable, isReadable, survivalOf } from './fragment-health.js';
import { probeAll, spares } from './peer-planning.js';
import { PeerUnreachableError, type Peer } from './peers.js';
import { progressBar, table } from './progress.js';

export interface RepairReport {
  chunksChecked: number;
  chunksRepaired: number;
  fragmentsCreated: number;
  belowGoal: number;
  unrecoverable: number;
  paid: bigint;
}

/** Re-creates lost fragments on other peers for every chunk whose chance of surviving fell below the goal. */
export async function repairChunks(ctx: ClientContext): Promise<RepairReport> {
  const catalog = ctx.catalog;
  const spending = ctx.spending;
  const paidBefore = spending.spent;
  await probeAll(ctx);
  const goal = catalog.settings.goal;
  const report: RepairReport = { chunksChecked: 0, chunksRepaired: 0, fragmentsCreated: 0, belowGoal: 0, unrecoverable: 0, paid: 0n };
  const todo = Object.entries(catalog.chunks).filter(([, ref]) => chunkSurvival(ctx, ref) < goal);
  const bar = progressBar(ctx.out, 'repair ', todo.reduce((s, [, ref]) => s + ref.size, 0));
  report.chunksChecked = Object.keys(catalog.chunks).length;
  for (const [id, ref] of todo) {
    // fragments near their contract's end still serve as sources, but are re-created elsewhere
    const available = ref.fragments.filter((f) => isAvailable(ctx, f));
    if (ref.fragments.filter((f) => isReadable(ctx, f) && ctx.peer(f.nodeId).offer).length < ref.k) {
      report.unrecoverable++;
      bar.tick(ref.size);
      continue;
    }
    const holders = new Set(available.map((f) => f.nodeId));
    const missing = Array.from({ length: ref.n }, (_, i) => i).filter((i) => !available.some((f) => f.index === i));
    const size = shardSize(ref.sealedSize, ref.k);
    const chosen: { peer: Peer; index: number }[] = [];
    for (const peer of spares(ctx, holders, size)) {
      if (survivalOf(ctx, [...available.map((f) => ctx.peer(f.nodeId)), ...chosen.map((c) => c.peer)], ref.k) >= goal) break;
      const index = missing[chosen.length];
      if (index === undefined) break;
      chosen.push({ peer, index });
    }
    if (chosen.length === 0) {
      report.belowGoal++;
      bar.tick(ref.size);
      continue;
    }
    try {
      const shards = await readShards(ctx, ref, spending);
      const rebuilt = rebuild(shards, { k: ref.k, n: ref.n }, ref.sealedSize, chosen.map((c) => c.index));
      ref.generation++;
      for (const { peer, index } of chosen) {
        const fragment = await writeFragment(ctx, peer, id, index, ref.generation, rebuilt.get(index) as Buffer);
        ref.fragments = ref.fragments.filter((f) => f.index !== index || isAvailable(ctx, f));
        ref.fragments.push(fragment);
        report.fragmentsCreated++;
      }
      report.chunksRepaired++;
    } catch (error) {
      // one chunk that cannot be repaired now does not stop the others; money and bugs do
      if (!(error instanceof PeerUnreachableError || error instanceof StorageNodeProblemError || error instanceof ChunkUnavailableError || error instanceof StorageNodeIdentityError)) throw error;
      ctx.out.write(`repair of a chunk failed, will retry next time: ${(error as Error).message}\n`);
    }
    if (chunkSurvival(ctx, ref) < goal) report.belowGoal++;
    bar.tick(ref.size);
  }
  bar.done();
  // a new manifest when fragments moved, or when the root contracts near their end
  if (report.fragmentsCreated > 0 || !rootsMeetGoal(ctx)) await saveEverywhere(ctx);
  else await ctx.saveLocal();
  report.paid = spending.spent - paidBefore;
  ctx.out.write(
    `${table(
      [
        ['chunks checked', String(report.chunksChecked)],
        ['chunks repaired', String(report.chunksRepaired)],
        ['fragments re-created', String(report.fragmentsCreated)],
        ['still below the goal', String(report.belowGoal)],
        ['unrecoverable', String(report.unrecoverable)],
        ['paid', formatAmount(report.paid, catalog.settings.currency.scale)],
      ],
      ['repair', 'result'],
    )}\n`,
  );
  return report;
}
