// Payments to the key the local LCP agent holds (Alice's node): the agent's local interface,
// GET /v1/deposits/{transactionId}?currency=&wait=, answers once the deposit has arrived.
import type { LookupFunction } from 'node:net';
import type { Currency } from '../wire.js';
import { askForDeposit, problemCode } from './deposit-answer.js';
import { getJson } from './http-json.js';
import { PaymentVerifierError, type PaymentVerifier, type VerifyContext } from './payment-verifier.js';

export interface AgentPaymentVerifierOptions {
  /** The agent's local interface, e.g. http://127.0.0.1:7468 */
  url: string;
  /** This application's bearer token at the agent. */
  token: string;
  lookup?: LookupFunction;
  timeoutMs?: number;
}

export class AgentPaymentVerifier implements PaymentVerifier {
  readonly kind = 'agent';

  constructor(readonly options: AgentPaymentVerifierOptions) {}

  verify(
    transactionId: string,
    minAmount: bigint,
    currency: Currency,
    waitMs: number,
    context: VerifyContext = {},
  ): Promise<{ amount: bigint } | undefined> {
    const { url, token, lookup, timeoutMs } = this.options;
    const source = { base: new URL('/v1/deposits/', url).href, token, who: 'the agent', ...(lookup ? { lookup } : {}), ...(timeoutMs ? { timeoutMs } : {}) };
    return askForDeposit(source, transactionId, minAmount, currency, waitMs, context);
  }
}

/** The entity id the agent receives payments on: GET /v1/identity. */
export async function agentIdentity(options: AgentPaymentVerifierOptions): Promise<string> {
  const { status, body } = await getJson(new URL('/v1/identity', options.url).href, {
    headers: { authorization: `Bearer ${options.token}` },
    timeoutMs: options.timeoutMs ?? 10_000,
    ...(options.lookup ? { lookup: options.lookup } : {}),
  });
  const entityId = (body as { entityId?: unknown } | undefined)?.entityId;
  if (status !== 200 || typeof entityId !== 'string' || !/^[0-9a-f]{64}$/.test(entityId)) {
    throw new PaymentVerifierError(`the agent at ${options.url} did not tell its identity (HTTP ${status}${problemCode(body)})`);
  }
  return entityId;
}
