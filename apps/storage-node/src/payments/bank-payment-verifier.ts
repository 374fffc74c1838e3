// Payments to the node's bank account (opaque banking, bob@bank.com): Figure 2, step 5. The
// bank long-polls its issuer (step 6) and answers once the deposit is credited to the
// customer's sub-account:
//   GET https://bank.com/api/v1/payments/{transactionId}?currency=<wsdl>&wait=<ms>
//   Authorization: Bearer <token>
//   200 { transactionId, amount: "<decimal>", currency, receivedAt } | 404 problem+json
import type { LookupFunction } from 'node:net';
import type { Currency } from '../wire.js';
import { askForDeposit } from './deposit-answer.js';
import type { PaymentVerifier, VerifyContext } from './payment-verifier.js';

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

  verify(
    transactionId: string,
    minAmount: bigint,
    currency: Currency,
    waitMs: number,
    context: VerifyContext = {},
  ): Promise<{ amount: bigint } | undefined> {
    const { url, token, caPem, lookup, timeoutMs } = this.options;
    const base = new URL('/api/v1/payments/', url);
    const source = { base: base.href, token, who: base.host, ...(caPem ? { caPem } : {}), ...(lookup ? { lookup } : {}), ...(timeoutMs ? { timeoutMs } : {}) };
    return askForDeposit(source, transactionId, minAmount, currency, waitMs, context);
  }
}
