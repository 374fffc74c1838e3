// The bank's one SQLite file: customers, sessions, agent tokens, the double-entry ledger of
// sub-accounts, payments and held deposits. WAL with synchronous=FULL: a commit the bank has
// answered survives a crash. Integers come back as bigint (money is never a float).
import Database from 'better-sqlite3';

export type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

CREATE TABLE IF NOT EXISTS currencies (
  id INTEGER PRIMARY KEY,
  wsdl TEXT NOT NULL UNIQUE,
  scale INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('opaque', 'transparent', 'operator')),
  password_hash TEXT NOT NULL,
  entity_id TEXT UNIQUE,
  key_box TEXT,
  created_at TEXT NOT NULL,
  closed_at TEXT
) STRICT;

CREATE TABLE IF NOT EXISTS sessions (
  id_hash TEXT PRIMARY KEY,
  customer_id INTEGER REFERENCES customers(id),
  csrf TEXT NOT NULL,
  flash TEXT,
  expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS tokens (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  label TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT,
  last_used_at TEXT,
  uses INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE IF NOT EXISTS token_limits (
  token_id INTEGER NOT NULL REFERENCES tokens(id),
  currency_id INTEGER NOT NULL REFERENCES currencies(id),
  daily_max INTEGER NOT NULL CHECK (daily_max > 0),
  PRIMARY KEY (token_id, currency_id)
) STRICT;

CREATE TABLE IF NOT EXISTS token_uses (
  id INTEGER PRIMARY KEY,
  token_id INTEGER NOT NULL REFERENCES tokens(id),
  at TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  status INTEGER NOT NULL,
  detail TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS token_uses_by_token ON token_uses (token_id, id);

CREATE TABLE IF NOT EXISTS idempotency (
  token_id INTEGER NOT NULL REFERENCES tokens(id),
  key TEXT NOT NULL,
  request TEXT NOT NULL,
  status INTEGER,
  body TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (token_id, key)
) STRICT;

-- One row per account of the double-entry ledger. A holder is a key at one issuer: the bank's
-- own key, or a transparent customer's. kind 'issuer' mirrors the holder's balance at the
-- issuer with the opposite sign, so every holder's accounts sum to zero.
CREATE TABLE IF NOT EXISTS accounts (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  currency_id INTEGER NOT NULL REFERENCES currencies(id),
  holder TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('issuer', 'customer', 'held', 'income', 'in-flight')),
  customer_id INTEGER REFERENCES customers(id),
  balance INTEGER NOT NULL DEFAULT 0
) STRICT;

-- What customers see: payments in and out. Held deposits are incoming payments with no customer.
CREATE TABLE IF NOT EXISTS payments (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER REFERENCES customers(id),
  currency_id INTEGER NOT NULL REFERENCES currencies(id),
  holder TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  status TEXT NOT NULL CHECK (status IN ('reserved', 'sending', 'completed', 'failed', 'unknown', 'held', 'assigned', 'taken')),
  transaction_id TEXT NOT NULL,
  recipient TEXT,
  to_name TEXT,
  userid TEXT,
  amount INTEGER NOT NULL CHECK (amount > 0),
  lcp_fee INTEGER NOT NULL DEFAULT 0,
  bank_fee INTEGER NOT NULL DEFAULT 0,
  reserved INTEGER NOT NULL DEFAULT 0,
  sequence INTEGER,
  result TEXT,
  internal INTEGER NOT NULL DEFAULT 0,
  token_id INTEGER REFERENCES tokens(id),
  note TEXT,
  created_at TEXT NOT NULL,
  completed_at TEXT,
  UNIQUE (holder, currency_id, sequence)
) STRICT;
CREATE INDEX IF NOT EXISTS payments_by_customer ON payments (customer_id, id);
CREATE INDEX IF NOT EXISTS payments_by_transaction ON payments (customer_id, currency_id, transaction_id);
CREATE INDEX IF NOT EXISTS payments_by_token ON payments (token_id, currency_id, created_at);
CREATE INDEX IF NOT EXISTS payments_by_status ON payments (status);

CREATE TABLE IF NOT EXISTS movements (
  id INTEGER PRIMARY KEY,
  currency_id INTEGER NOT NULL REFERENCES currencies(id),
  holder TEXT NOT NULL,
  kind TEXT NOT NULL,
  payment_id INTEGER REFERENCES payments(id),
  at TEXT NOT NULL,
  memo TEXT
) STRICT;

CREATE TABLE IF NOT EXISTS entries (
  movement_id INTEGER NOT NULL REFERENCES movements(id),
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  amount INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS entries_by_account ON entries (account_id);

CREATE TABLE IF NOT EXISTS reconciliations (
  holder TEXT NOT NULL,
  currency_id INTEGER NOT NULL REFERENCES currencies(id),
  checked_at TEXT NOT NULL,
  status TEXT NOT NULL,
  issuer_balance INTEGER,
  books INTEGER NOT NULL,
  uncredited INTEGER NOT NULL DEFAULT 0,
  difference INTEGER,
  detail TEXT,
  PRIMARY KEY (holder, currency_id)
) STRICT;
`;

export function openDatabase(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.defaultSafeIntegers(true);
  db.exec(SCHEMA);
  return db;
}

export function readMeta(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function writeMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}

export const nowIso = (): string => new Date().toISOString();
