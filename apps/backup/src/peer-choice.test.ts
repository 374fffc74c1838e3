import { describe, expect, it } from 'vitest';
import { choosePeers, emptyRecord, estimateFailure, survival, type Candidate } from './peer-choice.js';

// the paper's prices are per contract: B2B2 and C3C3 together cost what A1A1 costs (section 2.4)
const peer = (name: string, failure: number, price: bigint): Candidate => ({
  nodeId: name.toLowerCase().padEnd(64, '0'),
  name,
  failure,
  // replicas hold the whole data; a k-of-n fragment holds 1/k of it: price scales with what is stored
  cost: (k) => price / BigInt(k),
});

describe('failure estimate from the record', () => {
  it('starts at the prior and moves with audits, reads, writes and probes', () => {
    const uniform = { failures: 1, successes: 1 };
    expect(estimateFailure(emptyRecord(), uniform)).toBe(0.5);
    // A1A1: one failure in six checks under a uniform prior gives the paper's 0.25
    expect(estimateFailure({ ...emptyRecord(), readsServed: 3, probesAnswered: 2, probesMissed: 1 }, uniform)).toBe(0.25);
    // a failed audit weighs more than a missed probe
    const audit = estimateFailure({ ...emptyRecord(), auditsFailed: 1 }, uniform);
    const probe = estimateFailure({ ...emptyRecord(), probesMissed: 1 }, uniform);
    expect(audit).toBeGreaterThan(probe);
    expect(estimateFailure({ ...emptyRecord(), disqualified: { at: 'now', reason: 'altered bytes' } })).toBe(1);
  });

  it('computes the chance that at least k of the peers survive', () => {
    expect(survival([0.25], 1)).toBeCloseTo(0.75, 12);
    expect(survival([0.5, 0.5], 1)).toBeCloseTo(0.75, 12); // the paper: B2B2 and C3C3 together fail with 0.25
    expect(survival([0.5, 0.5], 2)).toBeCloseTo(0.25, 12);
    expect(survival([0.25, 0.5, 0.5], 2)).toBeCloseTo(0.625, 12);
    expect(survival([0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 3)).toBeCloseTo(0.99873, 5);
  });
});

describe("the paper's A1A1 / B2B2 / C3C3 example", () => {
  const A1A1 = peer('A1A1', 0.25, 20n);
  const B2B2 = peer('B2B2', 0.5, 10n);
  const C3C3 = peer('C3C3', 0.5, 10n);

  it('at fair prices, A1A1 alone and B2B2 + C3C3 both survive with 0.75 at the same cost: the tie goes to fewer peers (A1A1)', () => {
    const plan = choosePeers([A1A1, B2B2, C3C3], { goal: 0.75 });
    expect(plan?.peers.map((p) => p.name)).toEqual(['A1A1']);
    expect(plan?.k).toBe(1);
    expect(plan?.survival).toBeCloseTo(0.75, 12);
    expect(plan?.cost).toBe(20n);
  });

  it('when B2B2 and C3C3 together are cheaper than A1A1, they are chosen, replicated (k = 1)', () => {
    const plan = choosePeers([peer('A1A1', 0.25, 21n), B2B2, C3C3], { goal: 0.75 });
    expect(plan?.peers.map((p) => p.name)).toEqual(['B2B2', 'C3C3']);
    expect(plan?.k).toBe(1);
    expect(plan?.survival).toBeCloseTo(0.75, 12);
    expect(plan?.cost).toBe(20n);
  });

  it('a goal above 0.75 needs all three (0.9375), and a goal above that cannot be met', () => {
    const plan = choosePeers([A1A1, B2B2, C3C3], { goal: 0.9 });
    expect(plan?.peers.map((p) => p.name)).toEqual(['A1A1', 'B2B2', 'C3C3']);
    expect(plan?.k).toBe(1);
    expect(plan?.survival).toBeCloseTo(0.9375, 12);
    expect(choosePeers([A1A1, B2B2, C3C3], { goal: 0.95 })).toBeUndefined();
  });

  it('respects the budget: nothing within 19 meets 0.75', () => {
    expect(choosePeers([A1A1, B2B2, C3C3], { goal: 0.75, budget: 19n })).toBeUndefined();
    expect(choosePeers([A1A1, B2B2, C3C3], { goal: 0.75, budget: 20n })?.cost).toBe(20n);
  });
});

describe('erasure coding in the choice', () => {
  it('prefers k-of-n over replication when it is cheaper for the same goal', () => {
    const six = ['P1', 'P2', 'P3', 'P4', 'P5', 'P6'].map((n) => peer(n, 0.1, 600n));
    const plan = choosePeers(six, { goal: 0.99 });
    // replication needs 2 copies (0.99) at 1200; 3-of-5 stores 5/3 of the data (0.9914) at 1000
    expect(plan?.k).toBe(3);
    expect(plan?.n).toBe(5);
    expect(plan?.cost).toBe(1000n);
    expect(plan?.survival).toBeGreaterThanOrEqual(0.99);
  });

  it('leaves out disqualified peers and peers that cannot price the fragments', () => {
    const plan = choosePeers(
      [peer('bad', 1, 1n), { ...peer('full', 0.01, 1n), cost: () => undefined }, peer('ok', 0.01, 100n)],
      { goal: 0.98 },
    );
    expect(plan?.peers.map((p) => p.name)).toEqual(['ok']);
  });
});
