// The messages between a WorkerLedger and its ledger-worker thread (structured clone
// carries bigint and Date as they are).
import type { EntityId, GetDepositsRequest } from '@lcp/protocol';
import type { SqliteStoreOptions } from './sqlite-store.js';
import type { IssuerSettings, TransferCommand } from './types.js';

export interface WorkerStart {
  databasePath: string;
  settings: IssuerSettings;
  store?: Omit<SqliteStoreOptions, 'now'>;
}

export type WorkerRequest = { id: number } & (
  | { op: 'transfer'; command: TransferCommand }
  | { op: 'mint'; recipient: EntityId; amount: bigint; transactionId: string }
  | { op: 'getDeposits'; holder: EntityId; request: GetDepositsRequest }
  | { op: 'balance'; account: string }
  | { op: 'statement'; account: string; options?: { afterId?: bigint; limit?: number } }
  | { op: 'totals' }
  | { op: 'close' }
  | { op: 'abort'; target: number }
);

export type WorkerReply = { id: number } & ({ ok: true; value: unknown } | { ok: false; error: string });

/** The worker answers in batches (see ledger-worker.ts): each message is an array of replies. */
export type WorkerReplies = WorkerReply[];
