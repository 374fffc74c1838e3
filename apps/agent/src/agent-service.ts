// The paper's local LCP agent (section 5, single identity): one key for all of the user's
// applications, talking to issuers for them. Applications spend within the user's policies
// and ask whether a payment to the user has arrived; they never hold the key.
import { LcpFaultError, LcpNetworkError, LcpProtocolError, type IssuerClient, type Wallet } from '@lcp/client';
import { childTraceparent, formatAmount, isEntityId, isTransactionId, isUserid, parseAmount, traceClock, type TraceContext, type TraceSink } from '@lcp/protocol';
import { z } from 'zod';
import type { AgentBook, PaymentOrder } from './agent-book.js';
import type { Logger } from './logger.js';
import { applicationForToken, type ApplicationPolicy, type PolicyFile } from './policy.js';
import { refuse, type Refusal } from './problems.js';

export const paymentRequestSchema = z.object({
  to: z.string().refine(isEntityId, 'must be an entity id (64 lowercase hex)'),
  amount: z.string().max(40),
  currency: z.string().min(1).max(2048),
  transactionId: z.string().refine(isTransactionId, 'must be an LCP transactionId (1-128 printable ASCII, no <, > or &)'),
  userid: z.string().refine(isUserid, 'must be 1-64 of [A-Za-z0-9._-]').optional(),
});

export interface PaymentAnswer {
  result: string;
  fee: string;
}

export interface DepositAnswer {
  transactionId: string;
  amount: string;
  currency: string;
  userid?: string;
  receivedAt: string;
}

export interface AgentServiceOptions {
  /** Short name for logs and traces ("alice"). */
  name: string;
  entityId: string;
  wallet: Wallet;
  book: AgentBook;
  policy: PolicyFile;
  maxWaitMs: number;
  log: Logger;
  onTrace?: TraceSink;
  now?: () => number;
}

/** The UTC calendar day a spend counts against. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export class AgentService {
  readonly entityId: string;
  readonly #o: AgentServiceOptions;
  readonly #now: () => number;

  constructor(options: AgentServiceOptions) {
    this.#o = options;
    this.entityId = options.entityId;
    this.#now = options.now ?? Date.now;
  }

  /** A traced request's events go to the onTrace hook; the issuer sees the same trace on our calls. */
  #trace(trace: TraceContext | undefined, what: string, peer?: string): void {
    if (!trace || !this.#o.onTrace) return;
    try {
      this.#o.onTrace({ ...trace, party: this.#o.name, what, ...(peer ? { peer } : {}), at: traceClock() });
    } catch (error) {
      this.#o.log.warn({ err: error }, 'onTrace hook failed');
    }
  }

  /** The application this bearer token belongs to, under the policy as it is on disk now. */
  authenticate(token: string | undefined): ApplicationPolicy | undefined {
    return token ? applicationForToken(this.#o.policy.current(), token) : undefined;
  }

  /**
   * Pays for an application, if its policy allows: every check runs before anything is sent,
   * and the daily limit is reserved atomically so concurrent requests cannot exceed it.
   */
  async pay(app: ApplicationPolicy, body: unknown, trace?: TraceContext): Promise<PaymentAnswer | Refusal> {
    const request = paymentRequestSchema.safeParse(body);
    if (!request.success) return refuse('badRequest', request.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const { to, currency, transactionId, userid } = request.data;
    const policy = this.#o.policy.current();
    const known = policy.currencies.get(currency);
    const limits = app.spending.get(currency);
    if (!known || !limits) return refuse('currencyNotAllowed', `${app.name} may not spend ${currency}`);
    const amount = parseAmount(request.data.amount, known.scale);
    if (!amount.ok || amount.value === 0n) return refuse('invalidAmount', amount.ok ? 'the amount must be above zero' : amount.reason);
    const fmt = (minor: bigint) => formatAmount(minor, known.scale);
    if (amount.value > limits.perPurchase) {
      return refuse('purchaseLimitExceeded', `${fmt(amount.value)} is above ${app.name}'s limit of ${fmt(limits.perPurchase)} per purchase`);
    }

    const order: PaymentOrder = { application: app.name, currency, transactionId, recipient: to, amount: amount.value, ...(userid ? { userid } : {}) };
    const now = this.#now();
    const reservation = this.#o.book.reserve(order, limits.perDay, utcDay(now), now);
    if (!reservation.reserved) {
      switch (reservation.reason) {
        case 'alreadyPaid':
          return { result: reservation.result, fee: fmt(reservation.fee) };
        case 'dailyLimitExceeded':
          return refuse(
            'dailyLimitExceeded',
            `${app.name} spent ${fmt(reservation.spent)} of ${fmt(limits.perDay)} today; ${fmt(amount.value)} more does not fit`,
          );
        default:
          return refuse(reservation.reason);
      }
    }

    this.#trace(trace, `payment requested by ${app.name}: ${fmt(amount.value)} to ${to.slice(0, 8)}…, ${transactionId}`, app.name);
    let client: IssuerClient;
    try {
      client = await this.#o.wallet.issuer(currency, { scale: known.scale });
    } catch (error) {
      this.#o.book.release(order, this.#now());
      this.#o.log.warn({ err: error, currency }, 'issuer unreachable');
      return refuse('issuerUnreachable', (error as Error).message);
    }
    try {
      const call = trace ? { traceparent: childTraceparent(trace) } : {};
      const response = await client.transferFunds({ recipient: to, amount: amount.value, transactionId, ...(userid ? { userid } : {}) }, call);
      this.#trace(trace, `payment answered: ${response.result}`, app.name);
      this.#o.book.settle(order, response.result, response.fee, this.#now());
      this.#o.log.info({ application: app.name, currency, transactionId, to, amount: fmt(amount.value), result: response.result }, 'payment');
      return { result: response.result, fee: fmt(response.fee) };
    } catch (error) {
      if (error instanceof LcpFaultError) {
        this.#o.book.release(order, this.#now());
        return refuse('issuerRefused', `${error.faultcode}: ${error.message}`);
      }
      if (error instanceof LcpNetworkError || error instanceof LcpProtocolError) {
        this.#o.book.markUnknown(order, this.#now());
        return refuse('paymentOutcomeUnknown', error.message);
      }
      this.#o.book.markUnknown(order, this.#now());
      throw error;
    }
  }

  /** The deposit with `transactionId` in an accepted currency, waiting up to `waitMs` for it to arrive. */
  async deposit(transactionId: string, currency: string | undefined, waitMs: number, trace?: TraceContext): Promise<DepositAnswer | Refusal> {
    if (!isTransactionId(transactionId)) return refuse('badRequest', 'not an LCP transactionId');
    const policy = this.#o.policy.current();
    if (!currency || !policy.accept.has(currency)) return refuse('currencyNotAccepted', `${currency ?? '(no currency)'} is not accepted`);
    const scale = policy.currencies.get(currency)?.scale ?? 2;
    const answer = (d: { transactionId: string; amount: bigint; userid?: string; receivedAt: number }): DepositAnswer => ({
      transactionId: d.transactionId,
      amount: formatAmount(d.amount, scale),
      currency,
      ...(d.userid ? { userid: d.userid } : {}),
      receivedAt: new Date(d.receivedAt).toISOString(),
    });
    const known = this.#o.book.deposit(currency, transactionId);
    if (known) return answer(known);
    let client: IssuerClient;
    try {
      client = await this.#o.wallet.issuer(currency, { scale });
    } catch (error) {
      return refuse('issuerUnreachable', (error as Error).message);
    }
    let arrived;
    try {
      this.#trace(trace, `deposit asked: ${transactionId}`);
      const call = trace ? { traceparent: childTraceparent(trace) } : {};
      arrived = await client.waitForDeposit(transactionId, Math.min(waitMs, this.#o.maxWaitMs), call);
      this.#trace(trace, `deposit answered: ${arrived ? formatAmount(arrived.amount, scale) : 'none'}`);
    } catch (error) {
      return refuse('issuerUnreachable', (error as Error).message);
    }
    if (!arrived) {
      // another request may have taken it from the inbox meanwhile
      const taken = this.#o.book.deposit(currency, transactionId);
      return taken ? answer(taken) : refuse('depositNotFound');
    }
    const saved = this.#o.book.saveDeposit(currency, {
      transactionId,
      amount: arrived.amount,
      ...(arrived.userid ? { userid: arrived.userid } : {}),
      receivedAt: this.#now(),
    });
    return answer(saved);
  }

  /** Each known currency's balance at its issuer (a getDeposits that acknowledges nothing and takes nothing). */
  async balances(): Promise<{ balances: { currency: string; scale: number; balance?: string; error?: string }[] }> {
    const policy = this.#o.policy.current();
    const balances = await Promise.all(
      [...policy.currencies].map(async ([currency, { scale }]) => {
        try {
          const client = await this.#o.wallet.issuer(currency, { scale });
          // acknowledge 0 raises nothing: the deposits stay where they are for waitForDeposit
          const response = await client.getDeposits({ millisecondsWait: 0, acknowledge: 0n });
          return { currency, scale, balance: formatAmount(response.balance, scale) };
        } catch (error) {
          this.#o.log.warn({ err: error, currency }, 'balance unavailable');
          return { currency, scale, error: 'issuerUnreachable' };
        }
      }),
    );
    return { balances };
  }

  /** The application's own limits and what it spent today. */
  limits(app: ApplicationPolicy): { application: string; day: string; limits: object[] } {
    const policy = this.#o.policy.current();
    const day = utcDay(this.#now());
    const limits = [...app.spending].map(([currency, l]) => {
      const scale = policy.currencies.get(currency)?.scale ?? 2;
      const spent = this.#o.book.spent(app.name, currency, day);
      const left = l.perDay > spent ? l.perDay - spent : 0n;
      return {
        currency,
        perDay: formatAmount(l.perDay, scale),
        perPurchase: formatAmount(l.perPurchase, scale),
        spentToday: formatAmount(spent, scale),
        remainingToday: formatAmount(left, scale),
      };
    });
    return { application: app.name, day, limits };
  }
}
