// The storage ceiling: ledger.transfer (issuer-core) straight on a SQLite file, in-process, with
// the issuer's durability (WAL, synchronous=FULL) and its default fees and cap. No TLS, no SOAP.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIssuerLedger, isRefusal, openSqliteStore } from '@lcp/issuer-core';
import type { EntityId } from '@lcp/protocol';
import { parseConfig } from '../config.js';
import { runClosedLoop, type ClosedLoopResult } from './closed-loop.js';

export interface LedgerBenchResult extends Omit<ClosedLoopResult<unknown>, 'start' | 'end'> {
  callers: number;
  commits: number;
  /** Transfers per COMMIT (one fsync each) inside the window. */
  meanBatch: number;
  largestBatch: number;
  cpuPercent: number;
  /** Event-loop utilization in the window (see HttpLoadResult.serverLoopBusy). */
  loopBusy: number;
  sumIsZero: boolean;
}

const fakeEntity = (name: string): EntityId => createHash('sha256').update(name).digest('hex') as EntityId;

/** The issuer's defaults for what affects a transfer (fees, cap, scale); the paths are never opened. */
function defaultSettings() {
  const config = parseConfig({ LCP_DOMAIN: 'money.com', LCP_DATABASE: '-', LCP_IDENTITY_KEY: '-', LCP_TLS_CERT: '-', LCP_TLS_KEY: '-' });
  return { scale: config.scale, issuanceCap: config.issuanceCap, fees: config.fees };
}

export async function benchLedger(options: {
  callers: number;
  accounts: number;
  warmupMs: number;
  durationMs: number;
}): Promise<LedgerBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'lcp-bench-ledger-'));
  const store = openSqliteStore(join(dir, 'ledger.sqlite'), { synchronous: 'FULL' });
  const treasury = fakeEntity('treasury');
  const ledger = createIssuerLedger(store, { treasury, ...defaultSettings() });
  try {
    const accounts = Array.from({ length: options.accounts }, (_, i) => fakeEntity(`holder-${i}`));
    await Promise.all(accounts.map((account, i) => ledger.mint(account, 100_000_00n, `fund-${i}`)));
    const counters = accounts.map(() => 0n);

    // caller c sends from accounts c, c+callers, ... in turn, each paying the next account on the ring
    const workers = Array.from({ length: options.callers }, (_, caller) => {
      let turn = 0;
      return async (): Promise<string | undefined> => {
        const index = (caller + options.callers * turn++) % accounts.length;
        const counter = (counters[index] = (counters[index] as bigint) + 1n);
        const outcome = await ledger.transfer({
          sender: accounts[index] as EntityId,
          request: {
            recipient: accounts[(index + 1) % accounts.length] as EntityId,
            amount: 1n,
            transactionId: `t${index}-${counter}`,
            messageCounter: counter,
          },
          resumed: true,
        });
        if (isRefusal(outcome)) return `fault ${outcome.fault}: ${outcome.detail}`;
        return outcome.response.result === 'success' ? undefined : outcome.response.result;
      };
    });

    const result = await runClosedLoop(workers, {
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      sample: () => ({ stats: store.stats(), cpu: process.cpuUsage(), elu: performance.eventLoopUtilization() }),
    });
    const totals = await ledger.totals();
    const { start, end, ...rest } = result;
    const commits = end.stats.commits - start.stats.commits;
    const cpuMicros = end.cpu.user - start.cpu.user + (end.cpu.system - start.cpu.system);
    return {
      ...rest,
      callers: options.callers,
      commits,
      meanBatch: (end.stats.committedWorks - start.stats.committedWorks) / commits,
      largestBatch: end.stats.largestBatch,
      cpuPercent: (cpuMicros / 1e6 / result.seconds) * 100,
      loopBusy: performance.eventLoopUtilization(end.elu, start.elu).utilization,
      sumIsZero: totals.sum === 0n && totals.negativeAccounts.length === 0,
    };
  } finally {
    await ledger.close();
    await rm(dir, { recursive: true, force: true });
  }
}
