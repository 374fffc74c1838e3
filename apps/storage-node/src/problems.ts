// Every refusal the storage node can answer, with its HTTP status: one table, stable codes.
// Responses are RFC 9457 problem documents: { type, title, status, code, detail }.
import type { Response } from 'express';

export const PROBLEMS = {
  badRequest: { status: 400, title: 'The request is not valid' },
  invalidObjectId: { status: 400, title: 'The object id is not valid' },
  clientCertificateRequired: { status: 403, title: 'A TLS client certificate with an Ed25519 key is required' },
  notContractHolder: { status: 403, title: 'Only the contract buyer may use this contract' },
  offerNotFound: { status: 404, title: 'No such offer' },
  offerExpired: { status: 410, title: 'The offer has expired' },
  capacityExhausted: { status: 507, title: 'The node has no capacity left for another contract' },
  contractNotFound: { status: 404, title: 'No such contract' },
  contractExpired: { status: 410, title: 'The contract is outside its validity window' },
  objectNotFound: { status: 404, title: 'No such object in this contract' },
  objectExists: { status: 409, title: 'An object with this id is already stored under this contract' },
  quotaExceeded: { status: 413, title: "The write does not fit in the contract's remaining space" },
  rangeNotSatisfiable: { status: 416, title: 'The byte range is not inside the object' },
  paymentRequired: { status: 402, title: 'A payment transactionId is required' },
  paymentNotVerified: { status: 402, title: 'No payment of at least the price arrived under this transactionId' },
  paymentAlreadyUsed: { status: 409, title: 'This payment has already been used' },
  verifierUnavailable: { status: 503, title: 'The payment could not be checked right now' },
  instructionMissing: { status: 400, title: 'The LCP-Retrieval header is missing' },
  instructionMalformed: { status: 400, title: 'The retrieval instruction cannot be read' },
  instructionInvalid: { status: 403, title: 'The retrieval instruction was not issued by this node as presented' },
  instructionExpired: { status: 410, title: 'The retrieval instruction has expired' },
  instructionUsed: { status: 409, title: 'The retrieval instruction has already been used' },
  wrongReader: { status: 403, title: 'The retrieval instruction is for another reader' },
  notFound: { status: 404, title: 'Not found' },
  internal: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

/** An expected refusal, as a value. */
export interface Refusal {
  refused: ProblemCode;
  detail?: string;
}

export const refuse = (code: ProblemCode, detail?: string): Refusal => ({ refused: code, ...(detail ? { detail } : {}) });
export const isRefusal = (value: unknown): value is Refusal =>
  typeof value === 'object' && value !== null && 'refused' in value;

export const problemType = (code: ProblemCode): string => `urn:lcp:storage:${code}`;

/** The one place a problem document is written. */
export function sendProblem(res: Response, code: ProblemCode, detail?: string): void {
  const { status, title } = PROBLEMS[code];
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: problemType(code), title, status, code, ...(detail ? { detail } : {}) }));
}
