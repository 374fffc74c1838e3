// Postage paid for a quote that was never used (the sender paid, then never sent the message
// with its reference before the quote expired) goes back to the sender by itself. A sweep, on a
// timer and at start, first settles refunds left without an answer (a crash, an issuer or bank
// that did not answer), then looks at quotes expired for longer than the grace period:
// - nothing paid: marked as swept ("unpaid"), nothing to do. Only once that is known, not merely
//   not heard of yet: for the gateway's key, a poll of the deposit collector that started after
//   the quote's expiry plus the grace period has completed; a bank is asked with a wait, which
//   makes it collect from the issuer first. Otherwise the quote is left for the next sweep;
// - paid, with an X-LCP-Refund-To given with the message at any time: refunded through
//   Refunds (written down before the transfer, so a crash or a second sweep never pays twice),
//   then marked as swept;
// - paid, with nowhere to send it: marked as swept "noRefundAddress", the money stays.
// The grace period keeps the sweep away from a message whose payment check began just before
// expiry; a quote being checked right now is skipped too, and so is one marked "relaying" (its
// message may have been delivered without the "used" mark being written).
import type { BankApi } from './bank-api.js';
import type { DepositCollector } from './deposit-collector.js';
import type { Logger } from './logger.js';
import type { PostageBook, Quote } from './postage-book.js';
import type { PostageDesk } from './postage-desk.js';
import { refundTransactionId, type Refunds } from './refunds.js';

export interface SweepReport {
  /** Expired quotes looked at. */
  quotes: number;
  unpaid: number;
  /** Refunds paid (this sweep). */
  refunded: number;
  /** Paid, with no X-LCP-Refund-To ever given. */
  noRefundAddress: number;
  /** Refunds failed or of unknown outcome (not tried again by the sweep). */
  failed: number;
  /** Refunds still without an answer: the next sweep asks again. */
  pending: number;
  /** Quotes with nothing paid as far as known yet (no complete deposit poll since): the next sweep looks again. */
  waiting: number;
}

export interface SweepOptions {
  book: PostageBook;
  desk: PostageDesk;
  /** Whether the deposits to the gateway's key are known up to a time. */
  collector: Pick<DepositCollector, 'lastCompletePollStartedAt'>;
  refunds: Refunds;
  banks: ReadonlyMap<string, BankApi>;
  scaleOf(currency: string): number;
  graceSeconds: number;
  log: Logger;
  now: () => number;
  /** Quotes looked at per sweep. */
  batch?: number;
}

const EXPIRED = 'expired:';
/** A bank collects a payment from the issuer at once only when asked with a wait. */
const BANK_WAIT_MS = 1_000;

export class ExpirySweep {
  #running: Promise<SweepReport> | undefined;

  constructor(readonly options: SweepOptions) {}

  /** One sweep; a call while one runs gets that one's report. */
  run(): Promise<SweepReport> {
    this.#running ??= this.#sweep().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Resolves when no sweep is running (the one under way has ended). */
  async idle(): Promise<void> {
    await this.#running?.catch(() => undefined);
  }

  async #sweep(): Promise<SweepReport> {
    const { book, desk, refunds, now, graceSeconds, log } = this.options;
    const report: SweepReport = { quotes: 0, unpaid: 0, refunded: 0, noRefundAddress: 0, failed: 0, pending: 0, waiting: 0 };
    for (const row of book.unsettledRefunds()) {
      const quote = book.quote(row.ref);
      try {
        await refunds.retry(row, quote?.payee);
      } catch (error) {
        log.warn({ err: (error as Error).message, transactionId: row.transactionId }, 'an unsettled refund is still not settled');
      }
    }
    const quotes = book.expiredQuotes(now() - graceSeconds * 1000, this.options.batch ?? 200);
    for (const quote of quotes) {
      if (desk.busy(quote.ref)) continue;
      report.quotes++;
      try {
        await this.#settle(quote, report);
      } catch (error) {
        report.pending++;
        log.warn({ err: (error as Error).message, ref: quote.ref }, 'an expired quote could not be settled; the next sweep tries again');
      }
    }
    if (report.quotes > 0) log.info(report, 'expired quotes swept');
    return report;
  }

  async #settle(quote: Quote, report: SweepReport): Promise<void> {
    const { book, refunds, now } = this.options;
    const paid = await this.#paid(quote);
    if (paid === undefined) {
      report.waiting++;
      return;
    }
    if (paid.length === 0) {
      report.unpaid++;
      book.markSwept(quote.ref, 'unpaid', now());
      return;
    }
    if (!quote.refundTo) {
      report.noRefundAddress++;
      book.markSwept(quote.ref, 'noRefundAddress', now());
      return;
    }
    const states: string[] = [];
    for (const { currency, amount } of paid) {
      const recipient = `${EXPIRED}${currency}`;
      const { row, repeated } = await refunds.refund({
        ref: quote.ref,
        recipient,
        currency,
        amount,
        refundTo: quote.refundTo,
        transactionId: refundTransactionId(quote.ref, recipient),
        ...(quote.payee ? { payee: quote.payee } : {}),
      });
      states.push(row.state);
      if (row.state === 'paid' && !repeated) report.refunded++;
      if (row.state === 'failed' || row.state === 'unknown') report.failed++;
    }
    if (states.includes('sending')) {
      report.pending++;
      return;
    }
    book.markSwept(quote.ref, states.every((s) => s === 'paid') ? 'refunded' : 'refundFailed', now());
  }

  /**
   * What arrived for this quote, by currency: the gateway's deposits, or what its payee's bank
   * credited. Undefined when nothing did as far as is known yet.
   */
  async #paid(quote: Quote): Promise<{ currency: string; amount: bigint }[] | undefined> {
    const { banks, book, collector, scaleOf, graceSeconds } = this.options;
    const paid: { currency: string; amount: bigint }[] = [];
    const bank = quote.payee ? banks.get(quote.payee) : undefined;
    if (quote.payee && !bank) throw new Error(`no bank account is configured for the payee ${quote.payee}`);
    const currencies = Object.keys(quote.prices);
    for (const currency of currencies) {
      const amount = bank ? await bank.received(quote.ref, { wsdl: currency, scale: scaleOf(currency) }, BANK_WAIT_MS) : book.paid(currency, quote.ref);
      if (amount !== undefined && amount > 0n) paid.push({ currency, amount });
    }
    if (paid.length > 0 || bank) return paid;
    // a payment made before the quote's expiry and only late at the gateway would otherwise be kept
    const since = quote.expiresAt + graceSeconds * 1000;
    return currencies.every((c) => (collector.lastCompletePollStartedAt(c) ?? -Infinity) >= since) ? paid : undefined;
  }
}
