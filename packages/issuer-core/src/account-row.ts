// An accounts row as both stores read it (same columns on SQLite and PostgreSQL), and the
// port's view of it.
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
