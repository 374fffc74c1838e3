// How the node learns that a payment arrived before it writes or hands out a read (Figure 2,
// step 5). Three places can answer, depending on where the node's payments go: the issuer
// itself (the node's own key), the local LCP agent that holds the key, or the node's bank.
import type { Currency } from '../wire.js';

export interface VerifyContext {
  /** The traced request this check is made for; sent on so the answering party can join the trace. */
  traceparent?: string;
}

export interface PaymentVerifier {
  /** Who answers, for logs and traces: "issuer", "agent", "bank". */
  readonly kind: string;
  /**
   * The payment with `transactionId` in `currency`, if one of at least `minAmount` (minor units)
   * arrived for this node, waiting up to `waitMs` for it; undefined otherwise. Throws
   * PaymentVerifierError when the answering party cannot be asked.
   */
  verify(
    transactionId: string,
    minAmount: bigint,
    currency: Currency,
    waitMs: number,
    context?: VerifyContext,
  ): Promise<{ amount: bigint } | undefined>;
  close?(): void | Promise<void>;
}

/** The party that checks payments could not be reached or answered something unreadable. */
export class PaymentVerifierError extends Error {
  override name = 'PaymentVerifierError';
}
