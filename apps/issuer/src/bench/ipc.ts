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
  /** Closes both servers and the ledger, removes the currency folder, then exits. */
  stop: { args: undefined; result: void };
}

export interface ProcessUsage {
  cpu: NodeJS.CpuUsage;
  elu: EventLoopUtilization;
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
}
