// The journal as both stores read it: one row per transfer or getDeposits fee, and the
// statement lines a row makes for an account. SQL and row types are the same on SQLite and PostgreSQL.
import { FEE_ACCOUNT, type EntryKind, type StatementEntry } from './types.js';

/** A journal row, its integers as bigint. */
export interface JournalRow {
  id: bigint;
  sender: string;
  recipient: string;
  amount: bigint;
  fee: bigint;
  transaction_id: string | null;
  created_at: bigint;
}

export const JOURNAL_COLUMNS = 't.id, t.sender, t.recipient, t.amount, t.fee, t.transaction_id, t.created_at';

/** The statement lines one journal row makes for `account` (a transfer with a fee makes two). */
export function entriesOf(row: JournalRow, account: string): StatementEntry[] {
  const at = new Date(Number(row.created_at));
  const charge = row.recipient === FEE_ACCOUNT; // a getDeposits fee
  const line = (delta: bigint, kind: EntryKind, counterparty: string): StatementEntry => ({
    id: row.id,
    account,
    delta,
    kind,
    counterparty,
    transactionId: row.transaction_id,
    transferId: charge ? null : row.id,
    at,
  });
  if (charge) {
    return [row.sender === account ? line(-row.amount, 'getDepositsFee', FEE_ACCOUNT) : line(row.amount, 'getDepositsFee', row.sender)];
  }
  if (account === FEE_ACCOUNT) return [line(row.fee, 'fee', row.sender)];
  if (row.recipient === account) return [line(row.amount, 'transfer', row.sender)];
  const lines = [line(-row.amount, 'transfer', row.recipient)];
  if (row.fee > 0n) lines.push(line(-row.fee, 'fee', FEE_ACCOUNT));
  return lines;
}
