// @lcp/issuer-core: the issuer's ledger rules (issuer.ts) behind a storage port (types.ts),
// with a SQLite adapter using group commit (sqlite-store.ts) and a PostgreSQL adapter for
// several issuer nodes on one database (postgres-store.ts).
export * from './types.js';
export { createIssuerLedger, isRefusal, transferBodyHash, transferFee } from './issuer.js';
export {
  openSqliteStore,
  type SqliteLedgerStore,
  type SqliteStoreOptions,
  type SqliteStoreStats,
} from './sqlite-store.js';
export { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
export {
  openPostgresStore,
  NotDurableError,
  StoreUnavailableError,
  type Durability,
  type PostgresLedgerStore,
  type PostgresStoreOptions,
  type PostgresStoreStats,
} from './postgres-store.js';
export { POSTGRES_MIGRATIONS, POSTGRES_SCHEMA_VERSION, FEE_SHARDS } from './postgres-migrations.js';
export { DepositWaiters, type DepositWaiter, type WaitEnd } from './deposit-waiters.js';
export { startLedgerWorker, LedgerClosedError, LedgerWorkerError } from './worker-ledger.js';
export type { WorkerStart } from './worker-messages.js';
