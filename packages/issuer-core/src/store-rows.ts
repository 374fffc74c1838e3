// Rows as both stores read them (the same columns on SQLite and PostgreSQL), and the port's
// view of them.
import type { Deposit } from '@lcp/protocol';
import type { AccountState } from './types.js';

export interface AccountRow {
  balance: bigint;
  last_counter: bigint;
  deposit_sequence: bigint;
  acknowledged: bigint;
}

export const EMPTY_ACCOUNT_ROW: AccountRow = { balance: 0n, last_counter: 0n, deposit_sequence: 0n, acknowledged: 0n };

export function accountState(row: AccountRow | undefined): AccountState | undefined {
  return row && {
    balance: row.balance,
    lastCounter: row.last_counter,
    depositSequence: row.deposit_sequence,
    acknowledged: row.acknowledged,
  };
}

export interface DepositRow {
  sequence: bigint;
  transaction_id: string;
  amount: bigint;
  userid: string | null;
}

export function depositOf(row: DepositRow): Deposit & { sequence: bigint } {
  return {
    transactionId: row.transaction_id,
    amount: row.amount,
    ...(row.userid !== null ? { userid: row.userid } : {}),
    sequence: row.sequence,
  };
}
