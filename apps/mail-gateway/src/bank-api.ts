// bank.com's payments API (apps/bank, openapi.json), as the gateway and the sender use it, with
// a bearer token the bank gave for one customer account:
//   GET  /api/v1/payments/{transactionId}?currency=<wsdl>&wait=<ms>   has this payment been credited?
//        200 { transactionId, amount: "<decimal>", currency, receivedAt } | 404 problem+json
//   POST /api/v1/payments { to, amount, currency, transactionId } with Idempotency-Key
//        200 { result, fee, bankFee, status } | 202 (sent, no answer from the issuer yet) | problem+json
//   GET  /api/v1/token   which customer the token is for
// The same questions the storage node asks (apps/storage-node/src/payments/deposit-answer.ts).
import type { LookupFunction } from 'node:net';
import { boundedRequest } from '@lcp/client';
import { parseAmount } from '@lcp/protocol';
import { paymentName } from './payees.js';

export interface BankApiOptions {
  /** The bank's HTTPS origin, e.g. https://bank.com */
  url: string;
  token: string;
  /** Trust anchors for the bank's CA-signed certificate; the system's by default. */
  caPem?: string;
  lookup?: LookupFunction;
  timeoutMs?: number;
  /**
   * The payment name the token must be for (bob@bank.com). Checked once, before the first
   * received() or pay(): postage must not be credited to, or refunded from, another account.
   */
  customer?: string;
}

/** The bank could not be asked, or answered something unreadable: the outcome is not known. */
export class BankApiError extends Error {
  override name = 'BankApiError';
}

/** The token is another customer's than the account it was given for: the account is not used. */
export class BankTokenError extends Error {
  override name = 'BankTokenError';
}

export type BankPaymentAnswer =
  /** The issuer took it (result success) or refused it (another result): known and final. */
  | { kind: 'done'; result: string; fee: string; bankFee: string }
  /** Sent to the issuer without an answer yet (HTTP 202): it may still happen. */
  | { kind: 'pending' }
  /** The bank refused it and moved nothing (a problem document). */
  | { kind: 'refused'; status: number; code: string; detail: string };

const MAX_BYTES = 64 * 1024;

function parseJson(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

const field = (body: unknown, name: string): unknown => (body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined);
const text = (body: unknown, name: string): string => {
  const value = field(body, name);
  return typeof value === 'string' ? value : '';
};

export class BankApi {
  /** The customer check: a success is kept, a mismatch too (it throws each time), no answer is asked again. */
  #verified: Promise<void> | undefined;

  constructor(readonly options: BankApiOptions) {}

  /** Checks (once) that the token is for `options.customer`; BankTokenError if it is another's, BankApiError if the bank does not answer. */
  verify(): Promise<void> {
    const expected = this.options.customer;
    if (expected === undefined) return Promise.resolve();
    this.#verified ??= this.customer().then(
      (customer) => {
        if (paymentName(customer) !== paymentName(expected)) throw new BankTokenError(`the bank token given for ${expected} is for the customer ${customer}`);
      },
      (error: unknown) => {
        this.#verified = undefined;
        throw error;
      },
    );
    return this.#verified;
  }

  get host(): string {
    return new URL(this.options.url).host;
  }

  async #call(path: string, timeoutMs: number, post?: { body: string; idempotencyKey: string }): Promise<{ status: number; body: unknown }> {
    const { token, caPem, lookup } = this.options;
    try {
      const answer = await boundedRequest(new URL(path, this.options.url), {
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json, application/problem+json',
          ...(post ? { 'content-type': 'application/json', 'idempotency-key': post.idempotencyKey } : {}),
        },
        ...(post ? { method: 'POST' as const, body: post.body } : {}),
        timeoutMs,
        maxBytes: MAX_BYTES,
        ...(caPem ? { caPem } : {}),
        ...(lookup ? { lookup } : {}),
      });
      return { status: answer.status, body: parseJson(answer.body) };
    } catch (error) {
      throw new BankApiError(`${this.host}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * What was credited to the token's customer with this transactionId in this currency (minor
   * units), long-polling up to `waitMs`; undefined if nothing was.
   */
  async received(transactionId: string, currency: { wsdl: string; scale: number }, waitMs: number): Promise<bigint | undefined> {
    await this.verify();
    const path = `/api/v1/payments/${encodeURIComponent(transactionId)}?currency=${encodeURIComponent(currency.wsdl)}&wait=${waitMs}`;
    const { status, body } = await this.#call(path, waitMs + (this.options.timeoutMs ?? 10_000));
    if (status === 404 && text(body, 'code') === 'payment-not-found') return undefined;
    if (status !== 200) throw new BankApiError(`${this.host} answered HTTP ${status}${text(body, 'code') ? ` (${text(body, 'code')})` : ''}`);
    if (text(body, 'transactionId') !== transactionId || text(body, 'currency') !== currency.wsdl) {
      throw new BankApiError(`${this.host} answered about another payment`);
    }
    const amount = parseAmount(text(body, 'amount'), currency.scale);
    if (!amount.ok) throw new BankApiError(`${this.host} answered an unreadable amount: ${amount.reason}`);
    return amount.value;
  }

  /** The payment name of the token's customer, e.g. alice@bank.com */
  async customer(): Promise<string> {
    const { status, body } = await this.#call('/api/v1/token', this.options.timeoutMs ?? 10_000);
    const name = text(body, 'customer');
    if (status !== 200 || !name) throw new BankApiError(`${this.host} answered HTTP ${status} about the token`);
    return name;
  }

  /**
   * Pays from the token's customer account. `idempotencyKey` makes a repeated request (a lost
   * answer, a restart) get the first one's answer instead of paying again.
   */
  async pay(
    order: { to: string; /** A decimal such as "0.05". */ amount: string; /** The issuer's WSDL URL. */ currency: string; transactionId: string },
    idempotencyKey: string,
  ): Promise<BankPaymentAnswer> {
    await this.verify();
    const payload = JSON.stringify({ to: order.to, amount: order.amount, currency: order.currency, transactionId: order.transactionId });
    const { status, body } = await this.#call('/api/v1/payments', this.options.timeoutMs ?? 30_000, { body: payload, idempotencyKey });
    if (status === 202) return { kind: 'pending' };
    if (status === 200) {
      const result = text(body, 'result');
      if (!result) throw new BankApiError(`${this.host} answered an unreadable payment outcome`);
      return { kind: 'done', result, fee: text(body, 'fee'), bankFee: text(body, 'bankFee') };
    }
    const code = text(body, 'code');
    // the issuer refused it (a 502 from the bank, final): nothing moved
    if (code === 'payment-refused') return { kind: 'refused', status, code, detail: text(body, 'detail') || text(body, 'title') };
    // the first request with this key still running, or an answer that is no problem document: not known
    if (status >= 500 || !code || code === 'idempotency-conflict') throw new BankApiError(`${this.host} answered HTTP ${status}${code ? ` (${code})` : ''}`);
    return { kind: 'refused', status, code, detail: text(body, 'detail') || text(body, 'title') };
  }
}
