// Postage arrives at the issuer as deposits to the gateway's key. One long-poll per currency
// (getDeposits with the acknowledgement extension, through @lcp/client's IssuerClient) takes
// them as they come; each response is written to the postage book in one transaction, with the
// new acknowledgement mark, before the next request acknowledges it to the issuer. A message
// waiting for its payment is woken then. One long-poll serves every message.
import type { IssuerClient } from '@lcp/client';
import { LIMITS } from '@lcp/protocol';
import type { Logger } from './logger.js';
import type { PostageBook } from './postage-book.js';

const LONG_POLL_MS = 20_000;

export interface PaidAnswer {
  currency: string;
  amount: bigint;
  /** Something arrived, less than the price. */
  short?: boolean;
}

/** Where the desk learns whether a reference was paid: the gateway's own deposits, or a payee's bank. */
export interface PaymentSource {
  paid(transactionId: string, prices: Record<string, bigint>, waitMs: number): Promise<PaidAnswer | undefined>;
}
const RETRY_MS = 1_000;

export class DepositCollector implements PaymentSource {
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #loops: Promise<void>[] = [];
  #closed = false;
  readonly #stopRetry = new Set<() => void>();
  /** By currency: when the latest getDeposits that was answered and written down had started. */
  readonly #completePoll = new Map<string, number>();

  constructor(
    readonly book: PostageBook,
    readonly log: Logger,
    readonly now: () => number = Date.now,
  ) {}

  /** Starts collecting deposits in one currency. */
  start(currency: string, connect: () => Promise<IssuerClient>): void {
    this.#loops.push(this.#run(currency, connect));
  }

  async #run(currency: string, connect: () => Promise<IssuerClient>): Promise<void> {
    let client: IssuerClient | undefined;
    while (!this.#closed) {
      try {
        client ??= await connect();
        const acknowledge = this.book.acknowledged(currency);
        const startedAt = this.now();
        const { deposits } = await client.getDeposits({ millisecondsWait: LONG_POLL_MS, acknowledge });
        const fresh = deposits.flatMap((d) =>
          d.sequence !== undefined && d.sequence > acknowledge ? [{ sequence: d.sequence, transactionId: d.transactionId, amount: d.amount }] : [],
        );
        await this.book.recordDeposits(currency, fresh, this.now());
        // a full page may have left deposits for the next one
        if (deposits.length < LIMITS.maxDepositsPerResponse) this.#completePoll.set(currency, startedAt);
        for (const d of fresh) this.#wake(currency, d.transactionId);
      } catch (error) {
        if (this.#closed) break;
        this.log.warn({ currency, err: (error as Error).message }, 'collecting deposits failed; trying again');
        await new Promise<void>((resolve) => {
          const stop = () => {
            clearTimeout(timer);
            this.#stopRetry.delete(stop);
            resolve();
          };
          const timer = setTimeout(stop, RETRY_MS);
          this.#stopRetry.add(stop);
        });
      }
    }
  }

  /**
   * When the latest complete poll in this currency started (answered, its deposits written
   * down): every deposit the issuer had taken by then is in the book. Undefined before the first.
   */
  lastCompletePollStartedAt(currency: string): number | undefined {
    return this.#completePoll.get(currency);
  }

  #wake(currency: string, transactionId: string): void {
    const key = `${currency} ${transactionId}`;
    const waiting = this.#waiters.get(key);
    if (!waiting) return;
    this.#waiters.delete(key);
    for (const wake of waiting) wake();
  }

  /**
   * The amount paid with `transactionId` in any of `currencies` that covers its price, waiting
   * up to `waitMs` for it to arrive; undefined if none did.
   */
  async paid(transactionId: string, prices: Record<string, bigint>, waitMs: number): Promise<PaidAnswer | undefined> {
    const check = (): PaidAnswer | undefined => {
      let short: { currency: string; amount: bigint; short: true } | undefined;
      for (const [currency, price] of Object.entries(prices)) {
        const amount = this.book.paid(currency, transactionId);
        if (amount >= price) return { currency, amount };
        if (amount > 0n) short = { currency, amount, short: true };
      }
      return short;
    };
    const found = check();
    if ((found && !found.short) || waitMs <= 0) return found;
    await new Promise<void>((resolve) => {
      const keys = Object.keys(prices).map((c) => `${c} ${transactionId}`);
      const done = () => {
        clearTimeout(timer);
        for (const key of keys) this.#waiters.get(key)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      for (const key of keys) {
        const set = this.#waiters.get(key) ?? new Set();
        set.add(done);
        this.#waiters.set(key, set);
      }
    });
    return check();
  }

  /** Stops the loops: `closeClients` ends the long-polls in flight. */
  async close(closeClients: () => Promise<void>): Promise<void> {
    this.#closed = true;
    for (const stop of [...this.#stopRetry]) stop();
    for (const waiting of this.#waiters.values()) for (const wake of waiting) wake();
    await closeClients();
    await Promise.allSettled(this.#loops);
  }
}
