// The SQLite storage adapter (better-sqlite3): rows only, no rules. Writes go through one
// queue with group commit: each queued work runs in its own SAVEPOINT inside a shared
// BEGIN IMMEDIATE ... COMMIT, and every caller resolves only after that COMMIT returned.
import Database from 'better-sqlite3';
import type { Deposit, TransferResult } from '@lcp/protocol';
import { accountState, depositOf, type AccountRow, type DepositRow } from './store-rows.js';
import { entriesOf, JOURNAL_COLUMNS, type JournalRow } from './journal.js';
import { migrate } from './migrations.js';
import {
  FEE_ACCOUNT,
  type AccountState,
  type Delivery,
  type LedgerStore,
  type LedgerTotals,
  type LedgerTx,
  type NewTransfer,
  type StoredRequest,
} from './types.js';

export interface SqliteStoreOptions {
  /** PRAGMA synchronous. FULL (default) fsyncs the WAL at every commit: a resolved write survives power loss. */
  synchronous?: 'FULL' | 'EXTRA' | 'NORMAL' | 'OFF';
  /** How long to wait for another process's lock, in ms (default 5000). */
  busyTimeoutMs?: number;
  /** Most works sharing one commit (default 256). */
  maxBatch?: number;
  /** Clock for created_at columns, ms since the epoch (default Date.now). */
  now?: () => number;
}

export interface SqliteStoreStats {
  /** Successful COMMITs (one per batch). */
  commits: number;
  /** Works that ran to completion inside a committed batch. */
  committedWorks: number;
  /** Works that threw (their savepoint was rolled back). */
  rolledBackWorks: number;
  /** The largest batch so far. */
  largestBatch: number;
  /** Works waiting for the next batch right now. */
  queued: number;
}

export interface SqliteLedgerStore extends LedgerStore {
  /** Counters for tests and metrics; read-only snapshot. */
  stats(): SqliteStoreStats;
  /** The schema version after migrations. */
  readonly schemaVersion: number;
}

const DEFAULT_STATEMENT_LIMIT = 1000;
const MAX_STATEMENT_LIMIT = 10_000;

interface Job {
  work: (tx: LedgerTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Int = bigint;
interface RequestRow { body_hash: string; result: TransferResult; fee: Int }
function prepareWrites(db: Database.Database) {
  return {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    savepoint: db.prepare('SAVEPOINT work'),
    release: db.prepare('RELEASE work'),
    rollbackTo: db.prepare('ROLLBACK TO work'),
    isolate: db.prepare('SAVEPOINT isolated'),
    releaseIsolated: db.prepare('RELEASE isolated'),
    rollbackIsolated: db.prepare('ROLLBACK TO isolated'),
    account: db.prepare<[string], AccountRow>(
      'SELECT balance, last_counter, deposit_sequence, acknowledged FROM accounts WHERE id = ?',
    ),
    ensureAccount: db.prepare<[string, number]>(
      'INSERT INTO accounts (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING',
    ),
    findRequest: db.prepare<[string, bigint], RequestRow>(
      'SELECT body_hash, result, fee FROM requests WHERE sender = ? AND counter = ?',
    ),
    advanceCounter: db.prepare<{ id: string; counter: bigint; debit: bigint }>(
      `UPDATE accounts SET balance = balance - :debit, last_counter = :counter
       WHERE id = :id AND last_counter < :counter`,
    ),
    insertRequest: db.prepare<[string, bigint, string, string, bigint, bigint | null, number]>(
      `INSERT INTO requests (sender, counter, body_hash, result, fee, transfer_id, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    creditWithDeposit: db.prepare<[bigint, string], { deposit_sequence: Int }>(
      `UPDATE accounts SET balance = balance + ?, deposit_sequence = deposit_sequence + 1
       WHERE id = ? RETURNING deposit_sequence`,
    ),
    credit: db.prepare<[bigint, string]>('UPDATE accounts SET balance = balance + ? WHERE id = ?'),
    debit: db.prepare<[bigint, string]>('UPDATE accounts SET balance = balance - ? WHERE id = ?'),
    insertTransfer: db.prepare<[string, string, bigint, bigint, string, string | null, bigint, number, number], { id: Int }>(
      `INSERT INTO transfers (sender, recipient, amount, fee, transaction_id, userid, counter, resumed, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    ),
    insertDeposit: db.prepare<[string, bigint, bigint, string, bigint, string | null]>(
      `INSERT INTO deposits (recipient, sequence, transfer_id, transaction_id, amount, userid)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    insertCharge: db.prepare<[string, bigint, number]>(
      `INSERT INTO transfers (sender, recipient, amount, fee, resumed, created_at)
       VALUES (?, '${FEE_ACCOUNT}', ?, 0, 0, ?)`,
    ),
    depositsAfter: db.prepare<[string, bigint, number], DepositRow>(
      `SELECT sequence, transaction_id, amount, userid FROM deposits
       WHERE recipient = ? AND sequence > ? ORDER BY sequence LIMIT ?`,
    ),
    raiseAcknowledged: db.prepare<{ holder: string; upTo: bigint }>(
      'UPDATE accounts SET acknowledged = :upTo WHERE id = :holder AND acknowledged < :upTo',
    ),
  };
}
type WriteStatements = ReturnType<typeof prepareWrites>;

function prepareReads(db: Database.Database) {
  return {
    // a holder's rows: sent (found through requests), received (through deposits), fees paid
    statement: db.prepare<{ account: string; after: bigint; limit: number }, JournalRow>(
      `SELECT ${JOURNAL_COLUMNS} FROM transfers t
       WHERE t.id > :after AND t.id IN (
         SELECT transfer_id FROM requests WHERE sender = :account AND transfer_id IS NOT NULL
         UNION ALL SELECT transfer_id FROM deposits WHERE recipient = :account
         UNION ALL SELECT id FROM transfers WHERE sender = :account AND recipient = '${FEE_ACCOUNT}')
       ORDER BY t.id LIMIT :limit`,
    ),
    feeStatement: db.prepare<{ after: bigint; limit: number }, JournalRow>(
      `SELECT ${JOURNAL_COLUMNS} FROM transfers t
       WHERE t.id > :after AND (t.fee > 0 OR t.recipient = '${FEE_ACCOUNT}') ORDER BY t.id LIMIT :limit`,
    ),
    // Positive and negative parts summed apart: neither can overflow int64 while the invariants hold.
    sums: db.prepare<[], { credit: Int | null; debit: Int | null; accounts: Int }>(
      `SELECT sum(CASE WHEN balance > 0 THEN balance END) AS credit,
              sum(CASE WHEN balance < 0 THEN balance END) AS debit,
              count(*) FILTER (WHERE id <> '${FEE_ACCOUNT}') AS accounts
       FROM accounts`,
    ),
    transfers: db.prepare<[], { n: Int }>(`SELECT count(*) AS n FROM transfers WHERE recipient <> '${FEE_ACCOUNT}'`),
    account: db.prepare<[string], AccountRow>(
      'SELECT balance, last_counter, deposit_sequence, acknowledged FROM accounts WHERE id = ?',
    ),
    negative: db.prepare<[string], { id: string }>(
      'SELECT id FROM accounts WHERE balance < 0 AND id <> ? ORDER BY id LIMIT 1000',
    ),
  };
}

/** One work's view of the open transaction; unusable once its work has returned. */
class SqliteTx implements LedgerTx {
  #live = true;
  readonly #s: WriteStatements;
  readonly #now: () => number;

  constructor(statements: WriteStatements, now: () => number) {
    this.#s = statements;
    this.#now = now;
  }

  end(): void {
    this.#live = false;
  }

  #use(): WriteStatements {
    if (!this.#live) throw new Error('this transaction is over: use tx only inside its work');
    return this.#s;
  }

  async account(id: string): Promise<AccountState | undefined> {
    return accountState(this.#use().account.get(id));
  }

  async findRequest(sender: string, counter: bigint): Promise<StoredRequest | undefined> {
    const row = this.#use().findRequest.get(sender, counter);
    return row && { bodyHash: row.body_hash, result: row.result, fee: row.fee };
  }

  async recordRequest(sender: string, counter: bigint, stored: StoredRequest): Promise<void> {
    const s = this.#use();
    const at = this.#now();
    s.ensureAccount.run(sender, at);
    if (s.advanceCounter.run({ id: sender, counter, debit: 0n }).changes !== 1) {
      throw new Error(`counter ${counter} is not above the last counter of ${sender}`);
    }
    s.insertRequest.run(sender, counter, stored.bodyHash, stored.result, stored.fee, null, at);
  }

  async recordTransfer(t: NewTransfer): Promise<{ transferId: bigint; sequence: bigint }> {
    const s = this.#use();
    const at = this.#now();
    const userid = t.userid ?? null;
    s.ensureAccount.run(t.sender, at);
    s.ensureAccount.run(t.recipient, at);
    if (s.advanceCounter.run({ id: t.sender, counter: t.counter, debit: t.amount + t.fee }).changes !== 1) {
      throw new Error(`counter ${t.counter} is not above the last counter of ${t.sender}`);
    }
    const credited = s.creditWithDeposit.get(t.amount, t.recipient);
    if (!credited) throw new Error(`recipient ${t.recipient} vanished`);
    const sequence = credited.deposit_sequence;
    if (t.fee > 0n) s.credit.run(t.fee, FEE_ACCOUNT);
    const inserted = s.insertTransfer.get(
      t.sender, t.recipient, t.amount, t.fee, t.transactionId, userid, t.counter, t.resumed ? 1 : 0, at,
    );
    if (!inserted) throw new Error('transfer insert returned no id');
    const transferId = inserted.id;
    s.insertDeposit.run(t.recipient, sequence, transferId, t.transactionId, t.amount, userid);
    s.insertRequest.run(t.sender, t.counter, t.bodyHash, 'success', t.fee, transferId, at);
    return { transferId, sequence };
  }

  async deliverDeposits(holder: string, d: Delivery): Promise<Array<Deposit & { sequence: bigint }>> {
    const s = this.#use();
    const deposits = s.depositsAfter.all(holder, d.after, d.limit).map(depositOf);
    if (deposits.length === 0 && !d.answerEmpty) return deposits;
    const last = deposits.at(-1);
    const upTo = d.acknowledgeDelivered && last ? last.sequence : d.after; // every deposit found is above `after`
    s.raiseAcknowledged.run({ holder, upTo });
    if (d.fee > 0n) {
      if (s.debit.run(d.fee, holder).changes !== 1) throw new Error(`no account ${holder} to charge`);
      s.credit.run(d.fee, FEE_ACCOUNT);
      s.insertCharge.run(holder, d.fee, this.#now());
    }
    return deposits;
  }

  async isolated<T>(work: () => Promise<T>): Promise<T> {
    const s = this.#use();
    s.isolate.run();
    try {
      const value = await work();
      s.releaseIsolated.run();
      return value;
    } catch (error) {
      try {
        s.rollbackIsolated.run();
        s.releaseIsolated.run();
      } catch {
        // SQLite already rolled back the whole transaction: the batch finds that out and fails
      }
      throw error;
    }
  }
}

function isMemory(path: string): boolean {
  return path === ':memory:' || path === '';
}

export function openSqliteStore(path: string | ':memory:', options: SqliteStoreOptions = {}): SqliteLedgerStore {
  const maxBatch = Math.max(1, options.maxBatch ?? 256);
  const now = options.now ?? Date.now;
  const busyTimeout = options.busyTimeoutMs ?? 5000;
  const synchronous = options.synchronous ?? 'FULL';
  if (!['FULL', 'EXTRA', 'NORMAL', 'OFF'].includes(synchronous)) throw new RangeError(`bad synchronous ${synchronous}`);
  if (!Number.isSafeInteger(busyTimeout) || busyTimeout < 0) throw new RangeError('busyTimeoutMs must be an integer >= 0');

  const db = new Database(path);
  db.defaultSafeIntegers(true);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('foreign_keys = ON');
  // Each work runs in a SAVEPOINT, whose sub-journal copies every page the work first touches;
  // in memory it costs a memcpy, spilled to a temp file it doubled the time of a transfer.
  db.pragma('temp_store = MEMORY');
  db.pragma(`busy_timeout = ${busyTimeout}`);
  // wal_autocheckpoint stays at SQLite's 1,000 pages. The committing thread runs the checkpoint:
  // at 10,000 pages, hot accounts gained 8-9 % transfers/s, but paying 1,000,000 accounts at
  // random, each checkpoint copied thousands of pages and p99 went from 23-27 to 60-63 ms.
  let reader: Database.Database | undefined;
  let schemaVersion: number;
  let writes: WriteStatements;
  let reads: ReturnType<typeof prepareReads>;
  try {
    schemaVersion = migrate(db);
    writes = prepareWrites(db);
    writes.ensureAccount.run(FEE_ACCOUNT, now()); // exists from the start: transfers only credit it
    // A file database gets a second, read-only connection: WAL readers see the last commit
    // without waiting for the write queue. ':memory:' cannot be shared, so it reads in the queue.
    if (!isMemory(path)) {
      reader = new Database(path, { readonly: true, fileMustExist: true });
      reader.defaultSafeIntegers(true);
      reader.pragma(`busy_timeout = ${busyTimeout}`);
    }
    reads = prepareReads(reader ?? db);
  } catch (error) {
    reader?.close();
    db.close();
    throw error;
  }

  const queue: Job[] = [];
  const stats = { commits: 0, committedWorks: 0, rolledBackWorks: 0, largestBatch: 0 };
  let scheduled = false;
  let running = false;
  let closed = false;
  let closing: Promise<void> | undefined;
  let idle: (() => void) | undefined;

  /** Rolls the whole transaction back if SQLite has not already done so. */
  function abandon(): void {
    try {
      if (db.inTransaction) writes.rollback.run();
    } catch {
      // nothing more to undo: the connection reports the transaction gone or unusable
    }
  }

  // Why this is safe: better-sqlite3 runs each statement synchronously and only this loop
  // touches the write connection, so works run one after another and their savepoints never interleave.
  async function runBatch(batch: Job[]): Promise<void> {
    stats.largestBatch = Math.max(stats.largestBatch, batch.length);
    const done: Array<{ job: Job; value: unknown }> = [];
    try {
      writes.begin.run();
    } catch (error) {
      for (const job of batch) job.reject(error);
      return;
    }
    for (let index = 0; index < batch.length; index += 1) {
      const job = batch[index] as Job;
      const tx = new SqliteTx(writes, now);
      try {
        writes.savepoint.run();
        const value = await job.work(tx);
        tx.end();
        writes.release.run();
        done.push({ job, value });
      } catch (error) {
        tx.end();
        stats.rolledBackWorks += 1;
        if (db.inTransaction) {
          try {
            writes.rollbackTo.run();
            writes.release.run();
            job.reject(error);
            continue;
          } catch {
            // fall through: treat as a lost transaction
            abandon();
          }
        }
        // SQLite rolled back the whole transaction (e.g. disk full): the batch so far is lost.
        job.reject(error);
        for (const lost of done) lost.job.reject(new Error('rolled back with its batch', { cause: error }));
        done.length = 0;
        if (index + 1 < batch.length) {
          try {
            writes.begin.run();
          } catch (beginError) {
            for (const rest of batch.slice(index + 1)) rest.reject(beginError);
            return;
          }
        }
      }
    }
    if (!db.inTransaction) return;
    try {
      writes.commit.run();
    } catch (error) {
      abandon();
      for (const { job } of done) job.reject(error);
      return;
    }
    stats.commits += 1;
    stats.committedWorks += done.length;
    for (const { job, value } of done) job.resolve(value);
  }

  async function drain(): Promise<void> {
    scheduled = false;
    running = true;
    try {
      const batch = queue.splice(0, maxBatch);
      if (batch.length > 0) await runBatch(batch);
    } finally {
      running = false;
      if (queue.length > 0) schedule();
      else idle?.();
    }
  }

  // setImmediate, not a microtask: requests that arrived during the last fsync (I/O callbacks)
  // get queued first and share the next commit.
  function schedule(): void {
    if (scheduled || running) return;
    scheduled = true;
    setImmediate(() => void drain());
  }

  function enqueue<T>(work: (tx: LedgerTx) => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new Error('the ledger store is closed'));
    return new Promise<T>((resolve, reject) => {
      queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      schedule();
    });
  }

  /** Reads from the WAL reader directly, or (':memory:') inside the write queue. */
  function read<T>(fn: () => T): Promise<T> {
    if (closed) return Promise.reject(new Error('the ledger store is closed'));
    if (reader) {
      try {
        return Promise.resolve(reader.transaction(fn)());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return enqueue(async () => fn());
  }

  return {
    schemaVersion,

    transaction: enqueue,

    account(id) {
      return read(() => accountState(reads.account.get(id)));
    },

    statement(account, options = {}) {
      const after = options.afterId ?? 0n;
      const limit = Math.min(Math.max(1, options.limit ?? DEFAULT_STATEMENT_LIMIT), MAX_STATEMENT_LIMIT);
      return read(() => {
        const rows =
          account === FEE_ACCOUNT ? reads.feeStatement.all({ after, limit }) : reads.statement.all({ account, after, limit });
        return rows.flatMap((row) => entriesOf(row, account));
      });
    },

    totals(treasury) {
      return read((): LedgerTotals => {
        const sums = reads.sums.get();
        return {
          sum: (sums?.credit ?? 0n) + (sums?.debit ?? 0n),
          accounts: Number(sums?.accounts ?? 0n),
          transfers: Number(reads.transfers.get()?.n ?? 0n),
          treasuryBalance: reads.account.get(treasury)?.balance ?? 0n,
          feeBalance: reads.account.get(FEE_ACCOUNT)?.balance ?? 0n,
          negativeAccounts: reads.negative.all(treasury).map((row) => row.id),
        };
      });
    },

    stats() {
      return { ...stats, queued: queue.length };
    },

    close() {
      closing ??= (async () => {
        closed = true;
        if (running || scheduled || queue.length > 0) {
          await new Promise<void>((resolve) => {
            idle = resolve;
          });
        }
        reader?.close();
        db.close();
      })();
      return closing;
    },
  };
}
