// Versioned schema for the PostgreSQL store. POSTGRES_MIGRATIONS[i] brings the schema to
// version i + 1; append new migrations, never edit a released one. Amounts, balances and
// counters are bigint minor units, with the same CHECKs as the SQLite schema. Nodes that start
// together migrate one at a time (an advisory lock), so any node may be started first.
import type pg from 'pg';

/** Fee income is spread over this many rows so that concurrent transfers never queue on one. */
export const FEE_SHARDS = 64;

export const POSTGRES_MIGRATIONS: readonly string[] = [
  // 1: accounts, fee shards, the transfer journal, counted requests, the deposit journal,
  // and the TLS session ticket keys that every node of the issuer shares.
  `
  CREATE TABLE accounts (
    id               text   PRIMARY KEY,
    balance          bigint NOT NULL DEFAULT 0,
    last_counter     bigint NOT NULL DEFAULT 0 CHECK (last_counter >= 0),
    deposit_sequence bigint NOT NULL DEFAULT 0 CHECK (deposit_sequence >= 0),
    acknowledged     bigint NOT NULL DEFAULT 0 CHECK (acknowledged >= 0 AND acknowledged <= deposit_sequence),
    created_at       bigint NOT NULL
  );

  -- The fee account's balance is its accounts row plus these rows: every transfer with a fee
  -- credits one of them, so transfers do not all wait for one row lock held across a commit.
  CREATE TABLE fee_shards (
    shard   smallint PRIMARY KEY CHECK (shard >= 0 AND shard < ${FEE_SHARDS}),
    balance bigint   NOT NULL DEFAULT 0 CHECK (balance >= 0)
  );
  INSERT INTO fee_shards (shard) SELECT generate_series(0, ${FEE_SHARDS - 1});

  CREATE TABLE transfers (
    id             bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender         text    NOT NULL,
    recipient      text    NOT NULL,
    amount         bigint  NOT NULL CHECK (amount > 0),
    fee            bigint  NOT NULL CHECK (fee >= 0),
    transaction_id text,
    userid         text,
    counter        bigint  CHECK (counter > 0),
    resumed        boolean NOT NULL,
    created_at     bigint  NOT NULL,
    CHECK (sender <> recipient),
    CHECK ((counter IS NULL) = (recipient = 'fees'))
  );
  CREATE INDEX charges_by_payer ON transfers (sender, id) WHERE recipient = 'fees';

  CREATE TABLE requests (
    sender      text   NOT NULL,
    counter     bigint NOT NULL CHECK (counter > 0),
    body_hash   text   NOT NULL,
    result      text   NOT NULL CHECK (result IN ('success', 'insufficientFunds', 'issuanceCapExceeded')),
    fee         bigint NOT NULL CHECK (fee >= 0),
    transfer_id bigint,
    created_at  bigint NOT NULL,
    PRIMARY KEY (sender, counter),
    CHECK ((result = 'success') = (transfer_id IS NOT NULL))
  );

  CREATE TABLE deposits (
    recipient      text   NOT NULL,
    sequence       bigint NOT NULL CHECK (sequence > 0),
    transfer_id    bigint NOT NULL,
    transaction_id text   NOT NULL,
    amount         bigint NOT NULL CHECK (amount > 0),
    userid         text,
    PRIMARY KEY (recipient, sequence)
  );

  -- One 48-byte key per epoch (time / rotation period): every node encrypts session tickets
  -- with the same key at the same time, so a session resumes on any node.
  CREATE TABLE tls_ticket_keys (
    epoch      bigint PRIMARY KEY,
    key        bytea  NOT NULL CHECK (length(key) = 48),
    created_at timestamptz NOT NULL DEFAULT now()
  );
  `,
];

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length;

// any constant: the advisory lock that makes concurrent migrations wait for each other
const MIGRATION_LOCK = 7_164_235_901;

/** Applies every missing migration in one transaction under an advisory lock; returns the version. */
export async function migratePostgres(client: pg.ClientBase): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    const current = rows[0]?.v ?? 0;
    if (current > POSTGRES_SCHEMA_VERSION) {
      throw new Error(`database schema version ${current} is newer than this code (${POSTGRES_SCHEMA_VERSION})`);
    }
    for (let version = current + 1; version <= POSTGRES_SCHEMA_VERSION; version += 1) {
      await client.query(POSTGRES_MIGRATIONS[version - 1] ?? '');
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
    }
    await client.query('COMMIT');
    return POSTGRES_SCHEMA_VERSION;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
