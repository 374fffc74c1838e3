// Paying postage back: to the sender's X-LCP-Refund-To (an entity id or a payment name such as
// alice@bank.com), from the account the postage was paid to. Each refund is written to the book
// (state "sending") before any transfer, and settled from there:
// - from the gateway's key: a transferFundsRequest through @lcp/client, which saves its counter
//   before sending; a refund found "sending" later is settled with the client's pending transfer
//   (the same counter, so the issuer pays it once). If the client holds nothing for it (the answer
//   came and the process stopped before booking it, or it was never sent) it becomes "unknown":
//   never sent again by itself, for the operator to look up in the issuer's statement. So does a
//   refund whose send ended in any error other than no answer or a definitive refusal (an
//   unreadable answer, the client's state not saved): the money may have moved.
// - from a payee's bank account: POST /api/v1/payments with an Idempotency-Key made of the
//   refund's transactionId and attempt, so a repeated request gets the first one's answer.
import { createHash } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import { LcpFaultError, LcpNetworkError, NameResolutionError, resolve, type IssuerClient } from '@lcp/client';
import { formatAmount, type TransferFundsResponse } from '@lcp/protocol';
import { BankApiError, type BankApi } from './bank-api.js';
import type { Logger } from './logger.js';
import { isEntityId } from './payees.js';
import type { PostageBook, RefundRow } from './postage-book.js';

export type RefundOrder = Pick<RefundRow, 'ref' | 'recipient' | 'currency' | 'amount' | 'refundTo' | 'transactionId'> & {
  /** The bank payee the postage was paid to; absent: the gateway's key. */
  payee?: string;
};

export interface RefundOutcome {
  row: RefundRow;
  /** An earlier request had already settled it. */
  repeated: boolean;
}

export interface RefundsOptions {
  book: PostageBook;
  clientFor(currency: string): Promise<IssuerClient>;
  banks: ReadonlyMap<string, BankApi>;
  /** How payment names in X-LCP-Refund-To are resolved for refunds from the gateway's key. */
  names: { caPem?: string; lookup?: LookupFunction; port?: (domain: string) => number | undefined };
  scaleOf(currency: string): number;
  log: Logger;
  now: () => number;
}

/** A transactionId for a refund: `refund_<ref>_<tag>`, the tag naming the recipient (or the expiry). */
export const refundTransactionId = (ref: string, recipient: string): string =>
  `refund_${ref}_${createHash('sha256').update(recipient).digest('hex').slice(0, 12)}`;

export class Refunds {
  /** Two requests for one refund at once share the first one's work. */
  readonly #running = new Map<string, Promise<RefundOutcome>>();
  /** Transfers from the gateway's key, one at a time: the client's pending transfer is then always the latest refund's. */
  #keyChain: Promise<unknown> = Promise.resolve();

  constructor(readonly options: RefundsOptions) {}

  refund(order: RefundOrder): Promise<RefundOutcome> {
    const key = `${order.ref}\n${order.recipient}`;
    let running = this.#running.get(key);
    if (!running) {
      running = (order.payee ? this.#fromBank(order, order.payee) : this.#fromKey(order)).finally(() => this.#running.delete(key));
      this.#running.set(key, running);
    }
    return running;
  }

  /** Resolves when the refunds under way have ended (their answers written down). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()]);
    await this.#keyChain;
  }

  /** A refund left "sending" (a crash, or no answer yet), settled the same way. */
  retry(row: RefundRow, payee: string | undefined): Promise<RefundOutcome> {
    return this.refund({ ...row, ...(payee ? { payee } : {}) });
  }

  async #fromBank(order: RefundOrder, payee: string): Promise<RefundOutcome> {
    const { book, banks, now, log } = this.options;
    const bank = banks.get(payee);
    if (!bank) throw new Error(`no bank account is configured for the payee ${payee}`);
    // a token of another customer (BankTokenError): nothing is written down or sent; no answer: pay() asks again
    await bank.verify().catch((error: unknown) => {
      if (!(error instanceof BankApiError)) throw error;
    });
    const row = book.beginRefund(order, now());
    if (row.state !== 'sending') return { row, repeated: true };
    let answer;
    try {
      answer = await bank.pay(
        { to: row.refundTo, amount: formatAmount(row.amount, this.options.scaleOf(row.currency)), currency: row.currency, transactionId: row.transactionId },
        `${row.transactionId}.${row.attempt}`,
      );
    } catch (error) {
      if (!(error instanceof BankApiError)) throw error;
      log.warn({ err: error.message, transactionId: row.transactionId }, 'no answer from the bank about a refund; it is asked again with the same key');
      return { row, repeated: false };
    }
    if (answer.kind === 'pending') return { row, repeated: false };
    const state = answer.kind === 'done' && answer.result === 'success' ? 'paid' : 'failed';
    const result = answer.kind === 'done' ? answer.result : answer.code;
    book.finishRefund(row.ref, row.recipient, state, result);
    return { row: { ...row, state, result }, repeated: false };
  }

  #fromKey(order: RefundOrder): Promise<RefundOutcome> {
    const run = this.#keyChain.then(() => this.#fromKeyNow(order));
    this.#keyChain = run.catch(() => undefined);
    return run;
  }

  async #fromKeyNow(order: RefundOrder): Promise<RefundOutcome> {
    const { book, now, log } = this.options;
    const client = await this.options.clientFor(order.currency);
    // first settle whatever transfer the client holds without an answer, on the refund it belongs to
    // (LcpNetworkError: the issuer is not answering; nothing new is started)
    for (;;) {
      let recovered;
      try {
        recovered = await client.recoverPending();
      } catch (error) {
        if (!(error instanceof LcpFaultError) || error.retryable) throw error;
        // refused for good: nothing moved, and the client has let it go
        this.#refusedPending(order.currency, error);
        continue;
      }
      if (!recovered) break;
      this.#book(recovered.order.transactionId, recovered.response);
    }
    const row = book.beginRefund(order, now());
    if (row.state !== 'sending') return { row, repeated: true };
    if (!row.fresh) {
      // started before, and not in the client: its answer was lost with a crash, or it was never sent
      const settled = book.refund(row.ref, row.recipient) as RefundRow;
      if (settled.state !== 'sending') return { row: settled, repeated: true };
      book.finishRefund(row.ref, row.recipient, 'unknown', 'outcomeUnknown');
      log.error({ transactionId: row.transactionId }, 'a refund started before a restart has no known outcome; it is not sent again (see the issuer statement)');
      return { row: { ...row, state: 'unknown', result: 'outcomeUnknown' }, repeated: false };
    }
    let target: { entityId: string; userid?: string };
    try {
      target = await this.#target(row.refundTo, row.currency);
    } catch (error) {
      const code = error instanceof NameResolutionError ? `refundTo${error.code[0]?.toUpperCase()}${error.code.slice(1)}` : 'refundToUnresolvable';
      book.finishRefund(row.ref, row.recipient, 'failed', code);
      return { row: { ...row, state: 'failed', result: code }, repeated: false };
    }
    try {
      const response = await client.transferFunds({ recipient: target.entityId, amount: row.amount, transactionId: row.transactionId, ...(target.userid ? { userid: target.userid } : {}) });
      return { row: this.#book(row.transactionId, response) ?? row, repeated: false };
    } catch (error) {
      if (error instanceof LcpNetworkError || (error instanceof LcpFaultError && error.retryable)) {
        // still pending in the client: asking again sends the same transfer with its counter
        return { row, repeated: false };
      }
      if (error instanceof LcpFaultError) {
        // a definitive refusal: nothing moved, so asking again may start a new transfer
        book.finishRefund(row.ref, row.recipient, 'failed', 'refused');
        log.warn({ err: error.message }, 'refund refused by the issuer');
        return { row: { ...row, state: 'failed', result: 'refused' }, repeated: false };
      }
      // an unreadable answer, or the client's state not saved after the send: the money may have
      // moved, so it is never sent again by itself (a new attempt would pay twice)
      book.finishRefund(row.ref, row.recipient, 'unknown', 'outcomeUnknown');
      log.error({ err: (error as Error).message, transactionId: row.transactionId }, 'a refund has no known outcome; it is not sent again (see the issuer statement)');
      return { row: { ...row, state: 'unknown', result: 'outcomeUnknown' }, repeated: false };
    }
  }

  /**
   * The transfer the client held was refused for good. It belongs to the one refund from the
   * gateway's key in this currency still "sending": one goes out at a time, and a new one starts
   * only once the client holds none. With several (a crash before a send), it cannot be told
   * which; they become "unknown" when next asked.
   */
  #refusedPending(currency: string, error: LcpFaultError): void {
    const { book, log } = this.options;
    const sending = book.sendingKeyRefunds(currency);
    const row = sending.length === 1 ? sending[0] : undefined;
    log.warn({ err: error.message, ...(row ? { transactionId: row.transactionId } : {}) }, 'a pending refund was refused by the issuer');
    if (row) book.finishRefund(row.ref, row.recipient, 'failed', 'refused');
  }

  /** Books the issuer's answer on the refund with this transactionId. */
  #book(transactionId: string, response: TransferFundsResponse): RefundRow | undefined {
    const row = this.options.book.refundByTransactionId(transactionId);
    // "unknown" too: the issuer's answer, when the client still had it, is the outcome
    if (!row || (row.state !== 'sending' && row.state !== 'unknown')) return row;
    const state = response.result === 'success' ? 'paid' : 'failed';
    this.options.book.finishRefund(row.ref, row.recipient, state, response.result);
    return { ...row, state, result: response.result };
  }

  /** An entity id as it is; a payment name through its bank's name document. */
  async #target(refundTo: string, currency: string): Promise<{ entityId: string; userid?: string }> {
    if (isEntityId(refundTo)) return { entityId: refundTo };
    const { names } = this.options;
    const port = names.port?.(refundTo.slice(refundTo.lastIndexOf('@') + 1));
    const document = await resolve(refundTo, { ...(names.caPem ? { caPem: names.caPem } : {}), ...(names.lookup ? { lookup: names.lookup } : {}), ...(port ? { port } : {}) });
    const account = document.accounts.find((a) => a.wsdl === currency);
    if (!account) throw new NameResolutionError('notFound', `${refundTo} takes no payments in ${currency}`);
    return { entityId: account.entityId, ...(document.userid ? { userid: document.userid } : {}) };
  }
}
