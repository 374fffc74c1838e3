// The agent's and the bank's answer for one payment have the same shape:
// { transactionId, amount: "<decimal>", currency: <wsdl url>, ... }.
import { parseAmount } from '@lcp/protocol';
import type { Currency } from '../wire.js';
import { PaymentVerifierError } from './payment-verifier.js';

/** The amount in minor units, after checking the answer is about this payment in this currency. */
export function readDepositAnswer(body: unknown, transactionId: string, currency: Currency, who: string): bigint {
  const answer = (body ?? {}) as Record<string, unknown>;
  if (answer.transactionId !== transactionId || answer.currency !== currency.wsdl || typeof answer.amount !== 'string') {
    throw new PaymentVerifierError(`${who} answered about another payment or without an amount`);
  }
  const amount = parseAmount(answer.amount, currency.scale);
  if (!amount.ok) throw new PaymentVerifierError(`${who} answered an unreadable amount: ${amount.reason}`);
  return amount.value;
}
