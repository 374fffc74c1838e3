// Every refusal of the local interface, with its HTTP status: one table, stable codes.
// Responses are RFC 9457 problem documents: { type, title, status, code, detail }.
import type { Response } from 'express';

export const PROBLEMS = {
  unauthorized: { status: 401, title: "A valid application token is required (Authorization: Bearer <token>)" },
  forbiddenHost: { status: 403, title: 'The local interface answers only requests addressed to this machine' },
  badRequest: { status: 400, title: 'The request is not valid' },
  invalidAmount: { status: 400, title: 'The amount is not a positive decimal in this currency' },
  currencyNotAllowed: { status: 403, title: 'This application may not spend this currency' },
  currencyNotAccepted: { status: 403, title: 'This currency is not accepted when selling' },
  purchaseLimitExceeded: { status: 403, title: 'The amount is above the most this application may pay for one purchase' },
  dailyLimitExceeded: { status: 403, title: "The payment would exceed this application's daily spending limit" },
  transactionIdReused: { status: 409, title: 'This transactionId was already used for another payment' },
  paymentInProgress: { status: 409, title: 'This payment is being sent' },
  issuerUnreachable: { status: 502, title: 'The issuer could not be reached; nothing was sent' },
  issuerRefused: { status: 502, title: 'The issuer refused the transfer; nothing was paid' },
  paymentOutcomeUnknown: { status: 504, title: 'No answer from the issuer yet; the payment is still pending, retry the same request' },
  depositNotFound: { status: 404, title: 'No deposit with this transactionId has arrived' },
  notFound: { status: 404, title: 'Not found' },
  internal: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export interface Refusal {
  refused: ProblemCode;
  detail?: string;
}

export const refuse = (code: ProblemCode, detail?: string): Refusal => ({ refused: code, ...(detail ? { detail } : {}) });

/** The one place a problem document is written. */
export function sendProblem(res: Response, code: ProblemCode, detail?: string): void {
  const { status, title } = PROBLEMS[code];
  if (code === 'unauthorized') res.setHeader('www-authenticate', 'Bearer');
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: `urn:lcp:agent:${code}`, title, status, code, ...(detail ? { detail } : {}) }));
}
