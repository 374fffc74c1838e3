// The bank's books: double entry in integer minor units. Every movement is a set of entries
// that sum to zero, posted inside the caller's SQLite transaction. Per holder (a key at one
// issuer) and currency, the 'issuer' account mirrors the holder's balance at the issuer with
// the opposite sign; so customers + held + income + in-flight = the balance at the issuer.
import type { Db } from './db.js';
import { nowIso } from './db.js';

export type AccountKind = 'issuer' | 'customer' | 'held' | 'income' | 'in-flight';

export interface AccountRef {
  currencyId: bigint;
  /** The entity id of the key at the issuer: the bank's own, or a transparent customer's. */
  holder: string;
  kind: AccountKind;
  customerId?: bigint;
}

export interface MovementInfo {
  currencyId: bigint;
  holder: string;
  kind: string;
  paymentId?: bigint;
  memo?: string;
}

/** A posting would break the books: a bug, never an expected outcome. */
export class LedgerError extends Error {
  override name = 'LedgerError';
}

const NEVER_NEGATIVE: readonly AccountKind[] = ['customer', 'held', 'in-flight'];

const keyOf = (ref: AccountRef): string => `${ref.currencyId}:${ref.holder}:${ref.kind}:${ref.customerId ?? ''}`;

export interface HolderBooks {
  issuer: bigint;
  customer: bigint;
  held: bigint;
  income: bigint;
  inFlight: bigint;
}

export class Ledger {
  readonly #db: Db;
  readonly #find;
  readonly #create;
  readonly #update;
  readonly #movement;
  readonly #entry;

  constructor(db: Db) {
    this.#db = db;
    this.#find = db.prepare('SELECT id, balance FROM accounts WHERE key = ?');
    this.#create = db.prepare(
      'INSERT INTO accounts (key, currency_id, holder, kind, customer_id) VALUES (?, ?, ?, ?, ?) RETURNING id, balance',
    );
    this.#update = db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ? RETURNING balance');
    this.#movement = db.prepare(
      'INSERT INTO movements (currency_id, holder, kind, payment_id, at, memo) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
    );
    this.#entry = db.prepare('INSERT INTO entries (movement_id, account_id, amount) VALUES (?, ?, ?)');
  }

  #account(ref: AccountRef): { id: bigint; balance: bigint } {
    const key = keyOf(ref);
    const found = this.#find.get(key) as { id: bigint; balance: bigint } | undefined;
    return found ?? (this.#create.get(key, ref.currencyId, ref.holder, ref.kind, ref.customerId ?? null) as { id: bigint; balance: bigint });
  }

  balance(ref: AccountRef): bigint {
    const found = this.#find.get(keyOf(ref)) as { balance: bigint } | undefined;
    return found?.balance ?? 0n;
  }

  /**
   * Posts one movement. Must run inside a transaction: the entries must sum to zero and no
   * customer, held or in-flight account may end below zero (unless `allowNegative` names it).
   */
  post(info: MovementInfo, entries: readonly (readonly [AccountRef, bigint])[], allowNegative: readonly AccountKind[] = []): bigint {
    if (!this.#db.inTransaction) throw new LedgerError('post() must run inside a transaction');
    const sum = entries.reduce((total, [, amount]) => total + amount, 0n);
    if (sum !== 0n) throw new LedgerError(`movement ${info.kind} does not balance: sum ${sum}`);
    const movement = (this.#movement.get(info.currencyId, info.holder, info.kind, info.paymentId ?? null, nowIso(), info.memo ?? null) as { id: bigint }).id;
    for (const [ref, amount] of entries) {
      if (amount === 0n) continue;
      if (ref.currencyId !== info.currencyId || ref.holder !== info.holder) throw new LedgerError('a movement stays within one holder and currency');
      const account = this.#account(ref);
      const { balance } = this.#update.get(amount, account.id) as { balance: bigint };
      if (balance < 0n && NEVER_NEGATIVE.includes(ref.kind) && !allowNegative.includes(ref.kind)) {
        throw new LedgerError(`movement ${info.kind} would take a ${ref.kind} account below zero`);
      }
      this.#entry.run(movement, account.id, amount);
    }
    return movement;
  }

  /** Per-kind totals of one holder's accounts in one currency. */
  books(holder: string, currencyId: bigint): HolderBooks {
    const rows = this.#db
      .prepare('SELECT kind, SUM(balance) AS total FROM accounts WHERE holder = ? AND currency_id = ? GROUP BY kind')
      .all(holder, currencyId) as { kind: AccountKind; total: bigint }[];
    const get = (kind: AccountKind) => rows.find((r) => r.kind === kind)?.total ?? 0n;
    return { issuer: get('issuer'), customer: get('customer'), held: get('held'), income: get('income'), inFlight: get('in-flight') };
  }

  /** The sum checks: every movement, holder and account adds up. Empty when the books are sound. */
  verify(): string[] {
    const problems: string[] = [];
    const total = (this.#db.prepare('SELECT COALESCE(SUM(amount), 0) AS s FROM entries').get() as { s: bigint }).s;
    if (total !== 0n) problems.push(`entries sum to ${total}, not 0`);
    const movements = this.#db
      .prepare('SELECT movement_id AS id, SUM(amount) AS s FROM entries GROUP BY movement_id HAVING s != 0 LIMIT 5')
      .all() as { id: bigint; s: bigint }[];
    for (const m of movements) problems.push(`movement ${m.id} sums to ${m.s}`);
    const drift = this.#db
      .prepare(
        `SELECT a.id, a.balance, COALESCE(SUM(e.amount), 0) AS s FROM accounts a LEFT JOIN entries e ON e.account_id = a.id
         GROUP BY a.id HAVING a.balance != s LIMIT 5`,
      )
      .all() as { id: bigint; balance: bigint; s: bigint }[];
    for (const d of drift) problems.push(`account ${d.id} shows ${d.balance} but its entries sum to ${d.s}`);
    const holders = this.#db
      .prepare('SELECT holder, currency_id, SUM(balance) AS s FROM accounts GROUP BY holder, currency_id HAVING s != 0 LIMIT 5')
      .all() as { holder: string; currency_id: bigint; s: bigint }[];
    for (const h of holders) problems.push(`holder ${h.holder.slice(0, 12)}… in currency ${h.currency_id} sums to ${h.s}`);
    return problems;
  }
}
