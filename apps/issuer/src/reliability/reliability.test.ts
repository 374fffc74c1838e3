// The reliability suite: seeded random runs of many holders paying each other and collecting
// deposits through a fault-injecting proxy, with the issuer killed (kill -9) and restarted
// during each run; after each run every claim of docs/reliability.md is checked against the
// ledger. Rerun a seed with LCP_RELIABILITY_SEED=<n> (and LCP_RELIABILITY_RUNS, _OPS, _PATH,
// LCP_RELIABILITY_TRACE=1 for every proxy decision).
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { describePlan, planArbitrary, type Plan } from './test-plan.js';
import { runPlan, type Mutant, type RunReport } from './test-run.js';

const DEFAULT_SEED = 20_240_611;
const seed = Number(process.env.LCP_RELIABILITY_SEED ?? DEFAULT_SEED);
const runs = Number(process.env.LCP_RELIABILITY_RUNS ?? 3);
const ops = Number(process.env.LCP_RELIABILITY_OPS ?? 200);
const path = process.env.LCP_RELIABILITY_PATH;
const trace = process.env.LCP_RELIABILITY_TRACE === '1';
const mutant = process.env.LCP_RELIABILITY_MUTANT as Mutant | undefined;
/** LCP_RELIABILITY_EVENTS=h2 prints what holder h2's programs did and saw ('all' for everyone). */
const events = process.env.LCP_RELIABILITY_EVENTS;

function summary(run: number, report: RunReport): string {
  const f = report.faults;
  const t = report.transfers;
  const injected = f.drop + f.delay + f.cut + f.reorder;
  return [
    `reliability run ${run}/${runs} (seed ${seed}): ${report.operations} operations, ` +
      `${injected} faults injected (drop ${f.drop}, delay ${f.delay}, cut-after-commit ${f.cut}, reorder ${f.reorder}), ` +
      `${report.crashes} crashes, ${report.lost} lost, ${report.doubled} doubled`,
    `  faults: ${f.overtaken} requests overtaken by a reorder, ${f.late} delivered after their sender gave up, ` +
      `${f.refused} connections refused while the issuer was down, ${report.clientCrashes} holder programs crashed`,
    `  transfers: ${t.success} success, ${t.insufficientFunds} insufficientFunds, ${t.issuanceCapExceeded} issuanceCapExceeded, ` +
      `${t.fault} refused, ${t.unsent} never sent, ${t.skipped} skipped; ${report.retransmissions} retransmissions with the same counter, ` +
      `${report.settled.recover + report.settled.resend} unanswered transfers settled later ` +
      `(${report.settled.recover} by recoverPending, ${report.settled.resend} by resending the order), ${report.replays} answers replayed at the end`,
    `  deposits: ${report.deliveries} delivered; ${(report.ms / 1000).toFixed(1)} s ` +
      `(${Object.entries(report.phases).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`).join(', ')})`,
  ].join('\n');
}

it(`survives drops, delays, cuts, reorders and kill -9 (seed ${seed}, ${runs} runs of ${ops} operations)`, async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(planArbitrary({ minOps: ops, maxOps: ops, minCrashes: 1, maxCrashes: 3 }), async (plan: Plan) => {
      run++;
      const report = await runPlan(plan, {
        ...(trace ? { trace: (line: string) => console.log(line) } : {}),
        ...(mutant ? { mutant } : {}),
        ...(events
          ? { events: (line: string) => (events === 'all' || line.includes(`${events}#`) || line.includes(`-${events} `) ? console.log(line) : undefined) }
          : {}),
      });
      console.log(summary(run, report));
      if (report.issuerErrors.length > 0) console.log(`issuer errors:\n  ${report.issuerErrors.slice(0, 20).join('\n  ')}`);
      if (report.violations.length > 0) {
        console.log(`run ${run} plan: ${describePlan(plan)}`);
        console.log(`violations:\n  ${report.violations.join('\n  ')}`);
      }
      expect(report.violations).toEqual([]);
      expect(report.lost).toBe(0);
      expect(report.doubled).toBe(0);
      // the run did what it is for
      expect(report.crashes).toBe(plan.crashes.length);
      expect(report.faults.drop + report.faults.delay + report.faults.cut + report.faults.reorder).toBeGreaterThan(10);
      expect(report.transfers.success).toBeGreaterThan(20);
    }),
    { seed, numRuns: path ? 1 : runs, endOnFailure: true, ...(path ? { path } : {}) },
  );
}, 300_000);
