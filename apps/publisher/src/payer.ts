// video.com pays from its own account at each issuer (its wallet): peers for storage and
// reads, and buyers back when a sale cannot be delivered.
import type { CallOptions, Wallet } from '@lcp/client';
import type { TransferFundsResponse } from '@lcp/protocol';
import { whileIssuerUnreachable } from './issuer-retry.js';

/** How long a payment is retransmitted while its issuer cannot be reached. */
const UNREACHABLE_FOR_MS = 60_000;

export interface PayTo {
  entityId: string;
  userid?: string;
}

export class PaymentFailedError extends Error {
  override name = 'PaymentFailedError';
}

export class Payer {
  constructor(private readonly wallet: Wallet) {}

  /** A transfer that must succeed: any other result is an error. */
  async pay(
    currency: { wsdl: string; scale: number },
    to: PayTo,
    amount: bigint,
    transactionId: string,
    call: CallOptions = {},
  ): Promise<TransferFundsResponse> {
    const issuer = await this.wallet.issuer(currency.wsdl, { scale: currency.scale });
    const order = { recipient: to.entityId, amount, transactionId, ...(to.userid ? { userid: to.userid } : {}) };
    const response = await whileIssuerUnreachable(() => issuer.transferFunds(order, call), Date.now() + UNREACHABLE_FOR_MS);
    if (response.result !== 'success') throw new PaymentFailedError(`paying ${transactionId}: ${response.result}`);
    return response;
  }
}
