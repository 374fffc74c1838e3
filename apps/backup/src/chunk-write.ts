// The write path: a chunk sealed, erasure coded and its fragments written (paid) to the peers
// of the plan, with one retry elsewhere for a fragment whose peer failed.
import { createHash } from 'node:crypto';
import { StorageNodeIdentityError, StorageNodeProblemError } from '@lcp/storage-node';
import { auditTags } from './audit-tags.js';
import { MANIFEST_AAD, type ChunkRef, type FragmentRef } from './catalog.js';
import type { ClientContext } from './client-context.js';
import { encode } from './erasure-code.js';
import { ChunkUnavailableError } from './errors.js';
import type { Plan } from './peer-choice.js';
import { spares } from './peer-planning.js';
import { PeerUnreachableError, type Peer } from './peers.js';
import { seal } from './sealing.js';
import { keyedName } from './secret.js';

/** Seals, codes and places one chunk; the manifest (id MANIFEST_AAD) is not recorded among the chunks. */
export async function storeChunk(ctx: ClientContext, id: string, chunk: Buffer, plan: Plan): Promise<ChunkRef> {
  const sealed = seal(ctx.options.keys.data, chunk, id);
  const shards = encode(sealed, { k: plan.k, n: plan.n });
  const isManifest = id === MANIFEST_AAD;
  // objects are written once: each placement of the same chunk gets new names
  const generation = isManifest ? ctx.catalog.rootSequence : (ctx.loaded?.chunks[id]?.generation ?? -1) + 1;
  const ref: ChunkRef = { size: chunk.length, sealedSize: sealed.length, k: plan.k, n: plan.n, fragments: [], generation };
  const used = new Set(plan.peers.map((p) => p.nodeId));
  const results = await Promise.allSettled(
    plan.peers.map(async (candidate, index) => {
      let peer = ctx.peer(candidate.nodeId);
      const shard = shards[index] as Buffer;
      try {
        return await writeFragment(ctx, peer, id, index, generation, shard);
      } catch (error) {
        if (!(error instanceof PeerUnreachableError || error instanceof StorageNodeProblemError)) throw error;
        // one retry on the best peer not already holding a fragment of this chunk
        const spare = spares(ctx, used, shard.length)[0];
        if (!spare) throw error;
        used.add(spare.nodeId);
        peer = spare;
        return writeFragment(ctx, peer, id, index, generation, shard);
      }
    }),
  );
  const failures: Error[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') ref.fragments.push(r.value);
    else failures.push(r.reason as Error);
  }
  // budget, payment and programming errors stop the run as they are
  const fatal = failures.find((e) => !(e instanceof PeerUnreachableError || e instanceof StorageNodeProblemError));
  if (fatal) throw fatal;
  if (ref.fragments.length < plan.k) {
    throw new ChunkUnavailableError(`only ${ref.fragments.length} of ${plan.n} fragments could be written (${plan.k} needed): ${failures.map((e) => e.message).join('; ')}`);
  }
  if (!isManifest) ctx.catalog.chunks[id] = ref;
  return ref;
}

export async function writeFragment(ctx: ClientContext, peer: Peer, id: string, index: number, generation: number, shard: Buffer): Promise<FragmentRef> {
  const { keys } = ctx.options;
  const stored = await peer.contractFor(shard.length, ctx.spending);
  const objectId = `f${keyedName(keys, 'fragment', id, index, generation)}`;
  const { sha256 } = await peer.write(stored, objectId, shard, ctx.spending);
  const ours = createHash('sha256').update(shard).digest('hex');
  if (sha256 !== ours) throw new StorageNodeIdentityError(`peer ${peer.name} recorded sha256 ${sha256} for a fragment whose sha256 is ${ours}`);
  return {
    index,
    nodeId: peer.nodeId,
    contractId: stored.contract.contractId,
    objectId,
    size: shard.length,
    sha256: ours,
    state: 'ok',
    audit: auditTags(keys.audit, objectId, shard),
  };
}
