// `lcp-backup check`: paid challenges of the peers that hold fragments. Each reads a random
// block of a random fragment and checks it against the block's keyed tag.
import { randomInt } from 'node:crypto';
import { StorageNodeIdentityError, StorageNodeProblemError } from '@lcp/storage-node';
import { formatAmount } from '@lcp/protocol';
import { checkBlock, pickBlock } from './audit-tags.js';
import type { FragmentRef } from './catalog.js';
import { disqualify, readFragment } from './chunk-read.js';
import type { ClientContext } from './client-context.js';
import { chunkHealth, isReadable } from './fragment-health.js';
import { PeerUnreachableError } from './peers.js';
import { formatBytes, table } from './progress.js';
import type { Spending } from './spending.js';

export interface AuditReport {
  peer: string;
  passed: number;
  failed: number;
  /** Bytes the challenges that passed read (ranges, not whole fragments). */
  bytesRead: number;
  unreachable: boolean;
  failure: number;
  disqualified: boolean;
}

/** Paid challenges of random ranges (a random block of a random fragment) on every peer holding fragments it can still be asked for. */
export async function auditPeers(ctx: ClientContext, auditsPerPeer: number): Promise<AuditReport[]> {
  const spending = ctx.spending;
  const byPeer = new Map<string, FragmentRef[]>();
  for (const ref of Object.values(ctx.catalog.chunks)) {
    for (const f of ref.fragments) if (isReadable(ctx, f)) (byPeer.get(f.nodeId) ?? byPeer.set(f.nodeId, []).get(f.nodeId))?.push(f);
  }
  const reports: AuditReport[] = [];
  for (const [nodeId, fragments] of byPeer) {
    const peer = ctx.peers.get(nodeId);
    if (!peer) continue;
    const report: AuditReport = { peer: peer.name, passed: 0, failed: 0, bytesRead: 0, unreachable: false, failure: 0, disqualified: false };
    reports.push(report);
    try {
      await peer.refreshOffer(); // free: an unreachable peer is not paid for a challenge it cannot answer
    } catch (error) {
      if (!(error instanceof PeerUnreachableError)) throw error;
      peer.offer = undefined;
      report.unreachable = true;
      report.failure = ctx.failure(peer);
      continue;
    }
    const picked = new Set<number>();
    while (picked.size < Math.min(auditsPerPeer, fragments.length)) picked.add(randomInt(fragments.length));
    for (const i of picked) {
      try {
        report.bytesRead += await challenge(ctx, fragments[i] as FragmentRef, spending);
        report.passed++;
      } catch (error) {
        if (error instanceof PeerUnreachableError) {
          report.unreachable = true;
          break;
        }
        if (error instanceof StorageNodeIdentityError) {
          report.failed++;
          break;
        }
        if (error instanceof StorageNodeProblemError) {
          // the peer answered but cannot give the fragment back (lost, contract gone)
          peer.record.auditsFailed++;
          (fragments[i] as FragmentRef).state = 'lost';
          report.failed++;
          continue;
        }
        throw error;
      }
    }
    report.failure = ctx.failure(peer);
    report.disqualified = peer.record.disqualified !== undefined;
  }
  await ctx.saveLocal();
  const health = chunkHealth(ctx);
  ctx.out.write(
    `${table(
      reports.map((r) => [
        r.peer,
        String(r.passed),
        String(r.failed),
        r.unreachable ? 'unreachable' : 'answered',
        r.failure.toFixed(3),
        r.disqualified ? 'disqualified' : 'good',
        formatBytes(r.bytesRead),
      ]),
      ['peer', 'passed', 'failed', 'reach', 'p(fail)', 'standing', 'read'],
    )}\n${health.total} chunks: ${health.belowGoal} below the goal of ${ctx.catalog.settings.goal}, ${health.unrecoverable} unrecoverable; paid ${formatAmount(
      spending.lines().filter((l) => l.purpose === 'audit' && l.status === 'paid').reduce((s, l) => s + l.amount + l.fee, 0n),
      ctx.catalog.settings.currency.scale,
    )} for audits so far\n`,
  );
  return reports;
}

/**
 * One challenge: a paid ranged read of a random block of the fragment, checked against the
 * block's keyed tag. Fragments written before tags existed are challenged whole.
 */
async function challenge(ctx: ClientContext, fragment: FragmentRef, spending: Spending): Promise<number> {
  const audit = fragment.audit;
  if (!audit) return (await readFragment(ctx, fragment, 'audit', spending)).length;
  const peer = ctx.peer(fragment.nodeId);
  const contract = ctx.contractOf(fragment);
  const block = pickBlock(fragment.size, audit);
  let bytes: Buffer;
  try {
    bytes = await peer.read(contract, fragment.objectId, fragment.size, 'audit', spending, ctx.buyerId, { offset: block.offset, length: block.length });
  } catch (error) {
    if (error instanceof StorageNodeIdentityError) disqualify(ctx, peer, fragment, error.message, 'audit');
    throw error;
  }
  if (!checkBlock(ctx.options.keys.audit, fragment.objectId, audit, block.index, bytes)) {
    const message = `peer ${peer.name} served altered bytes ${block.offset}-${block.offset + block.length - 1} of ${fragment.objectId}`;
    disqualify(ctx, peer, fragment, message, 'audit');
    throw new StorageNodeIdentityError(message);
  }
  peer.record.auditsPassed++;
  return bytes.length;
}
