// The gateway's records in SQLite (WAL, synchronous=FULL): every postage quote (bound to one
// message: sender, recipients, Message-ID) and whether it passed a message; every deposit taken
// from an issuer (by its sequence, so a restart never counts one twice); refunds; and what each
// recipient told the gateway about its correspondents and the mail it sent.
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { WriteAnswer, WriteOp, WriteRequest } from './book-writer.js';

/** The writer runs from dist/ (the tests run src/ through vitest, which cannot start a .ts worker). */
function writerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../dist/book-writer.js', here) : new URL('./book-writer.js', here);
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS quotes (
  ref TEXT PRIMARY KEY, binding TEXT NOT NULL, sender TEXT NOT NULL, recipients TEXT NOT NULL,
  message_id TEXT NOT NULL, prices TEXT NOT NULL, shares TEXT NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('quoted', 'delivered')),
  paid_currency TEXT, paid_amount INTEGER, refund_to TEXT, delivered_at INTEGER,
  payee TEXT, swept_at INTEGER, sweep_result TEXT, relaying_at INTEGER);
CREATE INDEX IF NOT EXISTS quotes_by_binding ON quotes (binding, state, expires_at);
CREATE TABLE IF NOT EXISTS deposits (
  currency TEXT NOT NULL, sequence INTEGER NOT NULL, transaction_id TEXT NOT NULL, amount INTEGER NOT NULL,
  received_at INTEGER NOT NULL, PRIMARY KEY (currency, sequence));
CREATE INDEX IF NOT EXISTS deposits_by_transaction ON deposits (currency, transaction_id);
CREATE TABLE IF NOT EXISTS refunds (
  ref TEXT NOT NULL, recipient TEXT NOT NULL, currency TEXT NOT NULL, amount INTEGER NOT NULL, refund_to TEXT NOT NULL,
  transaction_id TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('sending', 'paid', 'failed', 'unknown')), result TEXT,
  created_at INTEGER NOT NULL, attempt INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (ref, recipient));
CREATE TABLE IF NOT EXISTS acknowledged (currency TEXT PRIMARY KEY, sequence INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS correspondents (owner TEXT NOT NULL, address TEXT NOT NULL, PRIMARY KEY (owner, address));
CREATE TABLE IF NOT EXISTS sent_messages (owner TEXT NOT NULL, message_id TEXT NOT NULL, PRIMARY KEY (owner, message_id));
`;

/** Books made before bank payees and the sweep: the columns and the refund state they lack. */
function migrate(db: Database.Database): void {
  const columns = new Set((db.prepare('PRAGMA table_info(quotes)').all() as { name: string }[]).map((c) => c.name));
  for (const [name, type] of [['payee', 'TEXT'], ['swept_at', 'INTEGER'], ['sweep_result', 'TEXT'], ['relaying_at', 'INTEGER']] as const) {
    if (!columns.has(name)) db.exec(`ALTER TABLE quotes ADD COLUMN ${name} ${type}`);
  }
  db.exec('CREATE INDEX IF NOT EXISTS quotes_to_sweep ON quotes (state, swept_at, expires_at)');
  const refundColumns = new Set((db.prepare('PRAGMA table_info(refunds)').all() as { name: string }[]).map((c) => c.name));
  if (!refundColumns.has('attempt')) db.exec('ALTER TABLE refunds ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1');
  const refunds = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'refunds'").get() as { sql: string } | undefined;
  if (refunds && !refunds.sql.includes("'unknown'")) {
    db.transaction(() => {
      db.exec(refunds.sql.replace(/^CREATE TABLE (IF NOT EXISTS )?"?refunds"?/, 'CREATE TABLE refunds_new').replace("'failed')", "'failed', 'unknown')"));
      db.exec('INSERT INTO refunds_new SELECT * FROM refunds; DROP TABLE refunds; ALTER TABLE refunds_new RENAME TO refunds');
    })();
  }
}

export interface Quote {
  ref: string;
  binding: string;
  sender: string;
  recipients: string[];
  messageId: string;
  /** Total postage by currency WSDL URL, minor units. */
  prices: Record<string, bigint>;
  /** Each paying recipient's share, by currency. */
  shares: Record<string, Record<string, bigint>>;
  createdAt: number;
  expiresAt: number;
  state: 'quoted' | 'delivered';
  paidCurrency?: string;
  paidAmount?: bigint;
  refundTo?: string;
  deliveredAt?: number;
  /** A bank customer's payment name the postage is paid to; absent: the gateway's key. */
  payee?: string;
  /** When the sweep settled this expired quote (refunded, or found unpaid). */
  sweptAt?: number;
  sweepResult?: string;
  /**
   * When its paid message was about to be handed to the MTA (written before the relay): it may
   * have been delivered even if "delivered" was never written, so the sweep leaves it alone.
   */
  relayingAt?: number;
}

interface QuoteRow {
  ref: string;
  binding: string;
  sender: string;
  recipients: string;
  message_id: string;
  prices: string;
  shares: string;
  created_at: bigint;
  expires_at: bigint;
  state: 'quoted' | 'delivered';
  paid_currency: string | null;
  paid_amount: bigint | null;
  refund_to: string | null;
  delivered_at: bigint | null;
  payee: string | null;
  swept_at: bigint | null;
  sweep_result: string | null;
  relaying_at: bigint | null;
}

const amountsToJson = (m: Record<string, bigint>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toString()]));
const amountsFromJson = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, BigInt(v)]));

function toQuote(row: QuoteRow): Quote {
  const shares = JSON.parse(row.shares) as Record<string, Record<string, string>>;
  return {
    ref: row.ref,
    binding: row.binding,
    sender: row.sender,
    recipients: JSON.parse(row.recipients) as string[],
    messageId: row.message_id,
    prices: amountsFromJson(JSON.parse(row.prices) as Record<string, string>),
    shares: Object.fromEntries(Object.entries(shares).map(([r, s]) => [r, amountsFromJson(s)])),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    state: row.state,
    ...(row.paid_currency ? { paidCurrency: row.paid_currency } : {}),
    ...(row.paid_amount !== null ? { paidAmount: row.paid_amount } : {}),
    ...(row.refund_to ? { refundTo: row.refund_to } : {}),
    ...(row.delivered_at !== null ? { deliveredAt: Number(row.delivered_at) } : {}),
    ...(row.payee ? { payee: row.payee } : {}),
    ...(row.swept_at !== null ? { sweptAt: Number(row.swept_at) } : {}),
    ...(row.sweep_result ? { sweepResult: row.sweep_result } : {}),
    ...(row.relaying_at !== null ? { relayingAt: Number(row.relaying_at) } : {}),
  };
}

export interface RefundRow {
  ref: string;
  /** The recipient whose share goes back, or `expired:<currency>` for postage of a quote never used. */
  recipient: string;
  currency: string;
  amount: bigint;
  refundTo: string;
  transactionId: string;
  /** unknown: sent before a crash, with no way to tell whether it was paid; never sent again automatically. */
  state: 'sending' | 'paid' | 'failed' | 'unknown';
  result?: string;
  /** 1, then one more each time a failed refund is tried again (a new transfer). */
  attempt: number;
}

type RefundDbRow = {
  ref: string;
  recipient: string;
  currency: string;
  amount: bigint;
  refund_to: string;
  transaction_id: string;
  state: RefundRow['state'];
  result: string | null;
  attempt: bigint;
};

const toRefund = (row: RefundDbRow): RefundRow => ({
  ref: row.ref,
  recipient: row.recipient,
  currency: row.currency,
  amount: row.amount,
  refundTo: row.refund_to,
  transactionId: row.transaction_id,
  state: row.state,
  ...(row.result ? { result: row.result } : {}),
  attempt: Number(row.attempt),
});

export class PostageBook {
  readonly #db: Database.Database;
  readonly #quoteByRef: Database.Statement;
  readonly #paidAmount: Database.Statement;
  /** Writes on the SMTP path go to a worker thread that commits them in groups (book-writer.ts). */
  readonly #writer: Worker;
  readonly #waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Writes asked for in this turn of the event loop, posted to the worker together. */
  #outbox: WriteRequest[] = [];
  readonly #statements = new Map<string, Database.Statement>();
  #nextId = 1;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('busy_timeout = 10000');
    this.#db.defaultSafeIntegers(true);
    this.#db.exec(SCHEMA);
    migrate(this.#db);
    this.#quoteByRef = this.#sql('SELECT * FROM quotes WHERE ref = ?');
    this.#paidAmount = this.#sql('SELECT COALESCE(SUM(amount), 0) AS paid FROM deposits WHERE currency = ? AND transaction_id = ?');
    this.#writer = new Worker(writerUrl(), { workerData: { path } });
    this.#writer.on('message', (answers: WriteAnswer[]) => {
      for (const answer of answers) {
        const waiting = this.#waiting.get(answer.id);
        this.#waiting.delete(answer.id);
        if (answer.ok) waiting?.resolve(answer.value);
        else waiting?.reject(new Error(`postage book write failed: ${answer.error}`));
      }
    });
    this.#writer.on('error', (error) => {
      for (const waiting of this.#waiting.values()) waiting.reject(error);
      this.#waiting.clear();
    });
  }

  /** Waits for the writes under way, then closes the worker and the database. */
  async close(): Promise<void> {
    this.#post();
    await Promise.allSettled(this.#inFlight);
    const exited = new Promise<void>((resolve) => this.#writer.once('exit', () => resolve()));
    this.#writer.postMessage('close');
    await exited;
    this.#db.close();
  }

  #post(): void {
    const requests = this.#outbox;
    this.#outbox = [];
    if (requests.length > 0) this.#writer.postMessage(requests);
  }

  /** Prepared once: preparing costs more than most of these queries. */
  #sql(text: string): Database.Statement {
    let statement = this.#statements.get(text);
    if (!statement) {
      statement = this.#db.prepare(text);
      this.#statements.set(text, statement);
    }
    return statement;
  }

  #write<T>(write: WriteOp): Promise<T> {
    const id = this.#nextId++;
    const written = new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      if (this.#outbox.length === 0) setImmediate(() => this.#post());
      this.#outbox.push({ id, write });
    });
    this.#inFlight.add(written);
    const forget = () => void this.#inFlight.delete(written);
    written.then(forget, forget);
    return written;
  }

  quote(ref: string): Quote | undefined {
    const row = this.#quoteByRef.get(ref) as QuoteRow | undefined;
    return row && toQuote(row);
  }

  /** The open (unexpired, undelivered) quote for this message, so asking twice gives one reference. */
  openQuote(binding: string, now: number): Quote | undefined {
    const row = this.#sql("SELECT * FROM quotes WHERE binding = ? AND state = 'quoted' AND expires_at > ? ORDER BY created_at DESC LIMIT 1")
      .get(binding, now) as QuoteRow | undefined;
    return row && toQuote(row);
  }

  /** The quote that already passed this message, if any: the same message again is a duplicate. */
  deliveredQuote(binding: string): Quote | undefined {
    const row = this.#sql("SELECT * FROM quotes WHERE binding = ? AND state = 'delivered' LIMIT 1").get(binding) as QuoteRow | undefined;
    return row && toQuote(row);
  }

  /** Durable when it resolves. */
  addQuote(q: Omit<Quote, 'state' | 'sweptAt' | 'sweepResult' | 'relayingAt'>): Promise<void> {
    return this.#write({
      op: 'addQuote',
      args: [
        q.ref,
        q.binding,
        q.sender,
        JSON.stringify(q.recipients),
        q.messageId,
        JSON.stringify(amountsToJson(q.prices)),
        JSON.stringify(Object.fromEntries(Object.entries(q.shares).map(([r, s]) => [r, amountsToJson(s)]))),
        q.createdAt,
        q.expiresAt,
        q.refundTo ?? null,
        q.payee ?? null,
      ],
    });
  }

  /** Where the postage goes back (the latest X-LCP-Refund-To of a message bound to the quote); durable when it resolves. */
  setRefundTo(ref: string, refundTo: string): Promise<void> {
    return this.#write({ op: 'setRefundTo', args: [refundTo, ref] });
  }

  /**
   * Marks a paid quote as being relayed, with what paid it, before the message is handed on;
   * false if it can no longer pass a message (delivered or swept). Durable when it resolves.
   */
  markRelaying(ref: string, currency: string, amount: bigint, now: number): Promise<boolean> {
    return this.#write({ op: 'markRelaying', args: [now, currency, amount, ref] });
  }

  /** The MTA refused the message: it was not handed on, so the quote is as before the relay. */
  clearRelaying(ref: string): Promise<void> {
    return this.#write({ op: 'clearRelaying', args: [ref] });
  }

  /** Marks a quote as having passed its message; false if it already had (used once). */
  markDelivered(ref: string, currency: string, amount: bigint, refundTo: string | undefined, now: number): Promise<boolean> {
    return this.#write({ op: 'markDelivered', args: [currency, amount, refundTo ?? null, now, ref] });
  }

  /** The highest deposit sequence recorded in this currency: what the next getDeposits acknowledges. */
  acknowledged(currency: string): bigint {
    const row = this.#sql('SELECT sequence FROM acknowledged WHERE currency = ?').get(currency) as { sequence: bigint } | undefined;
    return row?.sequence ?? 0n;
  }

  /**
   * Records deposits taken from an issuer and the new acknowledgement mark, in one transaction:
   * the issuer hears of the acknowledgement only in the next request, after this commit, so a
   * crash in between means the deposits come again (and a sequence seen before is ignored).
   */
  recordDeposits(currency: string, deposits: { sequence: bigint; transactionId: string; amount: bigint }[], now: number): Promise<void> {
    if (deposits.length === 0) return Promise.resolve();
    return this.#write({ op: 'recordDeposits', currency, deposits, now });
  }

  /** What arrived with this transactionId in this currency, summed. */
  paid(currency: string, transactionId: string): bigint {
    return (this.#paidAmount.get(currency, transactionId) as { paid: bigint }).paid;
  }

  /** The latest paid messages (newest first; relayed, whether or not "delivered" was written) that had a paying recipient `mine` accepts. */
  paidMessages(mine: (recipient: string) => boolean, limit = 100): Quote[] {
    const rows = this.#sql(
      "SELECT * FROM quotes WHERE state = 'delivered' OR relaying_at IS NOT NULL ORDER BY COALESCE(delivered_at, relaying_at) DESC LIMIT 10000",
    ).all() as QuoteRow[];
    return rows
      .map(toQuote)
      .filter((q) => Object.keys(q.shares).some(mine))
      .slice(0, limit);
  }

  /** Starts a refund, durably, before any transfer: the row already there unless it had failed. */
  beginRefund(r: Omit<RefundRow, 'state' | 'result' | 'attempt'>, now: number): RefundRow & { fresh: boolean } {
    return this.#db.transaction((): RefundRow & { fresh: boolean } => {
      const existing = this.refund(r.ref, r.recipient);
      if (existing && existing.state !== 'failed') return { ...existing, fresh: false };
      // a failed refund is tried again as a new transfer (the failed one moved nothing)
      const attempt = (existing?.attempt ?? 0) + 1;
      this.#sql(
        `INSERT INTO refunds (ref, recipient, currency, amount, refund_to, transaction_id, state, created_at, attempt) VALUES (?, ?, ?, ?, ?, ?, 'sending', ?, ?)
           ON CONFLICT (ref, recipient) DO UPDATE SET state = 'sending', result = NULL, attempt = excluded.attempt, refund_to = excluded.refund_to, amount = excluded.amount`,
      ).run(r.ref, r.recipient, r.currency, r.amount, r.refundTo, r.transactionId, now, attempt);
      return { ...r, state: 'sending', attempt, fresh: true };
    })();
  }

  finishRefund(ref: string, recipient: string, state: 'paid' | 'failed' | 'unknown', result: string): void {
    this.#sql('UPDATE refunds SET state = ?, result = ? WHERE ref = ? AND recipient = ?').run(state, result, ref, recipient);
  }

  refund(ref: string, recipient: string): RefundRow | undefined {
    const row = this.#sql('SELECT * FROM refunds WHERE ref = ? AND recipient = ?').get(ref, recipient) as RefundDbRow | undefined;
    return row && toRefund(row);
  }

  refundByTransactionId(transactionId: string): RefundRow | undefined {
    const row = this.#sql('SELECT * FROM refunds WHERE transaction_id = ?').get(transactionId) as RefundDbRow | undefined;
    return row && toRefund(row);
  }

  /** Refunds whose transfer was started and not answered (by this process or one before it). */
  unsettledRefunds(): RefundRow[] {
    return (this.#sql("SELECT * FROM refunds WHERE state = 'sending' ORDER BY created_at").all() as RefundDbRow[]).map(toRefund);
  }

  /** Refunds from the gateway's key (the quote has no bank payee) in this currency whose transfer has no answer yet. */
  sendingKeyRefunds(currency: string): RefundRow[] {
    const rows = this.#sql(
      "SELECT r.* FROM refunds r JOIN quotes q ON q.ref = r.ref WHERE r.state = 'sending' AND r.currency = ? AND q.payee IS NULL",
    ).all(currency) as RefundDbRow[];
    return rows.map(toRefund);
  }

  /** Quotes never used (nor relayed) that expired before `before` and were not swept yet, oldest first. */
  expiredQuotes(before: number, limit: number): Quote[] {
    const rows = this.#sql(
      "SELECT * FROM quotes WHERE state = 'quoted' AND swept_at IS NULL AND relaying_at IS NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?",
    ).all(before, limit) as QuoteRow[];
    return rows.map(toQuote);
  }

  /** The sweep is done with this expired quote: `result` says what it found (unpaid, refunded, ...). */
  markSwept(ref: string, result: string, now: number): void {
    this.#sql("UPDATE quotes SET swept_at = ?, sweep_result = ? WHERE ref = ? AND state = 'quoted' AND relaying_at IS NULL").run(now, result, ref);
  }

  addCorrespondent(owner: string, address: string): void {
    this.#sql('INSERT OR IGNORE INTO correspondents (owner, address) VALUES (?, ?)').run(owner, address);
  }

  isCorrespondent(owner: string, address: string): boolean {
    return this.#sql('SELECT 1 FROM correspondents WHERE owner = ? AND address = ?').get(owner, address) !== undefined;
  }

  addSentMessage(owner: string, messageId: string): void {
    this.#sql('INSERT OR IGNORE INTO sent_messages (owner, message_id) VALUES (?, ?)').run(owner, messageId);
  }

  /** Whether any of these Message-IDs is one `owner` sent (the message is a reply to it). */
  sentAny(owner: string, messageIds: string[]): boolean {
    const statement = this.#sql('SELECT 1 FROM sent_messages WHERE owner = ? AND message_id = ?');
    return messageIds.some((id) => statement.get(owner, id) !== undefined);
  }
}
