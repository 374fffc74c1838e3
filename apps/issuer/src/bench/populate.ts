// Pre-populates a new issuer's ledger with many existing accounts, written straight into SQLite
// in one transaction before the issuer starts (the ledger API would take minutes for a million).
// Every account gets 1.00 (100 minor units) from the treasury, so the sum of balances stays zero.
// The schema is the store's own: openSqliteStore runs the migrations first.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { openSqliteStore } from '@lcp/issuer-core';
import { POPULATION_PREFIX } from './ipc.js';

/** The part of better-sqlite3 used here (the driver is @lcp/issuer-core's, see below). */
interface Statement {
  run(...values: unknown[]): unknown;
}
interface Connection {
  pragma(text: string): unknown;
  prepare(sql: string): Statement;
  transaction(fn: () => void): () => void;
  close(): void;
}
type ConnectionClass = new (path: string) => Connection;

/** The id of pre-populated account `index` (the load generator derives the same ids). */
export function populationAccount(index: number): string {
  return createHash('sha256').update(`${POPULATION_PREFIX}${index}`).digest('hex');
}

export const POPULATION_BALANCE = 100n;

/** Writes `accounts` accounts (and the treasury's matching debit) into the ledger at `path`. */
export async function populateAccounts(path: string, treasury: string, accounts: number): Promise<{ ms: number }> {
  const began = performance.now();
  await openSqliteStore(path).close(); // migrations, and the fee account
  // apps/issuer does not depend on better-sqlite3 itself: use the ledger package's driver
  const Database = createRequire(import.meta.resolve('@lcp/issuer-core'))('better-sqlite3') as ConnectionClass;
  const db = new Database(path);
  try {
    db.pragma('synchronous = OFF'); // this connection only: the issuer opens the file with FULL
    const ids = Array.from({ length: accounts }, (_, i) => populationAccount(i)).sort(); // in key order: appends to the B-tree
    const insert = db.prepare('INSERT INTO accounts (id, balance, created_at) VALUES (?, ?, ?)');
    const now = Date.now();
    db.transaction(() => {
      for (const id of ids) insert.run(id, POPULATION_BALANCE, now);
      insert.run(treasury, -POPULATION_BALANCE * BigInt(accounts), now);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return { ms: performance.now() - began };
}
