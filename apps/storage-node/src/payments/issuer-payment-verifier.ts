// Payments to the node's own key, checked at the issuer with getDeposits (long-poll): the node
// is its own LCP holder. Deposits taken from the client's inbox are remembered (in the node's
// database) so a payment checked once is still known after a refusal or a restart.
import type { IssuerClient } from '@lcp/client';
import type { Currency } from '../wire.js';
import { PaymentVerifierError, type PaymentVerifier, type VerifyContext } from './payment-verifier.js';

/** Deposits already taken from the issuer, by (currency WSDL, transactionId). */
export interface DepositMemory {
  recall(currency: string, transactionId: string): bigint | undefined;
  remember(currency: string, transactionId: string, amount: bigint): void;
}

export interface IssuerPaymentVerifierOptions {
  /** The node's client for a currency, e.g. `(c) => wallet.issuer(c.wsdl, { scale: c.scale })`. */
  client: (currency: Currency) => Promise<IssuerClient>;
  memory?: DepositMemory;
}

export class IssuerPaymentVerifier implements PaymentVerifier {
  readonly kind = 'issuer';
  readonly #memory: DepositMemory;

  constructor(readonly options: IssuerPaymentVerifierOptions) {
    const remembered = new Map<string, bigint>();
    this.#memory = options.memory ?? {
      recall: (c, t) => remembered.get(`${c} ${t}`),
      remember: (c, t, a) => void remembered.set(`${c} ${t}`, a),
    };
  }

  async verify(
    transactionId: string,
    minAmount: bigint,
    currency: Currency,
    waitMs: number,
    context: VerifyContext = {},
  ): Promise<{ amount: bigint } | undefined> {
    let amount = this.#memory.recall(currency.wsdl, transactionId);
    if (amount === undefined) {
      try {
        const client = await this.options.client(currency);
        const deposit = await client.waitForDeposit(transactionId, waitMs, context.traceparent ? { traceparent: context.traceparent } : {});
        if (!deposit) return undefined;
        amount = deposit.amount;
      } catch (error) {
        throw new PaymentVerifierError(`issuer at ${currency.wsdl}: ${(error as Error).message}`, { cause: error });
      }
      this.#memory.remember(currency.wsdl, transactionId, amount);
    }
    return amount >= minAmount ? { amount } : undefined;
  }
}
