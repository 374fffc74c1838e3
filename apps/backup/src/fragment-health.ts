// Which fragments still count, and how likely each chunk is to survive on the peers that hold them.
import type { ChunkRef, FragmentRef } from './catalog.js';
import type { ClientContext } from './client-context.js';
import { survival } from './peer-choice.js';
import { nearExpiry, type Peer } from './peers.js';

/** A fragment that counts toward a chunk's survival: on a peer that answered, in standing, under a contract not near its end. */
export function isAvailable(ctx: ClientContext, f: FragmentRef): boolean {
  if (f.state !== 'ok') return false;
  const peer = ctx.peers.get(f.nodeId);
  if (!peer || peer.record.disqualified || !peer.offer) return false;
  const stored = (ctx.catalog.contracts[f.nodeId] ?? []).find((c) => c.contract.contractId === f.contractId);
  return stored !== undefined && !nearExpiry(stored.contract, ctx.now());
}

/** A fragment that can still be read (its contract has not ended), even if it no longer counts. */
export function isReadable(ctx: ClientContext, f: FragmentRef): boolean {
  if (f.state !== 'ok') return false;
  const peer = ctx.peers.get(f.nodeId);
  if (!peer || peer.record.disqualified) return false;
  const stored = [...(ctx.catalog.contracts[f.nodeId] ?? []), ...ctx.catalog.roots.filter((r) => r.nodeId === f.nodeId)].find(
    (c) => c.contract.contractId === f.contractId,
  );
  return stored !== undefined && Date.parse(stored.contract.validUntil) > ctx.now();
}

export function chunkSurvival(ctx: ClientContext, ref: ChunkRef): number {
  return survivalOf(ctx, ref.fragments.filter((f) => isAvailable(ctx, f)).map((f) => ctx.peer(f.nodeId)), ref.k);
}

export function survivalOf(ctx: ClientContext, peers: readonly Peer[], k: number): number {
  return survival(peers.map((p) => ctx.failure(p)), k);
}

export function chunkHealth(ctx: ClientContext): { total: number; belowGoal: number; unrecoverable: number } {
  const refs = Object.values(ctx.catalog.chunks);
  return {
    total: refs.length,
    belowGoal: refs.filter((r) => chunkSurvival(ctx, r) < ctx.catalog.settings.goal).length,
    unrecoverable: refs.filter((r) => r.fragments.filter((f) => f.state === 'ok' && !ctx.peers.get(f.nodeId)?.record.disqualified).length < r.k).length,
  };
}
