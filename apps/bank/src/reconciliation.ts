// Reconciliation: for every key the bank holds at every issuer, what the books say
// (customers + held + income + in-flight = minus the 'issuer' mirror) must equal the balance
// the issuer reports, once deposits the issuer has and the books have not yet booked are
// counted. Checked after every collection and payment, and on a timer.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Deposit } from '@lcp/protocol';
import type { Bank } from './bank.js';
import type { Currency } from './currencies.js';
import { nowIso } from './db.js';
import type { HolderLink } from './holder-link.js';
import { reason } from './logger.js';
import type { HolderBooks } from './ledger.js';

export type CheckStatus = 'ok' | 'mismatch' | 'unsettled' | 'unavailable' | 'unchecked';

export interface HolderCheck {
  holder: string;
  owner: 'bank' | 'customer';
  customerName?: string;
  currency: Currency;
  status: CheckStatus;
  checkedAt?: string;
  /** The balance the issuer reported at the check. */
  issuerBalance?: bigint;
  /** The books now. */
  books: HolderBooks;
  /** Deposits the issuer had that were not booked yet at the check. */
  uncredited: bigint;
  /** issuerBalance − (books + uncredited) at the check. */
  difference?: bigint;
  detail?: string;
}

export interface ReconciliationReport {
  at: string;
  /** The double-entry sum checks. */
  ledger: { balanced: boolean; problems: string[] };
  holders: HolderCheck[];
  held: number;
  unknownPayments: number;
  pendingPayments: number;
}

interface Stored {
  checked_at: string;
  status: CheckStatus;
  issuer_balance: bigint | null;
  uncredited: bigint;
  difference: bigint | null;
  detail: string | null;
}

export class Reconciler {
  readonly #bank: Bank;
  readonly #scheduled = new Map<HolderLink, { running: Promise<void>; again: boolean }>();
  #timer: NodeJS.Timeout | undefined;
  #sweep: Promise<void> | undefined;
  #stopped = false;

  constructor(bank: Bank) {
    this.#bank = bank;
  }

  /** A first sweep at once (payments left without an answer by a restart are settled), then one per interval. */
  start(intervalMs: number): void {
    const sweep = () => {
      this.#sweep ??= this.checkAll()
        .then(
          () => undefined,
          (error: unknown) => this.#bank.log.error({ err: error }, 'reconciliation failed'),
        )
        .finally(() => (this.#sweep = undefined));
    };
    setImmediate(() => {
      if (!this.#stopped) sweep();
    });
    this.#timer = setInterval(sweep, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  /** Waits for checks in progress (close). */
  async idle(): Promise<void> {
    await Promise.allSettled([this.#sweep, ...[...this.#scheduled.values()].map((s) => s.running)]);
  }

  /** A check of this key soon; checks asked for while one runs are folded into one more. */
  schedule(link: HolderLink): void {
    if (this.#stopped || link.closed) return;
    const current = this.#scheduled.get(link);
    if (current) {
      current.again = true;
      return;
    }
    const state = { running: Promise.resolve(), again: false };
    state.running = (async () => {
      do {
        state.again = false;
        await this.check(link);
      } while (state.again && !this.#stopped && !link.closed);
      this.#scheduled.delete(link);
    })();
    this.#scheduled.set(link, state);
  }

  /** Sends again what is waiting for an answer, checks every key, and runs the sum checks. */
  async checkAll(): Promise<ReconciliationReport> {
    const bank = this.#bank;
    for (const link of bank.payments.linksWithLeftovers()) {
      await link.exclusive(() => bank.payments.settleLeftovers(link)).catch((error: unknown) => {
        bank.log.warn({ reason: reason(error), issuer: link.currency.wsdl }, 'pending payment still without an answer');
      });
    }
    await Promise.all(bank.allLinks().map((link) => this.check(link)));
    const report = this.report();
    if (!report.ledger.balanced) bank.log.error({ problems: report.ledger.problems }, 'the books do not add up');
    return report;
  }

  async check(link: HolderLink): Promise<HolderCheck | undefined> {
    const bank = this.#bank;
    if (this.#stopped || link.closed) return undefined;
    const once = () =>
      link.exclusive(async () => {
        const collector = await link.collector();
        // acknowledge 0 acknowledges nothing: a pure look at the balance and the deposits not yet acknowledged
        const view = await collector.getDeposits({ millisecondsWait: 0, acknowledge: 0n });
        const inbox = await collector.inbox();
        return this.#compare(link, view.balance, [...view.deposits, ...inbox], view.deposits.length);
      });
    let result: HolderCheck;
    try {
      result = await once();
      // a long-poll answered in between may have booked a fee this view did not see yet
      if (result.status === 'mismatch') {
        await sleep(200);
        if (this.#stopped || link.closed) return undefined;
        result = await once();
      }
    } catch (error) {
      if (this.#stopped || link.closed || bank.closed) return undefined;
      bank.log.warn({ reason: reason(error), issuer: link.currency.wsdl }, 'reconciliation: issuer unavailable');
      result = { ...this.#base(link), status: 'unavailable', checkedAt: nowIso(), uncredited: 0n, detail: 'the issuer could not be asked' };
    }
    if (this.#stopped || bank.closed) return result;
    bank.db
      .prepare(
        `INSERT INTO reconciliations (holder, currency_id, checked_at, status, issuer_balance, books, uncredited, difference, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (holder, currency_id) DO UPDATE SET checked_at = excluded.checked_at, status = excluded.status,
           issuer_balance = excluded.issuer_balance, books = excluded.books, uncredited = excluded.uncredited,
           difference = excluded.difference, detail = excluded.detail`,
      )
      .run(link.entityId, link.currency.id, result.checkedAt ?? nowIso(), result.status, result.issuerBalance ?? null, -result.books.issuer, result.uncredited, result.difference ?? null, result.detail ?? null);
    if (result.status === 'mismatch') bank.log.error({ issuer: link.currency.wsdl, holder: link.entityId, difference: String(result.difference) }, 'reconciliation mismatch');
    return result;
  }

  #base(link: HolderLink): Omit<HolderCheck, 'status' | 'uncredited'> {
    const customer = link.owner.customerId === undefined ? undefined : this.#bank.customers.byId(link.owner.customerId);
    return {
      holder: link.entityId,
      owner: link.owner.kind,
      ...(customer ? { customerName: customer.name } : {}),
      currency: link.currency,
      books: this.#bank.ledger.books(link.entityId, link.currency.id),
    };
  }

  /** Synchronous, so the books and the booked deposits are read at one instant. */
  #compare(link: HolderLink, issuerBalance: bigint, deposits: Deposit[], delivered: number): HolderCheck {
    const bank = this.#bank;
    const amounts = new Map<bigint, bigint>();
    for (const d of deposits) if (d.sequence !== undefined) amounts.set(d.sequence, d.amount);
    const booked = bank.db.prepare('SELECT 1 FROM payments WHERE holder = ? AND currency_id = ? AND sequence = ?');
    let uncredited = 0n;
    for (const [sequence, amount] of amounts) if (!booked.get(link.entityId, link.currency.id, sequence)) uncredited += amount;
    const base = this.#base(link);
    const difference = issuerBalance - (-base.books.issuer + uncredited);
    const unsettled = (
      bank.db
        .prepare("SELECT COUNT(*) AS n FROM payments WHERE holder = ? AND currency_id = ? AND status IN ('sending', 'unknown')")
        .get(link.entityId, link.currency.id) as { n: bigint }
    ).n;
    let status: CheckStatus = 'ok';
    let detail: string | undefined;
    if (difference !== 0n) {
      if (unsettled > 0n) [status, detail] = ['unsettled', `${unsettled} payment(s) without a known outcome`];
      else if (delivered >= 1000) [status, detail] = ['unsettled', 'more deposits are waiting than one answer carries'];
      else [status, detail] = ['mismatch', 'the issuer\u2019s balance differs from the books'];
    }
    return { ...base, status, checkedAt: nowIso(), issuerBalance, uncredited, difference, ...(detail ? { detail } : {}) };
  }

  /** The last check of every key, with the books as they are now. */
  report(): ReconciliationReport {
    const bank = this.#bank;
    const stored = bank.db.prepare('SELECT * FROM reconciliations WHERE holder = ? AND currency_id = ?');
    const holders = bank.allLinks().map((link): HolderCheck => {
      const row = stored.get(link.entityId, link.currency.id) as Stored | undefined;
      const base = this.#base(link);
      if (!row) return { ...base, status: 'unchecked', uncredited: 0n };
      return {
        ...base,
        status: row.status,
        checkedAt: row.checked_at,
        ...(row.issuer_balance !== null ? { issuerBalance: row.issuer_balance } : {}),
        uncredited: row.uncredited,
        ...(row.difference !== null ? { difference: row.difference } : {}),
        ...(row.detail ? { detail: row.detail } : {}),
      };
    });
    const count = (sql: string) => Number((bank.db.prepare(sql).get() as { n: bigint }).n);
    const problems = bank.ledger.verify();
    return {
      at: nowIso(),
      ledger: { balanced: problems.length === 0, problems },
      holders,
      held: count("SELECT COUNT(*) AS n FROM payments WHERE status = 'held'"),
      unknownPayments: count("SELECT COUNT(*) AS n FROM payments WHERE status = 'unknown'"),
      pendingPayments: count("SELECT COUNT(*) AS n FROM payments WHERE status IN ('reserved', 'sending')"),
    };
  }
}
