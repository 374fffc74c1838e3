// Versioned schema for the SQLite store. MIGRATIONS[i] brings the schema to version i + 1;
// append new migrations, never edit a released one. Amounts, balances and counters are
// INTEGER minor units (int64); STRICT tables refuse anything else (such as a REAL produced
// by an overflowing expression).
import type Database from 'better-sqlite3';

export const MIGRATIONS: readonly string[] = [
  // 1: accounts, the transfer journal, counted requests, the per-recipient deposit journal.
  `
  CREATE TABLE accounts (
    id               TEXT    PRIMARY KEY,
    balance          INTEGER NOT NULL DEFAULT 0,
    last_counter     INTEGER NOT NULL DEFAULT 0 CHECK (last_counter >= 0),
    deposit_sequence INTEGER NOT NULL DEFAULT 0 CHECK (deposit_sequence >= 0),
    acknowledged     INTEGER NOT NULL DEFAULT 0 CHECK (acknowledged >= 0 AND acknowledged <= deposit_sequence),
    created_at       INTEGER NOT NULL
  ) STRICT;

  -- The journal: every movement of funds. A getDeposits fee is a row whose recipient is the
  -- fee account and that has no counter. Statements are read from here, through the
  -- requests (by sender) and deposits (by recipient) keys that each transfer writes anyway.
  CREATE TABLE transfers (
    id             INTEGER PRIMARY KEY,
    sender         TEXT    NOT NULL REFERENCES accounts (id),
    recipient      TEXT    NOT NULL REFERENCES accounts (id),
    amount         INTEGER NOT NULL CHECK (amount > 0),
    fee            INTEGER NOT NULL CHECK (fee >= 0),
    transaction_id TEXT,
    userid         TEXT,
    counter        INTEGER CHECK (counter > 0),
    resumed        INTEGER NOT NULL CHECK (resumed IN (0, 1)),
    created_at     INTEGER NOT NULL,
    CHECK (sender <> recipient),
    CHECK ((counter IS NULL) = (recipient = 'fees'))
  ) STRICT;

  -- only getDeposits fees are indexed by payer: transfers are found through requests
  CREATE INDEX charges_by_payer ON transfers (sender, id) WHERE recipient = 'fees';

  CREATE TABLE requests (
    sender      TEXT    NOT NULL REFERENCES accounts (id),
    counter     INTEGER NOT NULL CHECK (counter > 0),
    body_hash   TEXT    NOT NULL,
    result      TEXT    NOT NULL CHECK (result IN ('success', 'insufficientFunds', 'issuanceCapExceeded')),
    fee         INTEGER NOT NULL CHECK (fee >= 0),
    transfer_id INTEGER REFERENCES transfers (id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (sender, counter),
    CHECK ((result = 'success') = (transfer_id IS NOT NULL))
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE deposits (
    recipient      TEXT    NOT NULL REFERENCES accounts (id),
    sequence       INTEGER NOT NULL CHECK (sequence > 0),
    transfer_id    INTEGER NOT NULL REFERENCES transfers (id),
    transaction_id TEXT    NOT NULL,
    amount         INTEGER NOT NULL CHECK (amount > 0),
    userid         TEXT,
    PRIMARY KEY (recipient, sequence)
  ) STRICT, WITHOUT ROWID;

  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies every missing migration, each in its own IMMEDIATE transaction; returns the version. */
export function migrate(db: Database.Database): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const current = db.prepare<[], { v: bigint | number | null }>('SELECT max(version) AS v FROM schema_migrations');
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  const versionNow = (): number => Number(current.get()?.v ?? 0);

  if (versionNow() > SCHEMA_VERSION) {
    throw new Error(`database schema version ${versionNow()} is newer than this code (${SCHEMA_VERSION})`);
  }
  for (let index = 0; index < MIGRATIONS.length; index += 1) {
    const version = index + 1;
    const apply = db.transaction(() => {
      // Re-read inside the lock: another process may have migrated meanwhile.
      if (versionNow() >= version) return;
      db.exec(MIGRATIONS[index] ?? '');
      record.run(version, Date.now());
    });
    apply.immediate();
  }
  return versionNow();
}
