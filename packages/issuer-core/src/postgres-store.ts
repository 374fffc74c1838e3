// The PostgreSQL storage adapter (node-postgres): rows only, no rules, for an issuer that runs
// several stateless nodes on one database. Works run in READ COMMITTED transactions that first
// lock the accounts they may write, in ascending id order (no deadlock between opposite
// transfers), and resolve only after COMMIT returned with synchronous_commit on. Group commit:
// a few writer transactions at a time each take a batch of the queued works, lock all their
// accounts at once and commit them together, so one WAL flush serves many transfers. Deposits
// committed here are announced to the other nodes by LISTEN/NOTIFY, batched and sent outside
// the transfers' transactions.
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Deposit, TransferResult } from '@lcp/protocol';
import { accountState, depositOf, EMPTY_ACCOUNT_ROW, type AccountRow as StoredAccountRow, type DepositRow } from './store-rows.js';
import { entriesOf, JOURNAL_COLUMNS, type JournalRow } from './journal.js';
import { FEE_SHARDS, migratePostgres } from './postgres-migrations.js';
import {
  FEE_ACCOUNT,
  type AccountState,
  type Delivery,
  type DepositListener,
  type LedgerStore,
  type LedgerTotals,
  type LedgerTx,
  type NewTransfer,
  type StoredRequest,
  type TransactionOptions,
} from './types.js';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  connectionString: string;
  /** Connections for transactions (default 32). */
  poolSize?: number;
  /**
   * Group commit: how many batches may be in flight at once (default 2), each one transaction
   * on one connection. 0 runs every work in its own transaction.
   */
  writers?: number;
  /** The most works one batch commits together (default 64). */
  maxBatch?: number;
  /**
   * Open even if the server would acknowledge a commit before it is on disk (synchronous_commit
   * off, fsync off, full_page_writes off). Only for throwaway ledgers: answers could be lost.
   */
  allowNonDurable?: boolean;
  /** A name for this node in notifications (default: random). */
  nodeId?: string;
  /** Clock for created_at columns, ms since the epoch (default Date.now). */
  now?: () => number;
  /** First delay before the LISTEN connection is made again after it dropped, ms (default 100; doubles up to 2 s). */
  listenRetryMs?: number;
  /**
   * Benchmark only: NOTIFY inside each transfer's transaction instead of batched after COMMIT.
   * NOTIFY takes a database-wide lock at commit, so this serializes every committing transfer.
   */
  notifyInTransaction?: boolean;
  /** Told about trouble the store rides out by itself (the notification connection lost, a retry). */
  onWarning?: (message: string, error?: unknown) => void;
}

export interface PostgresStoreStats {
  /** Transactions committed. */
  commits: number;
  /** Works committed in a shared (group) commit, and the largest such batch. */
  batchedWorks: number;
  largestBatch: number;
  /** Batches rolled back (a work threw, a deadlock, a lost connection): their works ran again alone. */
  batchesRedone: number;
  /** Works re-run after a deadlock, a serialization failure or a lost connection before COMMIT. */
  retries: number;
  /** Deadlocks PostgreSQL reported (each retried). */
  deadlocks: number;
  /** NOTIFY statements sent and the deposits they announced. */
  notifications: number;
  notifiedDeposits: number;
  /** Notifications from other nodes received. */
  received: number;
  /** Whether the LISTEN connection is up right now, and how often it has been (re)established. */
  listening: boolean;
  listens: number;
}

export interface Durability {
  synchronousCommit: string;
  fsync: string;
  fullPageWrites: string;
  durable: boolean;
}

export interface PostgresLedgerStore extends LedgerStore {
  readonly schemaVersion: number;
  readonly nodeId: string;
  readonly durability: Durability;
  stats(): PostgresStoreStats;
  /**
   * The 48-byte TLS session ticket key of `epoch`, shared by every node: the first node to ask
   * makes it, the others read it. Also makes the next epoch's key (so nodes can switch on time)
   * and deletes keys older than the previous epoch.
   */
  ticketKey(epoch: bigint): Promise<Buffer>;
  /** A round trip to the database and the state of the LISTEN connection, for health checks. */
  health(): Promise<{ ok: boolean; database: boolean; listening: boolean }>;
}

/** The server would acknowledge commits that are not on disk, and the store was not told to accept that. */
export class NotDurableError extends Error {
  override name = 'NotDurableError';
}

/**
 * The database could not be reached or went away mid-request. The request is not answered;
 * the holder retransmits with the same counter. `duringCommit`: the connection was lost after
 * COMMIT was sent, so the work may have committed (the retransmission then gets its answer).
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  constructor(
    message: string,
    readonly duringCommit = false,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Raised inside a work when a row it must update changed under it; the work is re-run. */
class ConflictError extends Error {
  override name = 'ConflictError';
}

const CHANNEL = 'lcp_deposits';
const DEFAULT_STATEMENT_LIMIT = 1000;
const MAX_STATEMENT_LIMIT = 10_000;
const MAX_ATTEMPTS = 8;
const DEFAULT_WRITERS = 2;
const DEFAULT_MAX_BATCH = 64;
// NOTIFY payloads must stay under 8000 bytes; 64-hex ids with a separator are 65 bytes
const IDS_PER_NOTIFY = 100;
const MAX_PENDING_NOTIFY = 10_000;

// SQLSTATEs after which the whole work is re-run in a new transaction (nothing was committed)
const RETRY_CODES = new Set(['40001', '40P01', '23505']);
// the connection or the server went away (admin shutdown, crash, cannot connect now)
const GONE_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004']);

function isGone(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.code && GONE_CODES.has(e.code)) return true;
  if (e.code && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH'].includes(e.code)) return true;
  return /Connection terminated|connection ended|Client has encountered a connection error|not queryable/i.test(e.message ?? '');
}

/** int8 and numeric (sums of int8) as bigint: money never passes through a float. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === 20 || oid === 1700) return (text: string) => BigInt(text);
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as typeof pg.types.getTypeParser,
};

interface Work {
  work: (tx: LedgerTx) => Promise<unknown>;
  /** The accounts the work may write. */
  lock: readonly string[];
}

interface Job extends Work {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface AccountRow extends StoredAccountRow { id: string }

/** A row of SQL.deliver: a deposit, or nulls when none was found. */
type DeliveredRow = (DepositRow | { [K in keyof DepositRow]: null }) & { updated: bigint };

const ACCOUNT_COLUMNS = 'id, balance, last_counter, deposit_sequence, acknowledged';

/** Named statements: parsed once per connection. */
const SQL = {
  lock: {
    name: 'lcp_lock',
    // LockRows sits above the sort: rows are locked in ascending id order
    text: `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`,
  },
  lockMissing: {
    name: 'lcp_lock_missing',
    text: `SELECT pg_advisory_xact_lock(hashtextextended(id, 0))
      FROM (SELECT unnest($1::text[]) AS id ORDER BY 1) AS sorted`,
  },
  account: { name: 'lcp_account', text: `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1` },
  feeShards: { name: 'lcp_fee_shards', text: 'SELECT coalesce(sum(balance), 0) AS total FROM fee_shards' },
  ensureAccount: {
    name: 'lcp_ensure_account',
    text: 'INSERT INTO accounts (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
  },
  findRequest: {
    name: 'lcp_find_request',
    text: 'SELECT body_hash, result, fee FROM requests WHERE sender = $1 AND counter = $2',
  },
  recordRequest: {
    name: 'lcp_record_request',
    text: `WITH s AS (
        UPDATE accounts SET last_counter = $2 WHERE id = $1 AND last_counter < $2 RETURNING id)
      INSERT INTO requests (sender, counter, body_hash, result, fee, created_at)
      SELECT $1, $2, $3, $4, $5, $6 FROM s RETURNING counter`,
  },
  // One statement for every row a transfer writes: debit and counter, credit (creating the
  // recipient) with the next deposit sequence, a fee shard, the journal, the deposit, the request.
  transfer: {
    name: 'lcp_transfer',
    text: `WITH s AS (
        UPDATE accounts SET balance = balance - ($3::bigint + $4::bigint), last_counter = $7
        WHERE id = $1 AND last_counter < $7 RETURNING id),
      r AS (
        INSERT INTO accounts (id, balance, deposit_sequence, created_at) SELECT $2, $3, 1, $10 FROM s
        ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + EXCLUDED.balance,
          deposit_sequence = accounts.deposit_sequence + 1
        RETURNING deposit_sequence),
      f AS (
        UPDATE fee_shards SET balance = balance + $4 WHERE shard = $11 AND $4::bigint > 0 AND EXISTS (SELECT 1 FROM s)),
      t AS (
        INSERT INTO transfers (sender, recipient, amount, fee, transaction_id, userid, counter, resumed, created_at)
        SELECT $1, $2, $3, $4, $5, $6, $7, $9, $10 FROM s RETURNING id),
      d AS (
        INSERT INTO deposits (recipient, sequence, transfer_id, transaction_id, amount, userid)
        SELECT $2, r.deposit_sequence, t.id, $5, $3, $6 FROM r, t),
      q AS (
        INSERT INTO requests (sender, counter, body_hash, result, fee, transfer_id, created_at)
        SELECT $1, $7, $8, 'success', $4, t.id, $10 FROM t)
      SELECT t.id, r.deposit_sequence FROM t, r`,
  },
  // One statement for a getDeposits answer: the deposits it carries and, unless it waits ($5
  // false and none found), the acknowledgement raised and the fee moved (debit, fee shard, journal).
  // The outer join gives one row even when no deposit is found, to carry `updated` (the holder's
  // row: 1 or 0).
  deliver: {
    name: 'lcp_deliver',
    text: `WITH found AS (
        SELECT sequence, transaction_id, amount, userid FROM deposits
        WHERE recipient = $1 AND sequence > $2 ORDER BY sequence LIMIT $3),
      answer AS (
        SELECT CASE WHEN $4::boolean THEN coalesce(max(sequence), $2) ELSE $2 END AS up_to
        FROM found HAVING $5::boolean OR count(*) > 0),
      a AS (
        UPDATE accounts SET acknowledged = greatest(acknowledged, answer.up_to), balance = balance - $6
        FROM answer WHERE id = $1 AND (acknowledged < answer.up_to OR $6::bigint > 0) RETURNING id),
      f AS (
        UPDATE fee_shards SET balance = balance + $6 WHERE shard = $8 AND $6::bigint > 0 AND EXISTS (SELECT 1 FROM a)),
      j AS (
        INSERT INTO transfers (sender, recipient, amount, fee, resumed, created_at)
        SELECT $1, '${FEE_ACCOUNT}', $6, 0, false, $7 FROM a WHERE $6::bigint > 0)
      SELECT found.*, (SELECT count(*) FROM a) AS updated FROM (SELECT) AS one LEFT JOIN found ON true
      ORDER BY found.sequence`,
  },
};

const str = (value: bigint): string => value.toString();

/** The fee account's state: its row plus the fee shards, which hold what it was credited. */
function feeAccountState(row: StoredAccountRow | undefined, shards: bigint): AccountState | undefined {
  const base = row ?? EMPTY_ACCOUNT_ROW;
  return accountState({ ...base, balance: base.balance + shards });
}

/** One work's view of its transaction; unusable once the work has returned. */
class PostgresTx implements LedgerTx {
  #live = true;
  /**
   * Rows this transaction locked, shared by the works of a batch: no other transaction can
   * change them until COMMIT, so a row stays valid until a work here writes it.
   */
  readonly #locked: Map<string, AccountRow>;
  /** Recipients of deposits written here: announced after COMMIT. */
  readonly deposited = new Set<string>();

  constructor(
    private readonly client: pg.PoolClient,
    private readonly now: () => number,
    private readonly shard: () => number,
    locked: Map<string, AccountRow>,
  ) {
    this.#locked = locked;
  }

  end(): void {
    this.#live = false;
  }

  #use(): pg.PoolClient {
    if (!this.#live) throw new Error('this transaction is over: use tx only inside its work');
    return this.client;
  }

  async lock(ids: readonly string[]): Promise<void> {
    const unique = [...new Set(ids)].filter((id) => id !== FEE_ACCOUNT && !this.#locked.has(id)).sort();
    if (unique.length === 0) return;
    const client = this.#use();
    const { rows } = await client.query<AccountRow>({ ...SQL.lock, values: [unique] });
    for (const row of rows) this.#locked.set(row.id, row);
    // An account that does not exist yet has no row to lock: two works would both see it
    // missing (say, the treasury's first mints). Its id's advisory lock stands in for the row
    // lock; then the row is read (and locked) again, as another work may have made it meanwhile.
    const missing = unique.filter((id) => !this.#locked.has(id));
    if (missing.length === 0) return;
    await client.query({ ...SQL.lockMissing, values: [missing] });
    const again = await client.query<AccountRow>({ ...SQL.lock, values: [missing] });
    for (const row of again.rows) this.#locked.set(row.id, row);
  }

  #wrote(...ids: string[]): void {
    for (const id of ids) this.#locked.delete(id);
  }

  async account(id: string): Promise<AccountState | undefined> {
    const client = this.#use();
    let row = this.#locked.get(id);
    if (!row) row = (await client.query<AccountRow>({ ...SQL.account, values: [id] })).rows[0];
    if (id !== FEE_ACCOUNT) return accountState(row);
    return feeAccountState(row, (await client.query<{ total: bigint }>(SQL.feeShards)).rows[0]?.total ?? 0n);
  }

  async findRequest(sender: string, counter: bigint): Promise<StoredRequest | undefined> {
    const { rows } = await this.#use().query<{ body_hash: string; result: TransferResult; fee: bigint }>({
      ...SQL.findRequest,
      values: [sender, str(counter)],
    });
    const row = rows[0];
    return row && { bodyHash: row.body_hash, result: row.result, fee: row.fee };
  }

  async recordRequest(sender: string, counter: bigint, stored: StoredRequest): Promise<void> {
    const client = this.#use();
    const at = this.now();
    this.#wrote(sender);
    await client.query({ ...SQL.ensureAccount, values: [sender, at] });
    const { rowCount } = await client.query({
      ...SQL.recordRequest,
      values: [sender, str(counter), stored.bodyHash, stored.result, str(stored.fee), at],
    });
    if (rowCount !== 1) throw new ConflictError(`counter ${counter} is not above the last counter of ${sender}`);
  }

  async recordTransfer(t: NewTransfer): Promise<{ transferId: bigint; sequence: bigint }> {
    const client = this.#use();
    const at = this.now();
    const senderKnown = this.#locked.has(t.sender);
    this.#wrote(t.sender, t.recipient);
    // the treasury's first mint: its row must exist before it is debited
    if (!senderKnown) await client.query({ ...SQL.ensureAccount, values: [t.sender, at] });
    const { rows } = await client.query<{ id: bigint; deposit_sequence: bigint }>({
      ...SQL.transfer,
      values: [
        t.sender, t.recipient, str(t.amount), str(t.fee), t.transactionId, t.userid ?? null,
        str(t.counter), t.bodyHash, t.resumed, at, this.shard(),
      ],
    });
    const row = rows[0];
    if (!row) throw new ConflictError(`counter ${t.counter} is not above the last counter of ${t.sender}`);
    this.deposited.add(t.recipient);
    return { transferId: row.id, sequence: row.deposit_sequence };
  }

  async deliverDeposits(holder: string, d: Delivery): Promise<Array<Deposit & { sequence: bigint }>> {
    const { rows } = await this.#use().query<DeliveredRow>({
      ...SQL.deliver,
      values: [holder, str(d.after), d.limit, d.acknowledgeDelivered, d.answerEmpty, str(d.fee), this.now(), this.shard()],
    });
    const written = (rows[0]?.updated ?? 0n) > 0n; // the acknowledgement, the fee or both
    if (written) this.#wrote(holder);
    const deposits = rows.flatMap((row) => (row.sequence === null ? [] : [depositOf(row)]));
    const answered = deposits.length > 0 || d.answerEmpty;
    if (answered && d.fee > 0n && !written) throw new Error(`no account ${holder} to charge`);
    return deposits;
  }
}

async function readDurability(client: pg.ClientBase): Promise<Durability> {
  const { rows } = await client.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'full_page_writes')`,
  );
  const get = (name: string): string => rows.find((row) => row.name === name)?.setting ?? 'unknown';
  const synchronousCommit = get('synchronous_commit');
  const fsync = get('fsync');
  const fullPageWrites = get('full_page_writes');
  // every value but off waits for the local WAL flush before COMMIT returns
  const durable = synchronousCommit !== 'off' && fsync === 'on' && fullPageWrites === 'on';
  return { synchronousCommit, fsync, fullPageWrites, durable };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens the store: connects, checks durability, migrates. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresLedgerStore> {
  const now = options.now ?? Date.now;
  const nodeId = options.nodeId ?? randomUUID();
  const warn = options.onWarning ?? (() => undefined);
  const notifyInTransaction = options.notifyInTransaction === true;
  const config: pg.PoolConfig = {
    connectionString: options.connectionString,
    types,
    application_name: `lcp-issuer ${nodeId}`.slice(0, 63),
    // also bounds the wait for a free pooled connection: a burst queues, it is not refused
    connectionTimeoutMillis: 30_000,
  };
  const pool = new pg.Pool({ ...config, max: options.poolSize ?? 32 });
  // idle clients that lose their connection emit here; the pool replaces them
  pool.on('error', (error) => warn('an idle database connection failed', error));
  const notifier = new pg.Pool({ ...config, max: 1 });
  notifier.on('error', (error) => warn('the notifying connection failed', error));

  let durability: Durability;
  let schemaVersion: number;
  try {
    const client = await pool.connect();
    try {
      durability = await readDurability(client);
      if (!durability.durable && !options.allowNonDurable) {
        throw new NotDurableError(
          `PostgreSQL would acknowledge commits before they are on disk (synchronous_commit=${durability.synchronousCommit}, ` +
            `fsync=${durability.fsync}, full_page_writes=${durability.fullPageWrites}); ` +
            'fix the server configuration, or allow a non-durable ledger explicitly',
        );
      }
      schemaVersion = await migratePostgres(client);
      await client.query({ ...SQL.ensureAccount, values: [FEE_ACCOUNT, now()] });
    } finally {
      client.release();
    }
  } catch (error) {
    await Promise.allSettled([pool.end(), notifier.end()]);
    throw error;
  }

  const stats = { commits: 0, batchedWorks: 0, largestBatch: 0, batchesRedone: 0, retries: 0, deadlocks: 0, notifications: 0, notifiedDeposits: 0, received: 0, listens: 0 };
  let closed = false;
  let shardCursor = Math.floor(Math.random() * FEE_SHARDS);
  const nextShard = (): number => (shardCursor = (shardCursor + 1) % FEE_SHARDS);
  const listeners = new Set<DepositListener>();
  const inFlight = new Set<Promise<unknown>>();

  // ---- notifications out: batched, after COMMIT, never inside a transfer's transaction ----
  const toAnnounce = new Set<string>();
  let announceAll = false;
  let flushing = false;
  let flushTimer: NodeJS.Timeout | undefined;

  function announce(recipients: Iterable<string>): void {
    for (const recipient of recipients) toAnnounce.add(recipient);
    if (toAnnounce.size > MAX_PENDING_NOTIFY) {
      toAnnounce.clear();
      announceAll = true;
    }
    scheduleFlush(0);
  }

  function scheduleFlush(delayMs: number): void {
    if (flushing || flushTimer || closed) return;
    if (delayMs === 0) {
      flushing = true;
      setImmediate(() => void flush());
    } else {
      flushTimer = setTimeout(() => {
        flushTimer = undefined;
        scheduleFlush(0);
      }, delayMs);
    }
  }

  async function flush(): Promise<void> {
    const ids = [...toAnnounce];
    const all = announceAll;
    toAnnounce.clear();
    announceAll = false;
    const payloads: string[] = all ? [`${nodeId} *`] : [];
    for (let i = 0; i < ids.length; i += IDS_PER_NOTIFY) payloads.push(`${nodeId} ${ids.slice(i, i + IDS_PER_NOTIFY).join(',')}`);
    let failed = false;
    try {
      if (payloads.length > 0) {
        // One statement, one tiny transaction: the notification queue lock is taken once per
        // batch. It needs no durable commit (a lost notification is made good by the waiters'
        // re-query), so it does not wait for a WAL flush.
        await notifier.query(
          `SELECT pg_notify($1, p) FROM set_config('synchronous_commit', 'off', true) AS c, unnest($2::text[]) AS p`,
          [CHANNEL, payloads],
        );
        stats.notifications += payloads.length;
        stats.notifiedDeposits += ids.length;
      }
    } catch (error) {
      failed = true;
      if (!closed) {
        warn('could not notify the other nodes; will retry', error);
        if (all) announceAll = true;
        for (const id of ids) toAnnounce.add(id);
      }
    } finally {
      flushing = false;
    }
    if (toAnnounce.size > 0 || announceAll) scheduleFlush(failed ? 200 : 0);
  }

  // ---- notifications in: one LISTEN connection, re-established when it drops ----
  let listener: pg.Client | undefined;
  let listening = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  const firstBackoff = options.listenRetryMs ?? 100;
  let backoff = firstBackoff;

  const wake = (recipients: readonly string[] | 'all'): void => {
    for (const listen of listeners) listen(recipients);
  };

  function dropListener(client: pg.Client, error?: unknown): void {
    if (listener !== client) return;
    listener = undefined;
    listening = false;
    void client.end().catch(() => undefined);
    if (closed) return;
    warn('the notification connection was lost; reconnecting', error);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void listen();
    }, backoff);
    backoff = Math.min(backoff * 2, Math.max(2000, firstBackoff));
  }

  async function listen(): Promise<void> {
    if (closed) return;
    const client = new pg.Client(config);
    listener = client;
    client.on('error', (error) => dropListener(client, error));
    client.on('end', () => dropListener(client));
    client.on('notification', (message) => {
      const payload = message.payload ?? '';
      const space = payload.indexOf(' ');
      if (space < 0 || payload.slice(0, space) === nodeId) return;
      stats.received += 1;
      const body = payload.slice(space + 1);
      wake(body === '*' ? 'all' : body.split(','));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      dropListener(client, error);
      return;
    }
    if (listener !== client) return;
    listening = true;
    backoff = firstBackoff;
    stats.listens += 1;
    // Deposits committed while no notification could arrive: every waiter queries again.
    if (stats.listens > 1) wake('all');
  }
  await listen();

  // ---- transactions ----
  /** Runs `works` in one transaction, every account any of them may write locked first, in id order. */
  async function attempt(works: readonly Work[], shard: number): Promise<{ values: unknown[]; deposited: Set<string> }> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw new StoreUnavailableError('the database cannot be reached', false, { cause: error });
    }
    const deposited = new Set<string>();
    let committing = false;
    let broken: unknown;
    // A connection that dies between two queries emits 'error' on the checked-out client; the
    // next query then fails, which is handled below. Without a listener it would be uncaught.
    const onError = (error: unknown): void => {
      broken = error;
    };
    client.on('error', onError);
    const locked = new Map<string, AccountRow>();
    const txOf = (): PostgresTx => new PostgresTx(client, now, () => shard, locked);
    let tx: PostgresTx | undefined;
    try {
      await client.query('BEGIN');
      if (works.length > 1) await txOf().lock(works.flatMap((w) => w.lock));
      const values: unknown[] = [];
      for (const { work, lock } of works) {
        tx = txOf();
        await tx.lock(lock); // in a batch: only rows an earlier work wrote are read again
        values.push(await work(tx));
        tx.end();
        for (const recipient of tx.deposited) deposited.add(recipient);
      }
      if (notifyInTransaction && deposited.size > 0) {
        await client.query('SELECT pg_notify($1, $2)', [CHANNEL, `${nodeId} ${[...deposited].join(',')}`]);
        stats.notifications += 1;
      }
      committing = true;
      // COMMIT of a transaction a failed statement aborted answers ROLLBACK, not an error. An
      // error answer to COMMIT means it rolled back too; only a lost connection leaves it unknown.
      const { command } = await client.query('COMMIT');
      if (command !== 'COMMIT') throw new Error(`the transaction was rolled back (COMMIT answered ${command})`);
      stats.commits += 1;
      return { values, deposited };
    } catch (error) {
      tx?.end();
      if (isGone(error)) {
        broken = error;
        // Lost during COMMIT: it may have committed. Not re-run here; the client retransmits
        // with the same counter and gets the stored answer if it did.
        throw new StoreUnavailableError(
          committing ? 'the database went away during COMMIT' : 'the database went away',
          committing,
          { cause: error },
        );
      }
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError;
      }
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken === undefined ? undefined : true); // a broken connection is discarded
    }
  }

  /** One work in its own transaction, re-run after a deadlock, a conflict or a connection lost before COMMIT. */
  async function runAlone(work: Work): Promise<unknown> {
    for (let tries = 1; ; tries += 1) {
      try {
        const { values, deposited } = await attempt([work], nextShard());
        if (deposited.size > 0 && !notifyInTransaction) announce(deposited);
        return values[0];
      } catch (error) {
        const code = (error as { code?: string }).code;
        const retry = error instanceof ConflictError || (code !== undefined && RETRY_CODES.has(code));
        const lostBeforeCommit = error instanceof StoreUnavailableError && !error.duringCommit && !closed && tries < 3;
        if (code === '40P01') stats.deadlocks += 1;
        if ((!retry && !lostBeforeCommit) || tries >= MAX_ATTEMPTS) throw error;
        stats.retries += 1;
        await sleep(Math.min(50, tries * tries) * Math.random());
      }
    }
  }

  // Group commit: works queue while `writers` batches are in flight; free writers share out
  // what is queued, up to `maxBatch` each. A batch shares one fee shard, so concurrent batches
  // never wait on each other's shard row.
  const writers = options.writers ?? DEFAULT_WRITERS;
  const maxBatch = Math.max(1, options.maxBatch ?? DEFAULT_MAX_BATCH);
  const queue: Job[] = [];
  let busyWriters = 0;
  let pumpScheduled = false;

  // setImmediate, not at once: works that arrive together (the requests read in one turn of the
  // event loop, the long-polls one notification wakes) are queued first and shared out, instead
  // of the first taking a writer alone and the rest waiting for its commit.
  function schedulePump(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(pump);
  }

  function pump(): void {
    pumpScheduled = false;
    const free = writers - busyWriters;
    if (free <= 0 || queue.length === 0) return;
    const size = Math.min(maxBatch, Math.ceil(queue.length / free));
    while (busyWriters < writers && queue.length > 0) {
      busyWriters += 1;
      void runBatch(queue.splice(0, size)).finally(() => {
        busyWriters -= 1;
        schedulePump();
      });
    }
  }

  async function runBatch(batch: Job[]): Promise<void> {
    const settle = (job: Job): Promise<void> => runAlone(job).then(job.resolve, job.reject);
    if (batch.length === 1) return settle(batch[0] as Job);
    try {
      const { values, deposited } = await attempt(batch, nextShard());
      stats.batchedWorks += batch.length;
      stats.largestBatch = Math.max(stats.largestBatch, batch.length);
      if (deposited.size > 0 && !notifyInTransaction) announce(deposited);
      batch.forEach((job, index) => job.resolve(values[index]));
    } catch (error) {
      if (error instanceof StoreUnavailableError && error.duringCommit) {
        for (const job of batch) job.reject(error);
        return;
      }
      // Nothing of the batch was committed (a work threw, a deadlock, the connection was lost
      // before COMMIT): each work runs again alone, in the batch's order, so one work's failure
      // is only its own.
      stats.batchesRedone += 1;
      for (const job of batch) await settle(job);
    }
  }

  function run<T>(work: (tx: LedgerTx) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (closed) return Promise.reject(new Error('the ledger store is closed'));
    const lock = options.lock ?? [];
    if (writers === 0) return runAlone({ work, lock }) as Promise<T>;
    return new Promise<T>((resolve, reject) => {
      queue.push({ work, lock, resolve: resolve as (value: unknown) => void, reject });
      schedulePump();
    });
  }

  function track<T>(promise: Promise<T>): Promise<T> {
    inFlight.add(promise);
    const forget = (): void => void inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  async function readQuery<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    if (closed) throw new Error('the ledger store is closed');
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (error) {
      if (isGone(error)) throw new StoreUnavailableError('the database cannot be reached', false, { cause: error });
      throw error;
    }
  }

  let closing: Promise<void> | undefined;
  return {
    schemaVersion,
    nodeId,
    durability,

    transaction(work, options) {
      return track(run(work, options));
    },

    onDeposits(listen) {
      listeners.add(listen);
      return () => void listeners.delete(listen);
    },

    async account(id) {
      const [row] = await readQuery<AccountRow>(SQL.account.text, [id]);
      if (id !== FEE_ACCOUNT) return accountState(row);
      return feeAccountState(row, (await readQuery<{ total: bigint }>(SQL.feeShards.text, []))[0]?.total ?? 0n);
    },

    async statement(account, options = {}) {
      const after = str(options.afterId ?? 0n);
      const limit = Math.min(Math.max(1, options.limit ?? DEFAULT_STATEMENT_LIMIT), MAX_STATEMENT_LIMIT);
      const rows =
        account === FEE_ACCOUNT
          ? await readQuery<JournalRow>(
              `SELECT ${JOURNAL_COLUMNS} FROM transfers t
               WHERE t.id > $1 AND (t.fee > 0 OR t.recipient = '${FEE_ACCOUNT}') ORDER BY t.id LIMIT $2`,
              [after, limit],
            )
          : await readQuery<JournalRow>(
              `SELECT ${JOURNAL_COLUMNS} FROM transfers t
               WHERE t.id > $2 AND t.id IN (
                 SELECT transfer_id FROM requests WHERE sender = $1 AND transfer_id IS NOT NULL
                 UNION ALL SELECT transfer_id FROM deposits WHERE recipient = $1
                 UNION ALL SELECT id FROM transfers WHERE sender = $1 AND recipient = '${FEE_ACCOUNT}')
               ORDER BY t.id LIMIT $3`,
              [account, after, limit],
            );
      return rows.flatMap((row) => entriesOf(row, account));
    },

    async totals(treasury): Promise<LedgerTotals> {
      // one snapshot: a single statement
      const [row] = await readQuery<{
        sum: bigint; accounts: bigint; transfers: bigint; treasury: bigint | null; fees: bigint; negative: string[] | null;
      }>(
        `SELECT
           (SELECT coalesce(sum(balance), 0) FROM accounts) + (SELECT coalesce(sum(balance), 0) FROM fee_shards) AS sum,
           (SELECT count(*) FROM accounts WHERE id <> '${FEE_ACCOUNT}') AS accounts,
           (SELECT count(*) FROM transfers WHERE recipient <> '${FEE_ACCOUNT}') AS transfers,
           (SELECT balance FROM accounts WHERE id = $1) AS treasury,
           (SELECT coalesce(sum(balance), 0) FROM accounts WHERE id = '${FEE_ACCOUNT}')
             + (SELECT coalesce(sum(balance), 0) FROM fee_shards) AS fees,
           (SELECT array_agg(id) FROM (SELECT id FROM accounts WHERE balance < 0 AND id <> $1 ORDER BY id LIMIT 1000) n) AS negative`,
        [treasury],
      );
      return {
        sum: row?.sum ?? 0n,
        accounts: Number(row?.accounts ?? 0n),
        transfers: Number(row?.transfers ?? 0n),
        treasuryBalance: row?.treasury ?? 0n,
        feeBalance: row?.fees ?? 0n,
        negativeAccounts: row?.negative ?? [],
      };
    },

    async ticketKey(epoch) {
      const rows = await readQuery<{ epoch: bigint; key: Buffer }>(
        `WITH made AS (
           INSERT INTO tls_ticket_keys (epoch, key) VALUES ($1, $3), ($2, $4) ON CONFLICT (epoch) DO NOTHING),
         pruned AS (DELETE FROM tls_ticket_keys WHERE epoch < $1::bigint - 1)
         SELECT epoch, key FROM tls_ticket_keys WHERE epoch = $1`,
        [str(epoch), str(epoch + 1n), randomBytes(48), randomBytes(48)],
      );
      // The insert and the read share a snapshot: a key made by this very statement is not
      // visible to its SELECT, so read again if it was this node that made it.
      const key = rows[0]?.key ?? (await readQuery<{ key: Buffer }>('SELECT key FROM tls_ticket_keys WHERE epoch = $1', [str(epoch)]))[0]?.key;
      if (!key || key.length !== 48) throw new Error(`no session ticket key for epoch ${epoch}`);
      return key;
    },

    async health() {
      let database = false;
      try {
        await readQuery('SELECT 1', []);
        database = true;
      } catch {
        database = false;
      }
      return { ok: database && listening, database, listening };
    },

    stats() {
      return { ...stats, listening };
    },

    close() {
      closing ??= (async () => {
        await Promise.allSettled([...inFlight]);
        // the last deposits' announcements go out before the connections close
        for (let i = 0; i < 50 && (flushing || toAnnounce.size > 0); i += 1) await sleep(10);
        closed = true;
        if (flushTimer) clearTimeout(flushTimer);
        if (reconnectTimer) clearTimeout(reconnectTimer);
        const client = listener;
        listener = undefined;
        listening = false;
        await Promise.allSettled([client?.end(), pool.end(), notifier.end()]);
      })();
      return closing;
    },
  };
}
