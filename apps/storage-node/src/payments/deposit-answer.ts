// The agent and the bank are asked about one payment the same way, and answer in the same shape:
//   GET <base>/<transactionId>?currency=<wsdl>&wait=<ms>, Authorization: Bearer <token>
//   200 { transactionId, amount: "<decimal>", currency: <wsdl url>, ... } | 404 problem+json
import type { LookupFunction } from 'node:net';
import { parseAmount } from '@lcp/protocol';
import type { Currency } from '../wire.js';
import { getJson } from './http-json.js';
import { PaymentVerifierError, type VerifyContext } from './payment-verifier.js';

export interface DepositSource {
  /** The URL the transactionId is appended to, e.g. https://bank.com/api/v1/payments/ */
  base: string;
  token: string;
  /** Who answers, for error messages ("the agent", "bank.com"). */
  who: string;
  caPem?: string;
  lookup?: LookupFunction;
  timeoutMs?: number;
}

export const problemCode = (body: unknown): string => {
  const code = (body as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? ` (${code})` : '';
};

/** Asks `source` whether the payment arrived (long-polling up to `waitMs`); its amount if it covers `minAmount`. */
export async function askForDeposit(
  source: DepositSource,
  transactionId: string,
  minAmount: bigint,
  currency: Currency,
  waitMs: number,
  context: VerifyContext,
): Promise<{ amount: bigint } | undefined> {
  const url = new URL(encodeURIComponent(transactionId), source.base);
  url.searchParams.set('currency', currency.wsdl);
  url.searchParams.set('wait', String(waitMs));
  const { status, body } = await getJson(url.href, {
    headers: { authorization: `Bearer ${source.token}`, ...(context.traceparent ? { traceparent: context.traceparent } : {}) },
    timeoutMs: waitMs + (source.timeoutMs ?? 10_000),
    ...(source.caPem ? { caPem: source.caPem } : {}),
    ...(source.lookup ? { lookup: source.lookup } : {}),
  });
  if (status === 404) return undefined;
  if (status !== 200) throw new PaymentVerifierError(`${source.who} answered HTTP ${status}${problemCode(body)}`);
  const amount = readDepositAnswer(body, transactionId, currency, source.who);
  return amount >= minAmount ? { amount } : undefined;
}

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
