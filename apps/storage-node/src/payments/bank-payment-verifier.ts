// Payments to the node's bank account (opaque banking, bob@bank.com): Figure 2, step 5. The
// bank long-polls its issuer (step 6) and answers once the deposit is credited to the
// customer's sub-account:
//   GET https://bank.com/api/v1/payments/{transactionId}?currency=<wsdl>&wait=<ms>
//   Authorization: Bearer <token>
//   200 { transactionId, amount: "<decimal>", currency, receivedAt } | 404 problem+json
import type { LookupFunction } from 'node:net';
import type { Currency } from '../wire.js';
import { problemCode } from './agent-payment-verifier.js';
import { readDepositAnswer } from './deposit-answer.js';
import { getJson } from './http-json.js';
import { PaymentVerifierError, type PaymentVerifier, type VerifyContext } from './payment-verifier.js';

export interface BankPaymentVerifierOptions {
  /** The bank's HTTPS origin, e.g. https://bank.com */
  url: string;
  /** A token the bank gave this application for the customer's account. */
  token: string;
  /** Trust anchors for the bank's CA-signed certificate; the system's by default. */
  caPem?: string;
  lookup?: LookupFunction;
  timeoutMs?: number;
}

export class BankPaymentVerifier implements PaymentVerifier {
  readonly kind = 'bank';

  constructor(readonly options: BankPaymentVerifierOptions) {}

  async verify(
    transactionId: string,
    minAmount: bigint,
    currency: Currency,
    waitMs: number,
    context: VerifyContext = {},
  ): Promise<{ amount: bigint } | undefined> {
    const url = new URL(`/api/v1/payments/${encodeURIComponent(transactionId)}`, this.options.url);
    url.searchParams.set('currency', currency.wsdl);
    url.searchParams.set('wait', String(waitMs));
    const { status, body } = await getJson(url.href, {
      headers: { authorization: `Bearer ${this.options.token}`, ...(context.traceparent ? { traceparent: context.traceparent } : {}) },
      timeoutMs: waitMs + (this.options.timeoutMs ?? 10_000),
      ...(this.options.caPem ? { caPem: this.options.caPem } : {}),
      ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
    });
    if (status === 404) return undefined;
    if (status !== 200) throw new PaymentVerifierError(`${url.host} answered HTTP ${status}${problemCode(body)}`);
    const amount = readDepositAnswer(body, transactionId, currency, url.host);
    return amount >= minAmount ? { amount } : undefined;
  }
}
