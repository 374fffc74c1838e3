// Every expected failure, in one table: a stable code, its HTTP status and a title. The API
// answers them as RFC 7807 problem documents; the web pages show the title and detail.
import type { Response } from 'express';

export const PROBLEMS = {
  'invalid-request': { status: 400, title: 'The request is malformed' },
  'invalid-amount': { status: 400, title: 'The amount is not valid' },
  'unknown-currency': { status: 400, title: 'The bank does not deal in this currency' },
  'invalid-recipient': { status: 400, title: 'The recipient is neither a 64-hex key nor a name like bob@bank.com' },
  'invalid-transaction-id': { status: 400, title: 'The transactionId is not valid' },
  'invalid-userid': { status: 400, title: 'The userid is not valid' },
  'invalid-scope': { status: 400, title: 'Unknown scope or missing limit' },
  unauthorized: { status: 401, title: 'A valid bearer token is required' },
  'insufficient-scope': { status: 403, title: 'The token does not have the scope this needs' },
  'daily-limit-exceeded': { status: 403, title: 'The token\u2019s daily spending limit would be exceeded' },
  'no-spending-limit': { status: 403, title: 'The token may not spend in this currency' },
  'account-closed': { status: 403, title: 'The account is closed' },
  forbidden: { status: 403, title: 'Not allowed' },
  'csrf-failed': { status: 403, title: 'The form was not sent from this bank\u2019s pages' },
  'not-found': { status: 404, title: 'Not found' },
  'payment-not-found': { status: 404, title: 'No such payment has arrived' },
  'name-not-found': { status: 404, title: 'No customer has that name' },
  'insufficient-funds': { status: 409, title: 'Not enough money in the account' },
  'idempotency-conflict': { status: 409, title: 'A request with this Idempotency-Key is still in progress or differs' },
  'name-taken': { status: 409, title: 'That name is taken' },
  'currency-not-accepted': { status: 422, title: 'The recipient does not accept this currency' },
  'too-many-attempts': { status: 429, title: 'Too many attempts; wait and try again' },
  'payment-refused': { status: 502, title: 'The issuer refused the payment' },
  'name-unresolvable': { status: 502, title: 'The recipient\u2019s bank could not be asked about the name' },
  'issuer-unavailable': { status: 503, title: 'The issuer cannot be reached now; nothing was paid' },
  internal: { status: 500, title: 'Something went wrong inside the bank' },
} as const;

export type ProblemCode = keyof typeof PROBLEMS;

/** An expected failure as a value. */
export interface Problem {
  problem: ProblemCode;
  detail: string;
  /** Extra members of the problem document (e.g. the limit that was hit). */
  extra?: Record<string, unknown>;
}

export const problem = (code: ProblemCode, detail: string, extra?: Record<string, unknown>): Problem => ({
  problem: code,
  detail,
  ...(extra ? { extra } : {}),
});

export const isProblem = (value: unknown): value is Problem =>
  typeof value === 'object' && value !== null && 'problem' in value && typeof (value as Problem).problem === 'string';

export const PROBLEM_TYPE_PREFIX = 'urn:lcp:bank:problem:';

/** Writes an RFC 7807 document: a stable `type` (and `code`), no stack, no path. */
export function sendProblem(res: Response, p: Problem, instance?: string): void {
  const { status, title } = PROBLEMS[p.problem];
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `${PROBLEM_TYPE_PREFIX}${p.problem}`,
        code: p.problem,
        title,
        status,
        detail: p.detail,
        ...(instance ? { instance } : {}),
        ...p.extra,
      }),
    );
}
