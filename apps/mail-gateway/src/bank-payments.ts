// Postage paid to a bank customer (a policy payee such as bob@bank.com): the gateway asks the
// bank, with the token it holds for that account, whether a payment with the quote's reference
// as transactionId has been credited (GET /api/v1/payments/{ref}, a long-poll). The bank in turn
// collects it from the issuer (Figure 2, steps 5 and 6, as Bob's storage node does).
import { BankApi } from './bank-api.js';
import type { PaidAnswer, PaymentSource } from './deposit-collector.js';

export class BankPayments implements PaymentSource {
  constructor(
    readonly api: BankApi,
    readonly scaleOf: (currency: string) => number,
  ) {}

  /**
   * The amount credited with `transactionId` in one of `prices`' currencies that covers its
   * price; else a short one if any; each currency is asked at once, each waiting up to `waitMs`.
   */
  paid(transactionId: string, prices: Record<string, bigint>, waitMs: number): Promise<PaidAnswer | undefined> {
    const entries = Object.entries(prices);
    return new Promise((resolve, reject) => {
      let left = entries.length;
      let short: PaidAnswer | undefined;
      let settled = false;
      if (left === 0) return resolve(undefined);
      for (const [currency, price] of entries) {
        this.api.received(transactionId, { wsdl: currency, scale: this.scaleOf(currency) }, waitMs).then(
          (amount) => {
            if (settled) return;
            if (amount !== undefined && amount >= price) {
              settled = true;
              return resolve({ currency, amount });
            }
            if (amount !== undefined && amount > 0n) short ??= { currency, amount, short: true };
            if (--left === 0) resolve(short);
          },
          (error: unknown) => {
            if (settled) return;
            settled = true;
            reject(error as Error);
          },
        );
      }
    });
  }
}
