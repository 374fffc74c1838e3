// The messages between issuer-bench.ts and the server process it forks (issuer-child.ts).
// fork() uses the 'advanced' serialization, so bigints cross the channel as they are.
import type { EventLoopUtilization } from 'node:perf_hooks';
import type { LedgerTotals } from '@lcp/issuer-core';

export interface ChildOps {
  /** Funds every account from the treasury (ledger.mint); answers how many mints succeeded. */
  mint: { args: { accounts: string[]; amount: bigint }; result: number };
  /** The server process's CPU time and event-loop utilization so far. */
  usage: { args: undefined; result: ProcessUsage };
  totals: { args: undefined; result: LedgerTotals };
  handshakes: { args: undefined; result: { full: number; resumed: number } };
  /** The server process's performance.now(), to estimate the offset between the two clocks. */
  clock: { args: undefined; result: number };
  /** process.memoryUsage() of the server process (the ledger worker thread included); `gc` first if exposed. */
  memory: { args: { gc: boolean }; result: NodeJS.MemoryUsage };
  /** getDeposits calls the SOAP operations have made that the ledger has not answered yet. */
  polls: { args: undefined; result: number };
  /**
   * Starts (true) or stops (false) recording, per transactionId, when the main thread learnt
   * that a transfer committed and when a long-poll's answer carrying it was ready; stopping
   * returns what was recorded.
   */
  trace: { args: { on: boolean }; result: TraceRecord };
  /** Closes both servers and the ledger, removes the currency folder, then exits. */
  stop: { args: undefined; result: void };
}

export interface TraceRecord {
  /** transactionId to the server's performance.now() when ledger.transfer resolved success. */
  committed: Map<string, number>;
  /** transactionId to the server's performance.now() when a getDeposits answer carrying it resolved. */
  answered: Map<string, number>;
}

export interface ProcessUsage {
  cpu: NodeJS.CpuUsage;
  elu: EventLoopUtilization;
  /**
   * The main thread's garbage-collection pauses: their total so far, and the longest since the
   * last call. Absent from builds before 2026-11-27, which ab-bench.js may run as one side.
   */
  gc?: { pausedMs: number; longestMs: number };
}

/** How issuer-bench.ts configures the server process (passed as JSON in BENCH_CHILD_OPTIONS). */
export interface ChildOptions {
  /** Accounts written straight into the new ledger before the issuer starts (default 0). */
  accounts?: number;
  /** Extra LCP_* settings written into the currency's issuer.env. */
  settings?: Record<string, string>;
}

export type ChildOp = keyof ChildOps;

export interface ChildRequest<K extends ChildOp = ChildOp> {
  id: number;
  op: K;
  args: ChildOps[K]['args'];
}

export type ChildReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** The child's first message, once both servers listen. */
export interface ChildReady {
  ready: true;
  /** The name on the issuer's certificate; connections go to 127.0.0.1 with this SNI name. */
  domain: string;
  issuerPort: number;
  echoPort: number;
  /** The bench CA that signed the issuer's certificate: the only root the load generator trusts. */
  caPem: string;
  echoPath: string;
  echoBody: string;
  /** Accounts written before the start, and how long writing them took. */
  population: { accounts: number; ms: number };
}

/** The id of pre-populated account `index`: the load generator derives the same ids. */
export const POPULATION_PREFIX = 'bench-account-';
