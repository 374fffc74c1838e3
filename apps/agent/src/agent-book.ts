// The agent's own records in SQLite (WAL, synchronous=FULL): every payment an application asked
// for, with its state, so daily limits hold across restarts and a repeated request is answered
// instead of paid twice; and every deposit taken from an issuer, so asking again finds it.
import Database from 'better-sqlite3';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS payments (
  currency TEXT NOT NULL, transaction_id TEXT NOT NULL, recipient TEXT NOT NULL, userid TEXT NOT NULL,
  application TEXT NOT NULL, amount INTEGER NOT NULL, day TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('sending', 'paid', 'unknown', 'failed')),
  result TEXT, fee INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (currency, transaction_id, recipient, userid));
CREATE INDEX IF NOT EXISTS payments_by_day ON payments (application, currency, day);
CREATE TABLE IF NOT EXISTS deposits (
  currency TEXT NOT NULL, transaction_id TEXT NOT NULL, amount INTEGER NOT NULL, userid TEXT,
  received_at INTEGER NOT NULL, PRIMARY KEY (currency, transaction_id));
`;

export interface PaymentOrder {
  application: string;
  currency: string;
  transactionId: string;
  recipient: string;
  userid?: string;
  amount: bigint;
}

export type PaymentStatus = 'sending' | 'paid' | 'unknown' | 'failed';

interface PaymentRow {
  application: string;
  amount: bigint;
  status: PaymentStatus;
  result: string | null;
  fee: bigint | null;
}

export type Reservation =
  | { reserved: true }
  | { reserved: false; reason: 'dailyLimitExceeded'; spent: bigint }
  | { reserved: false; reason: 'transactionIdReused' | 'paymentInProgress' }
  | { reserved: false; reason: 'alreadyPaid'; result: string; fee: bigint };

export interface StoredDeposit {
  transactionId: string;
  amount: bigint;
  userid?: string;
  receivedAt: number;
}

/** Payments that count against a limit: sent, being sent, or sent without a known outcome. */
const COUNTING = "status IN ('sending', 'paid', 'unknown')";

export class AgentBook {
  readonly #db: Database.Database;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.defaultSafeIntegers(true);
    this.#db.exec(SCHEMA);
  }

  close(): void {
    this.#db.close();
  }

  spent(application: string, currency: string, day: string): bigint {
    const row = this.#db
      .prepare(`SELECT COALESCE(SUM(amount), 0) AS spent FROM payments WHERE application = ? AND currency = ? AND day = ? AND ${COUNTING}`)
      .get(application, currency, day) as { spent: bigint };
    return row.spent;
  }

  /**
   * Checks the daily limit and records the payment as being sent, in one transaction: two
   * concurrent requests can never both fit under the limit with only room for one.
   * A failed earlier attempt with the same order may be tried again; an unknown one is
   * retried (the issuer client settles it with its original counter, never twice).
   */
  reserve(order: PaymentOrder, perDay: bigint, day: string, now: number): Reservation {
    return this.#db
      .transaction((): Reservation => {
        const existing = this.#db
          .prepare('SELECT application, amount, status, result, fee FROM payments WHERE currency = ? AND transaction_id = ? AND recipient = ? AND userid = ?')
          .get(order.currency, order.transactionId, order.recipient, order.userid ?? '') as PaymentRow | undefined;
        if (existing && existing.status !== 'failed') {
          if (existing.amount !== order.amount || existing.application !== order.application) return { reserved: false, reason: 'transactionIdReused' };
          if (existing.status === 'sending') return { reserved: false, reason: 'paymentInProgress' };
          if (existing.status === 'paid') return { reserved: false, reason: 'alreadyPaid', result: existing.result ?? 'success', fee: existing.fee ?? 0n };
          // 'unknown': already counted against the limit; send it again
          this.#setStatus(order, 'sending', now);
          return { reserved: true };
        }
        const spent = this.spent(order.application, order.currency, day);
        if (spent + order.amount > perDay) return { reserved: false, reason: 'dailyLimitExceeded', spent };
        this.#db
          .prepare(
            `INSERT INTO payments (currency, transaction_id, recipient, userid, application, amount, day, status, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'sending', ?, ?)
             ON CONFLICT DO UPDATE SET application = excluded.application, amount = excluded.amount, day = excluded.day,
               status = 'sending', result = NULL, fee = NULL, updated_at = excluded.updated_at`,
          )
          .run(order.currency, order.transactionId, order.recipient, order.userid ?? '', order.application, order.amount, day, now, now);
        return { reserved: true };
      })
      .immediate();
  }

  /** The issuer answered: 'success' is paid; any other result paid nothing and frees the reservation. */
  settle(order: PaymentOrder, result: string, fee: bigint, now: number): void {
    this.#db
      .prepare('UPDATE payments SET status = ?, result = ?, fee = ?, updated_at = ? WHERE currency = ? AND transaction_id = ? AND recipient = ? AND userid = ?')
      .run(result === 'success' ? 'paid' : 'failed', result, fee, now, order.currency, order.transactionId, order.recipient, order.userid ?? '');
  }

  /** Nothing was paid (refused, or never sent): frees the reservation. */
  release(order: PaymentOrder, now: number): void {
    this.#setStatus(order, 'failed', now);
  }

  /** No answer: the transfer may or may not have happened; it keeps counting against the limit. */
  markUnknown(order: PaymentOrder, now: number): void {
    this.#setStatus(order, 'unknown', now);
  }

  #setStatus(order: PaymentOrder, status: PaymentStatus, now: number): void {
    this.#db
      .prepare('UPDATE payments SET status = ?, updated_at = ? WHERE currency = ? AND transaction_id = ? AND recipient = ? AND userid = ?')
      .run(status, now, order.currency, order.transactionId, order.recipient, order.userid ?? '');
  }

  deposit(currency: string, transactionId: string): StoredDeposit | undefined {
    const row = this.#db
      .prepare('SELECT amount, userid, received_at FROM deposits WHERE currency = ? AND transaction_id = ?')
      .get(currency, transactionId) as { amount: bigint; userid: string | null; received_at: bigint } | undefined;
    return (
      row && {
        transactionId,
        amount: row.amount,
        ...(row.userid ? { userid: row.userid } : {}),
        receivedAt: Number(row.received_at),
      }
    );
  }

  saveDeposit(currency: string, deposit: StoredDeposit): StoredDeposit {
    this.#db
      .prepare('INSERT OR IGNORE INTO deposits (currency, transaction_id, amount, userid, received_at) VALUES (?, ?, ?, ?, ?)')
      .run(currency, deposit.transactionId, deposit.amount, deposit.userid ?? null, deposit.receivedAt);
    return this.deposit(currency, deposit.transactionId) ?? deposit;
  }
}
