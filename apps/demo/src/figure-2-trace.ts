// Turns the events the services recorded in one trace into Figure 2's arrows: each step is
// identified by what its receiver (or sender) saw, and the arrows are ordered by when.
import type { TraceEvent } from '@lcp/protocol';

export interface Figure2Arrow {
  step: string;
  from: string;
  to: string;
  label: string;
  at: number;
  /** Where the step is sent and handled. */
  code: string;
}

/** Where each step lives in the code: sender → receiver. */
export const STEP_CODE: Record<string, string> = {
  '(1)': 'apps/player/src/buy-video.ts → apps/publisher/src/sales.ts (negotiate)',
  '(2)': 'apps/agent/src/agent-service.ts (pay) → packages/client/src/issuer-client.ts → apps/issuer/src/soap-service.ts (transferFunds)',
  '(3)': 'apps/publisher/src/sales.ts (waitForDeposit) → apps/issuer/src/soap-service.ts (getDeposits)',
  "(3')": 'apps/publisher/src/sales.ts, payer.ts → apps/issuer/src/soap-service.ts (transferFunds with userid)',
  '(4)': 'apps/publisher/src/sales.ts → apps/storage-node/src/storage-service.ts (requestRetrieval)',
  '(5)': 'apps/storage-node/src/payments/bank-payment-verifier.ts → apps/bank/src/api/routes.ts (GET /v1/payments/:transactionId)',
  '(6)': 'apps/bank/src/holder-link.ts (collectNow) → apps/issuer/src/soap-service.ts (getDeposits)',
  "(4')": 'apps/storage-node/src/storage-service.ts (signs the instructions) → apps/publisher/src/sales.ts → GET /purchases/:id',
  '(7)': 'apps/player/src/buy-video.ts → apps/storage-node/src/http-api.ts (GET /retrieve)',
};

/** The paper's order of the steps (4' twice: Bob to video.com, then video.com to Alice). */
export const FIGURE_2_ORDER = ['(1)', '(2)', '(3)', "(3')", '(4)', '(5)', '(6)', "(4')", "(4')", '(7)'];

type Rule = (e: TraceEvent & { step?: string }, name: (id?: string) => string, isIssuer: (party: string) => boolean) => Omit<Figure2Arrow, 'at' | 'code'> | undefined;

const RULES: Rule[] = [
  (e) => (e.party === 'video.com' && e.what.startsWith('(1)') ? { step: '(1)', from: 'Alice', to: 'video.com', label: 'negotiate: price, currency, payee key, transactionId' } : undefined),
  (e, name, isIssuer) =>
    isIssuer(e.party) && e.what.startsWith('transferFunds received: buy-')
      ? { step: '(2)', from: name(e.peer), to: e.party, label: 'transferFundsRequest to video.com' }
      : undefined,
  (e, name, isIssuer) =>
    isIssuer(e.party) && e.what.startsWith('getDeposits answered:') && e.what.includes('buy-')
      ? { step: '(3)', from: name(e.peer), to: e.party, label: "getDepositsRequest: Alice's deposit" }
      : undefined,
  (e, name) =>
    e.party === 'money.com' && e.what.startsWith('transferFunds received: read-')
      ? { step: "(3')", from: name(e.peer), to: 'money.com', label: "transferFundsRequest: the contract's read price for Bob" }
      : undefined,
  (e) => (e.party === 'bob' && (e as { step?: string }).step === '4' ? { step: '(4)', from: 'video.com', to: 'Bob', label: 'request retrieval instructions' } : undefined),
  (e) =>
    e.party === 'bob' && (e as { step?: string }).step === '5' && e.what === 'payment asked'
      ? { step: '(5)', from: 'Bob', to: 'bank.com', label: 'has the payment for this read arrived?' }
      : undefined,
  (e) =>
    e.party === 'money.com' && e.what.startsWith('getDeposits answered:') && e.what.includes('read-')
      ? { step: '(6)', from: 'bank.com', to: 'money.com', label: "getDepositsRequest: credits Bob" }
      : undefined,
  (e) =>
    e.party === 'bob' && (e as { step?: string }).step === "4'" && e.what === 'retrieval instructions answered'
      ? { step: "(4')", from: 'Bob', to: 'video.com', label: 'retrieval instructions (signed, one read, expiring)' }
      : undefined,
  (e) => (e.party === 'video.com' && e.what.startsWith("(4')") ? { step: "(4')", from: 'video.com', to: 'Alice', label: 'retrieval instructions' } : undefined),
  (e) =>
    e.party === 'bob' && (e as { step?: string }).step === '7' && e.what === 'content served'
      ? { step: '(7)', from: 'Alice', to: 'Bob', label: 'retrieve the video with the instructions' }
      : undefined,
];

/**
 * The Figure 2 arrows among `events` (one trace), ordered by the time they were recorded.
 * `issuers`: where Alice may pay (steps 2 and 3); Bob is always paid at money.com.
 */
export function figure2Arrows(events: readonly TraceEvent[], names: ReadonlyMap<string, string>, issuers: readonly string[] = ['money.com']): Figure2Arrow[] {
  const name = (id?: string) => (id && names.get(id)) ?? id?.slice(0, 8) ?? '?';
  const isIssuer = (party: string) => issuers.includes(party);
  const arrows: Figure2Arrow[] = [];
  for (const event of [...events].sort((a, b) => a.at - b.at)) {
    for (const rule of RULES) {
      const arrow = rule(event, name, isIssuer);
      if (arrow) arrows.push({ ...arrow, at: event.at, code: STEP_CODE[arrow.step] ?? '' });
    }
  }
  return arrows;
}
