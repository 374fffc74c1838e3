// Peer choice: from each peer's price and its measured record, estimate the probability that
// it fails to give the data back, then pick the cheapest set of peers and the code (k of n)
// whose chance that the data survives meets the goal. This is the reasoning of the paper's
// section 2.4: A1A1 failing with 0.25 is worth as much as B2B2 and C3C3 failing with 0.5
// each, since 0.5 × 0.5 = 0.25. Probabilities are floats (they are not money); prices are bigint.

/** What we saw a peer do. */
export interface PeerRecord {
  auditsPassed: number;
  auditsFailed: number;
  readsServed: number;
  readsFailed: number;
  writesStored: number;
  writesFailed: number;
  /** Times the peer answered, or did not, when we reached for it (uptime). */
  probesAnswered: number;
  probesMissed: number;
  /** A peer caught serving altered data is not used again (Storj's disqualification). */
  disqualified?: { at: string; reason: string };
}

export const emptyRecord = (): PeerRecord => ({
  auditsPassed: 0,
  auditsFailed: 0,
  readsServed: 0,
  readsFailed: 0,
  writesStored: 0,
  writesFailed: 0,
  probesAnswered: 0,
  probesMissed: 0,
});

/**
 * The prior belief about a peer never seen before, as a Beta(failures, successes) prior:
 * the estimate starts at failures / (failures + successes) and moves with the record.
 */
export interface Prior {
  failures: number;
  successes: number;
}

export const DEFAULT_PRIOR: Prior = { failures: 1, successes: 9 };

/**
 * The estimated failure probability: the mean of the Beta posterior over "this peer fails
 * when asked". Successes are audits passed, reads served, writes stored and probes answered;
 * failures are their opposites. An audit failure weighs as much as `auditWeight` others:
 * altered data is worse than a missed probe. A disqualified peer fails with probability 1.
 */
export function estimateFailure(record: PeerRecord, prior: Prior = DEFAULT_PRIOR, auditWeight = 5): number {
  if (record.disqualified) return 1;
  const failures = record.auditsFailed * auditWeight + record.readsFailed + record.writesFailed + record.probesMissed;
  const successes = record.auditsPassed + record.readsServed + record.writesStored + record.probesAnswered;
  return (prior.failures + failures) / (prior.failures + prior.successes + failures + successes);
}

/** The probability that at least k of the peers survive, each failing independently with p[i]. */
export function survival(failure: readonly number[], k: number): number {
  if (k <= 0) return 1;
  // dist[j] = probability that exactly j of the peers seen so far survive (Poisson binomial)
  let dist = [1];
  for (const p of failure) {
    const next = new Array<number>(dist.length + 1).fill(0);
    for (let j = 0; j < dist.length; j++) {
      next[j] = (next[j] as number) + (dist[j] as number) * p;
      next[j + 1] = (next[j + 1] as number) + (dist[j] as number) * (1 - p);
    }
    dist = next;
  }
  let total = 0;
  for (let j = k; j < dist.length; j++) total += dist[j] as number;
  return Math.min(1, total);
}

/** A peer as the planner sees it. */
export interface Candidate {
  nodeId: string;
  name: string;
  failure: number;
  /** What this peer would cost to hold one fragment of each chunk when the data is cut in k (minor units). */
  cost(k: number): bigint | undefined;
}

export interface Plan {
  peers: Candidate[];
  k: number;
  n: number;
  survival: number;
  cost: bigint;
}

export interface PlanOptions {
  /** The redundancy goal: the probability that the data survives. */
  goal: number;
  maxPeers?: number;
  maxK?: number;
  /** The most the plan may cost (minor units). */
  budget?: bigint;
}

// survival is computed in floating point: 1 - 0.5 × 0.5 must meet a goal of 0.75
const EPSILON = 1e-9;

/**
 * The cheapest (set of peers, k) whose survival meets the goal. Ties go to the higher
 * survival, then to fewer peers (fewer writes to pay and audit), then to the peers' names.
 * Exhaustive over subsets up to 16 candidates, then over the 16 with the best price per
 * unit of reliability. Returns undefined when no set meets the goal (within the budget).
 */
export function choosePeers(candidates: readonly Candidate[], options: PlanOptions): Plan | undefined {
  const usable = candidates.filter((c) => c.failure < 1);
  const pool = usable.length <= 16 ? usable : rankForPool(usable).slice(0, 16);
  const sorted = [...pool].sort((a, b) => a.name.localeCompare(b.name) || a.nodeId.localeCompare(b.nodeId));
  const maxPeers = Math.min(options.maxPeers ?? sorted.length, sorted.length);
  let best: Plan | undefined;
  for (let mask = 1; mask < 1 << sorted.length; mask++) {
    const peers = sorted.filter((_, i) => mask & (1 << i));
    if (peers.length > maxPeers) continue;
    const failures = peers.map((p) => p.failure);
    for (let k = 1; k <= Math.min(peers.length, options.maxK ?? peers.length); k++) {
      const chance = survival(failures, k);
      if (chance + EPSILON < options.goal) break; // a larger k survives less often
      let cost = 0n;
      let priced = true;
      for (const peer of peers) {
        const c = peer.cost(k);
        if (c === undefined) {
          priced = false;
          break;
        }
        cost += c;
      }
      if (!priced || (options.budget !== undefined && cost > options.budget)) continue;
      const plan: Plan = { peers, k, n: peers.length, survival: chance, cost };
      if (!best || better(plan, best)) best = plan;
    }
  }
  return best;
}

function better(a: Plan, b: Plan): boolean {
  if (a.cost !== b.cost) return a.cost < b.cost;
  if (Math.abs(a.survival - b.survival) > EPSILON) return a.survival > b.survival;
  if (a.n !== b.n) return a.n < b.n;
  return a.peers.map((p) => p.name).join(',') < b.peers.map((p) => p.name).join(',');
}

function rankForPool(candidates: readonly Candidate[]): Candidate[] {
  // price per "nine" of reliability when replicating: cheap and reliable first
  const score = (c: Candidate) => Number(c.cost(1) ?? BigInt(Number.MAX_SAFE_INTEGER)) / Math.max(1e-9, -Math.log(c.failure));
  return [...candidates].sort((a, b) => score(a) - score(b));
}
