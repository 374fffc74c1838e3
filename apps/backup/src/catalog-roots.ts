// The catalog on the peers: the root contracts (replicated, k = 1) that hold the root pointers,
// the manifest (the catalog sealed and coded like a chunk) each pointer names, and the renewal
// of root contracts as they near their end.
import { gzipSync } from 'node:zlib';
import { StorageNodeProblemError, type Contract } from '@lcp/storage-node';
import { MANIFEST_AAD, newCatalog, ROOT_PREFIX, serializeCatalog, type Settings, type StoredContract } from './catalog.js';
import { storeChunk } from './chunk-write.js';
import type { ClientContext } from './client-context.js';
import { shardSize } from './erasure-code.js';
import { ChunkUnavailableError, NoPlanError } from './errors.js';
import { survivalOf } from './fragment-health.js';
import { choosePeers, type Plan } from './peer-choice.js';
import { asCandidates, noPlanReason, planFor, probeAll, spares } from './peer-planning.js';
import { nearExpiry, PeerUnreachableError } from './peers.js';
import { seal, SEAL_OVERHEAD } from './sealing.js';
import { BudgetExhaustedError } from './spending.js';

/** Bytes a root contract must have room for: root pointers are small (a few hundred bytes each). */
const ROOT_SIZE = 4096;

/** A new catalog, and the root contracts where its root pointers will live. */
export async function startCatalog(ctx: ClientContext, settings: Settings, rootReplicas: number): Promise<void> {
  const catalog = newCatalog(settings, ctx.buyerId);
  ctx.adopt(catalog);
  ctx.spending = await ctx.options.spending(settings, 0n);
  await probeAll(ctx);
  const candidates = asCandidates(ctx, (k) => [shardSize(ROOT_SIZE, k)]);
  const plan = choosePeers(candidates, { goal: settings.goal, maxK: 1, maxPeers: rootReplicas, budget: ctx.spending.remaining });
  if (!plan) throw new NoPlanError(noPlanReason(ctx, candidates, settings.goal, 'the root'));
  for (const candidate of plan.peers) {
    const peer = ctx.peer(candidate.nodeId);
    // root contracts hold root pointers only
    const stored = await peer.buyContract(ROOT_SIZE, ctx.spending);
    catalog.roots.push({ nodeId: peer.nodeId, contract: stored.contract, usedBytes: stored.usedBytes });
  }
  await ctx.saveLocal();
  ctx.out.write(`root contracts on ${plan.peers.map((p) => p.name).join(', ')} (survival ${plan.survival.toFixed(6)})\n`);
}

/**
 * Saves the catalog here, then on the peers: sealed and coded like a chunk, with a root
 * pointer on each root contract that is still valid (renewed first where they near their end).
 */
export async function saveEverywhere(ctx: ClientContext, plan?: Plan): Promise<void> {
  const catalog = ctx.catalog;
  await renewRoots(ctx);
  catalog.rootSequence++;
  catalog.spentTotal = ctx.spending.spent;
  await ctx.saveLocal();
  const blob = gzipSync(Buffer.from(serializeCatalog(catalog), 'utf8'));
  const manifestPlan = plan ?? planFor(ctx, [blob.length + SEAL_OVERHEAD], 'the manifest');
  const manifest = await storeChunk(ctx, MANIFEST_AAD, blob, manifestPlan);
  const objectId = `${ROOT_PREFIX}${String(catalog.rootSequence).padStart(10, '0')}`;
  const pointer = seal(ctx.options.keys.data, Buffer.from(JSON.stringify({ sequence: catalog.rootSequence, manifest, contracts: manifest.fragments.map((f) => ctx.contractOf(f)) }), 'utf8'), objectId);
  let written = 0;
  const reasons: string[] = [];
  for (const root of catalog.roots) {
    const peer = ctx.peers.get(root.nodeId);
    if (!peer || Date.parse(root.contract.validUntil) <= ctx.now()) continue;
    try {
      const stored: StoredContract = { contract: root.contract, usedBytes: root.usedBytes };
      await peer.write(stored, objectId, pointer, ctx.spending);
      root.usedBytes = stored.usedBytes;
      written++;
    } catch (error) {
      reasons.push(`${peer.name}: ${(error as Error).message}`);
    }
  }
  await ctx.saveLocal();
  if (written === 0) throw new ChunkUnavailableError(`the manifest could not be recorded on any root: ${reasons.join('; ')}`);
  if (reasons.length > 0) ctx.out.write(`warning: root pointer missing on ${reasons.join('; ')}\n`);
}

/** A root contract that will keep a pointer for a while yet: its peer is up, in standing, and the contract not near its end. */
function rootHealthy(ctx: ClientContext, root: { nodeId: string; contract: Contract }): boolean {
  const peer = ctx.peers.get(root.nodeId);
  return peer !== undefined && !peer.record.disqualified && peer.offer !== undefined && !nearExpiry(root.contract, ctx.now());
}

export function rootsMeetGoal(ctx: ClientContext): boolean {
  const healthy = ctx.catalog.roots.filter((r) => rootHealthy(ctx, r)).map((r) => ctx.peer(r.nodeId));
  return survivalOf(ctx, [...new Set(healthy)], 1) >= ctx.catalog.settings.goal;
}

/**
 * Root contracts end like any other: expired ones are dropped, and while the healthy ones
 * do not meet the goal (replicated, k = 1), new ones are bought on the cheapest other peers.
 * The secret names no root, so it stays the same. A failure here leaves the old roots in use.
 */
async function renewRoots(ctx: ClientContext): Promise<void> {
  const catalog = ctx.catalog;
  const now = ctx.now();
  catalog.roots = catalog.roots.filter((r) => Date.parse(r.contract.validUntil) > now);
  if (rootsMeetGoal(ctx)) return;
  const holding = new Set(catalog.roots.filter((r) => rootHealthy(ctx, r)).map((r) => r.nodeId));
  const bought: string[] = [];
  for (const peer of spares(ctx, holding, ROOT_SIZE)) {
    if (rootsMeetGoal(ctx)) break;
    try {
      const stored = await peer.buyContract(ROOT_SIZE, ctx.spending);
      catalog.roots.push({ nodeId: peer.nodeId, contract: stored.contract, usedBytes: 0 });
      bought.push(peer.name);
    } catch (error) {
      if (error instanceof BudgetExhaustedError) {
        ctx.out.write(`warning: the root contracts could not be renewed: ${error.message}\n`);
        break;
      }
      if (!(error instanceof PeerUnreachableError || error instanceof StorageNodeProblemError)) throw error;
    }
  }
  if (bought.length > 0) ctx.out.write(`root contracts renewed on ${bought.join(', ')}\n`);
  if (!rootsMeetGoal(ctx)) ctx.out.write('warning: the root contracts that will last do not meet the goal\n');
}
