// The peers as they are now: probed for their offers, ranked as candidates, turned into a plan
// (or a reason there is none), and shown as tables.
import { formatAmount } from '@lcp/protocol';
import type { ClientContext } from './client-context.js';
import { shardSize } from './erasure-code.js';
import { NoPlanError } from './errors.js';
import { choosePeers, survival, type Candidate, type Plan } from './peer-choice.js';
import type { Peer } from './peers.js';
import { table } from './progress.js';

/** Asks every peer for its offer (its price, and an uptime probe); peers that do not answer keep no offer. */
export async function probeAll(ctx: ClientContext): Promise<void> {
  await Promise.all(
    [...ctx.peers.values()].map(async (peer) => {
      try {
        await peer.refreshOffer();
        if (peer.offer && peer.offer.currency.wsdl !== ctx.catalog.settings.currency.wsdl) peer.offer = undefined;
      } catch {
        peer.offer = undefined;
      }
    }),
  );
}

/** Peers outside `used` that answered and can take `size` bytes, cheapest first. */
export function spares(ctx: ClientContext, used: ReadonlySet<string>, size: number): Peer[] {
  const scale = ctx.catalog.settings.currency.scale;
  return [...ctx.peers.values()]
    .filter((p) => !used.has(p.nodeId) && p.offer && ctx.failure(p) < 1 && p.costOf([size], scale) !== undefined)
    .sort((a, b) => {
      const ca = a.costOf([size], scale) as bigint;
      const cb = b.costOf([size], scale) as bigint;
      return ca === cb ? ctx.failure(a) - ctx.failure(b) : ca < cb ? -1 : 1;
    });
}

export function asCandidates(ctx: ClientContext, fragmentSizes: (k: number) => number[]): Candidate[] {
  const scale = ctx.catalog.settings.currency.scale;
  return [...ctx.peers.values()]
    .filter((p) => p.offer)
    .map((peer) => ({
      nodeId: peer.nodeId,
      name: peer.name,
      failure: ctx.failure(peer),
      cost: (k: number) => peer.costOf(fragmentSizes(k), scale),
    }));
}

export function planFor(ctx: ClientContext, sealedSizes: readonly number[], what: string): Plan {
  const candidates = asCandidates(ctx, (k) => sealedSizes.map((s) => shardSize(s, k)));
  const goal = ctx.catalog.settings.goal;
  const plan = choosePeers(candidates, { goal, budget: ctx.spending.remaining });
  if (plan) return plan;
  throw new NoPlanError(noPlanReason(ctx, candidates, goal, what));
}

export function noPlanReason(ctx: ClientContext, candidates: Candidate[], goal: number, what: string): string {
  const scale = ctx.catalog.settings.currency.scale;
  if (candidates.length === 0) return `no peer answered: ${what} cannot be placed (peer unreachable)`;
  const unbounded = choosePeers(candidates, { goal });
  if (unbounded) {
    return `budget exhausted: ${what} would cost ${formatAmount(unbounded.cost, scale)} (${unbounded.k} of ${unbounded.n}), but ${formatAmount(
      ctx.spending.remaining < 0n ? 0n : ctx.spending.remaining,
      scale,
    )} of the budget is left`;
  }
  const all = survival(candidates.map((c) => c.failure), 1);
  return `no set of the ${candidates.length} reachable peers meets the goal ${goal} for ${what} (all of them, replicated, survive with ${all.toFixed(6)})`;
}

export function showPlan(ctx: ClientContext, plan: Plan): void {
  const scale = ctx.catalog.settings.currency.scale;
  const chosen = new Set(plan.peers.map((p) => p.nodeId));
  const rows = [...ctx.peers.values()].map((peer) => {
    const prices = peer.prices(scale);
    return [
      peer.name,
      prices ? `${formatAmount(prices.contract, scale)} + ${formatAmount(prices.writePerKb, scale)}/KB` : 'unreachable',
      ctx.failure(peer).toFixed(3),
      chosen.has(peer.nodeId) ? 'chosen' : '',
    ];
  });
  ctx.out.write(
    `${table(rows, ['peer', 'price', 'p(fail)', 'plan'])}\nplan: ${plan.k} of ${plan.n}, survival ${plan.survival.toFixed(6)} (goal ${ctx.catalog.settings.goal}), estimated cost ${formatAmount(plan.cost, scale)}\n`,
  );
}

/** `lcp-backup peers`: every peer's prices, record and standing, after a fresh probe. */
export async function peerTable(ctx: ClientContext): Promise<string> {
  await probeAll(ctx);
  await ctx.saveLocal();
  const scale = ctx.catalog.settings.currency.scale;
  const held = new Map<string, number>();
  for (const ref of Object.values(ctx.catalog.chunks)) for (const f of ref.fragments) if (f.state === 'ok') held.set(f.nodeId, (held.get(f.nodeId) ?? 0) + 1);
  return table(
    [...ctx.peers.values()].map((peer) => {
      const prices = peer.prices(scale);
      const r = peer.record;
      return [
        peer.name,
        prices ? formatAmount(prices.contract, scale) : '-',
        prices ? formatAmount(prices.writePerKb, scale) : '-',
        prices ? formatAmount(prices.readPerKb, scale) : '-',
        `${r.auditsPassed}/${r.auditsFailed}`,
        `${r.readsServed}/${r.readsFailed}`,
        `${r.probesAnswered}/${r.probesMissed}`,
        ctx.failure(peer).toFixed(3),
        String(held.get(peer.nodeId) ?? 0),
        r.disqualified ? 'disqualified' : peer.offer ? 'up' : 'unreachable',
      ];
    }),
    ['peer', 'contract', 'write/KB', 'read/KB', 'audits ok/bad', 'reads ok/bad', 'up/down', 'p(fail)', 'fragments', 'standing'],
  );
}
