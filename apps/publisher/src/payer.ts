// video.com pays from its own account at each issuer (its wallet): peers for storage and
// reads, and buyers back when a sale cannot be delivered.
import type { CallOptions, Wallet } from '@lcp/client';
import type { TransferFundsResponse } from '@lcp/protocol';

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
    const response = await issuer.transferFunds(
      { recipient: to.entityId, amount, transactionId, ...(to.userid ? { userid: to.userid } : {}) },
      call,
    );
    if (response.result !== 'success') throw new PaymentFailedError(`paying ${transactionId}: ${response.result}`);
    return response;
  }
}
