// The catalog found again from the secret alone (a new machine, or a folder without its
// catalog): from the root locators an old secret names, else from the root pointers the peers
// hold under the buyer key's contracts. The newest pointer that opens names the manifest.
import { gunzipSync } from 'node:zlib';
import { StorageNodeIdentityError, StorageNodeProblemError, type Contract } from '@lcp/storage-node';
import { MANIFEST_AAD, newCatalog, parseCatalog, ROOT_PREFIX, type Catalog, type ChunkRef, type Settings } from './catalog.js';
import { fetchChunk } from './chunk-read.js';
import type { ClientContext } from './client-context.js';
import { ChunkUnavailableError, WrongSecretError } from './errors.js';
import { PeerUnreachableError, type Peer } from './peers.js';
import { open as openSealed, TamperedError } from './sealing.js';
import { BudgetExhaustedError, type Spending } from './spending.js';

/**
 * With a secret that may already have a backup (given, or kept in this folder), asks the
 * peers for this key's contracts holding root pointers and loads the catalog from the newest
 * one (old secrets name their roots: those are tried first). False: there is none, and init
 * starts a new backup.
 */
export async function recoverCatalog(ctx: ClientContext, settings: Settings): Promise<boolean> {
  const { roots, origin } = ctx.options;
  if (roots.length > 0) {
    try {
      await recover(ctx, settings);
      return true;
    } catch (error) {
      // the named roots may have expired or moved: the peers can still say where the catalog is
      if (!(error instanceof ChunkUnavailableError)) throw error;
      ctx.out.write(`${error.message}; asking the peers for this key's contracts\n`);
    }
  }
  if (origin !== 'new' || roots.length > 0) {
    const recovered = await discover(ctx, settings, origin === 'kept' && roots.length === 0);
    if (recovered) return true;
  }
  return false;
}

/** A catalog to keep the peers' records and the manifest's contracts while fetching the real one. */
async function scratchCatalog(ctx: ClientContext, settings: Settings): Promise<{ scratch: Catalog; spending: Spending }> {
  const spending = await ctx.options.spending(settings, 0n);
  ctx.spending = spending;
  const scratch = newCatalog(settings, ctx.buyerId);
  ctx.adopt(scratch);
  return { scratch, spending };
}

/**
 * Asks every peer for this key's contracts that hold root pointers (GET /contracts, as the
 * buyer) and loads the catalog from the newest pointer that opens. Nothing found: with
 * `mayBeNew` (a secret this folder made) undefined, so that init starts a new backup;
 * otherwise a clear error (a wrong secret, or the peers that hold the roots did not answer).
 */
async function discover(ctx: ClientContext, settings: Settings, mayBeNew: boolean): Promise<Catalog | undefined> {
  const { scratch, spending } = await scratchCatalog(ctx, settings);
  const now = ctx.now();
  const found: { peer: Peer; contract: Contract; objectId: string; size: number }[] = [];
  const unreachable: string[] = [];
  const reasons: string[] = [];
  await Promise.all(
    [...ctx.peers.values()].map(async (peer) => {
      try {
        const list = await peer.call('list contracts', () => peer.client.contracts({ objectPrefix: ROOT_PREFIX }));
        for (const { contract } of list.contracts) {
          if (contract.buyer !== ctx.buyerId || Date.parse(contract.validUntil) <= now) continue;
          const status = await peer.call('contract', () => peer.client.contract(contract.contractId));
          for (const object of status.objects) {
            if (object.objectId.startsWith(ROOT_PREFIX)) found.push({ peer, contract, objectId: object.objectId, size: object.size });
          }
        }
      } catch (error) {
        if (error instanceof PeerUnreachableError) unreachable.push(peer.name);
        else if (error instanceof StorageNodeProblemError || error instanceof StorageNodeIdentityError) reasons.push(`${peer.name}: ${error.message}`);
        else throw error;
      }
    }),
  );
  // root-<sequence>, zero-padded: newest first
  found.sort((a, b) => b.objectId.localeCompare(a.objectId) || a.peer.name.localeCompare(b.peer.name));
  for (const pointer of found) {
    try {
      return await fromPointer(ctx, pointer.peer, pointer.contract, pointer.objectId, pointer.size, scratch, spending);
    } catch (error) {
      if (error instanceof WrongSecretError || error instanceof BudgetExhaustedError) throw error;
      if (!(error instanceof PeerUnreachableError || error instanceof StorageNodeProblemError || error instanceof StorageNodeIdentityError || error instanceof ChunkUnavailableError)) {
        throw error;
      }
      reasons.push(`${pointer.peer.name}: ${error.message}`);
    }
  }
  ctx.forget();
  const answered = ctx.peers.size - unreachable.length;
  const down = unreachable.length > 0 ? `; unreachable: ${unreachable.join(', ')}` : '';
  if (found.length > 0 || reasons.length > 0) throw new ChunkUnavailableError(`could not fetch the catalog: ${[...reasons, ...unreachable.map((n) => `${n}: unreachable`)].join('; ')}`);
  if (mayBeNew) return undefined;
  if (unreachable.length > 0) {
    throw new ChunkUnavailableError(`no root of this secret's backup on the ${answered} peers that answered${down} (peer unreachable: try again later)`);
  }
  throw new WrongSecretError(`wrong secret: none of the ${answered} peers holds a backup root for its key (or the peers that do are not in the peer list)`);
}

/** From the root locators an old secret carries. */
async function recover(ctx: ClientContext, settings: Settings): Promise<Catalog> {
  const { scratch, spending } = await scratchCatalog(ctx, settings);
  const reasons: string[] = [];
  for (const locator of ctx.options.roots) {
    const peer = [...ctx.peers.values()].find((p) => p.nodeId.startsWith(locator.nodePrefix));
    if (!peer) {
      reasons.push(`no configured peer has a node id starting ${locator.nodePrefix}`);
      continue;
    }
    try {
      const status = await peer.call('contract', () => peer.client.contract(locator.contractId));
      const pointers = status.objects.filter((o) => o.objectId.startsWith(ROOT_PREFIX)).sort((a, b) => b.objectId.localeCompare(a.objectId));
      const latest = pointers[0];
      if (!latest) {
        reasons.push(`${peer.name}: no root pointer yet (nothing was backed up)`);
        continue;
      }
      return await fromPointer(ctx, peer, status.contract, latest.objectId, latest.size, scratch, spending);
    } catch (error) {
      if (error instanceof WrongSecretError || error instanceof BudgetExhaustedError) throw error;
      if (error instanceof StorageNodeProblemError && error.code === 'notContractHolder') {
        throw new WrongSecretError('wrong secret: the peers do not know its key as the buyer of the root contracts');
      }
      reasons.push(`${peer.name}: ${(error as Error).message}`);
    }
  }
  ctx.forget();
  throw new ChunkUnavailableError(`could not fetch the catalog from any root: ${reasons.join('; ')}`);
}

/** Reads a root pointer (paid), then the manifest it names, and makes it this folder's catalog. */
async function fromPointer(ctx: ClientContext, peer: Peer, contract: Contract, objectId: string, size: number, scratch: Catalog, spending: Spending): Promise<Catalog> {
  const sealed = await peer.read(contract, objectId, size, 'read', spending, ctx.buyerId);
  const pointer = JSON.parse(openOrWrongSecret(ctx, sealed, objectId).toString('utf8')) as { manifest: ChunkRef; contracts: Contract[] };
  for (const c of pointer.contracts) {
    const held = (scratch.contracts[c.nodeId] ??= []);
    if (!held.some((h) => h.contract.contractId === c.contractId)) held.push({ contract: c, usedBytes: 0 });
  }
  const blob = await fetchChunk(ctx, MANIFEST_AAD, pointer.manifest, spending);
  const catalog = parseCatalog(gunzipSync(blob).toString('utf8'));
  if (catalog.buyer !== ctx.buyerId) throw new WrongSecretError('wrong secret: the manifest belongs to another key');
  // the budget goes on from what the other machine had spent; the reads just made are in this statement
  catalog.spentElsewhere = catalog.spentTotal;
  ctx.adopt(catalog);
  ctx.spending = await ctx.options.spending(catalog.settings, catalog.spentElsewhere);
  await ctx.saveLocal();
  ctx.out.write(`recovered the catalog (${catalog.snapshots.length} snapshots) from ${peer.name}\n`);
  return catalog;
}

function openOrWrongSecret(ctx: ClientContext, sealed: Buffer, aad: string): Buffer {
  try {
    return openSealed(ctx.options.keys.data, sealed, aad);
  } catch (error) {
    if (error instanceof TamperedError) throw new WrongSecretError('wrong secret: the root pointer does not open with it (or it was altered)');
    throw error;
  }
}
