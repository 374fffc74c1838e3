// The read path: paid reads of a chunk's fragments, checked against the catalog, decoded and
// opened. Altered bytes cost the peer its standing.
import { createHash } from 'node:crypto';
import { StorageNodeIdentityError } from '@lcp/storage-node';
import { MANIFEST_AAD, type ChunkRef, type FragmentRef } from './catalog.js';
import type { ClientContext } from './client-context.js';
import { decode } from './erasure-code.js';
import { ChunkUnavailableError } from './errors.js';
import { isReadable } from './fragment-health.js';
import type { Peer } from './peers.js';
import { chunkId, open as openSealed, TamperedError } from './sealing.js';
import type { Spending } from './spending.js';

/**
 * Paid reads of k fragments (data shards first: no decoding needed), each checked against
 * the sha256 the catalog holds; a bad or missing one is replaced by another. Then decode,
 * open (authenticated) and check the chunk's keyed id.
 */
export async function fetchChunk(ctx: ClientContext, id: string, ref: ChunkRef, spending: Spending): Promise<Buffer> {
  const sealed = decode(await readShards(ctx, ref, spending), { k: ref.k, n: ref.n }, ref.sealedSize);
  const plaintext = openSealed(ctx.options.keys.data, sealed, id);
  if (id !== MANIFEST_AAD && chunkId(ctx.options.keys.names, plaintext) !== id) throw new TamperedError(`chunk ${id} does not match its id`);
  return plaintext;
}

/** k verified fragments of a chunk (paid reads), trying others when one fails. */
export async function readShards(ctx: ClientContext, ref: ChunkRef, spending: Spending): Promise<(Buffer | undefined)[]> {
  const order = ref.fragments
    .filter((f) => isReadable(ctx, f))
    .sort((a, b) => Number(a.index >= ref.k) - Number(b.index >= ref.k) || ctx.failure(ctx.peer(a.nodeId)) - ctx.failure(ctx.peer(b.nodeId)) || a.index - b.index);
  // a read is paid before it is asked for: skip peers that did not answer the last probe while enough others did
  const live = order.filter((f) => ctx.peer(f.nodeId).offer);
  if (live.length >= ref.k) order.splice(0, order.length, ...live);
  const shards: (Buffer | undefined)[] = new Array<Buffer | undefined>(ref.n).fill(undefined);
  const reasons: string[] = [];
  let got = 0;
  let at = 0;
  while (got < ref.k && at < order.length) {
    const batch = order.slice(at, at + (ref.k - got));
    at += batch.length;
    const results = await Promise.all(batch.map((fragment) => readFragment(ctx, fragment, 'read', spending).then((b) => ({ fragment, b }), (e: Error) => ({ fragment, e }))));
    for (const result of results) {
      if ('b' in result) {
        shards[result.fragment.index] = result.b;
        got++;
      } else reasons.push(result.e.message);
    }
  }
  if (got < ref.k) throw new ChunkUnavailableError(`only ${got} of the ${ref.k} fragments needed could be read: ${reasons.join('; ')}`);
  return shards;
}

/** A paid read or audit of one fragment; altered bytes mark it lost and disqualify its peer. */
export async function readFragment(ctx: ClientContext, fragment: FragmentRef, purpose: 'read' | 'audit', spending: Spending): Promise<Buffer> {
  const peer = ctx.peer(fragment.nodeId);
  const contract = ctx.contractOf(fragment);
  let bytes: Buffer;
  try {
    bytes = await peer.read(contract, fragment.objectId, fragment.size, purpose, spending, ctx.buyerId);
  } catch (error) {
    if (error instanceof StorageNodeIdentityError) {
      disqualify(ctx, peer, fragment, error.message, purpose);
      throw error;
    }
    if (purpose === 'read') peer.record.readsFailed++;
    throw error;
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== fragment.sha256 || bytes.length !== fragment.size) {
    const message = `peer ${peer.name} served altered bytes for ${fragment.objectId}`;
    disqualify(ctx, peer, fragment, message, purpose);
    throw new StorageNodeIdentityError(message);
  }
  if (purpose === 'read') peer.record.readsServed++;
  else peer.record.auditsPassed++;
  return bytes;
}

/** A peer caught serving altered bytes: this fragment and every other it holds are lost. */
export function disqualify(ctx: ClientContext, peer: Peer, fragment: FragmentRef, reason: string, purpose: 'read' | 'audit'): void {
  if (purpose === 'audit') peer.record.auditsFailed++;
  else peer.record.readsFailed++;
  fragment.state = 'lost';
  // altered data is not an accident of the network: the peer loses its standing
  peer.record.disqualified ??= { at: new Date().toISOString(), reason };
  for (const ref of Object.values(ctx.catalog.chunks)) for (const f of ref.fragments) if (f.nodeId === peer.nodeId) f.state = 'lost';
}
