// Live updates for a customer's open pages (Server-Sent Events) and for agents waiting on a
// payment (the payments long-poll): in-process publish/subscribe per customer.
export interface PaymentEvent {
  type: 'payment';
  paymentId: string;
  direction: 'in' | 'out';
  status: string;
  currency: string;
  currencyName: string;
  transactionId: string;
  amount: string;
  /** The customer's balance in this currency after the payment. */
  balance: string;
  at: string;
}

type Listener = (event: PaymentEvent) => void;

export class Events {
  readonly #listeners = new Map<bigint, Set<Listener>>();

  subscribe(customerId: bigint, listener: Listener): () => void {
    let set = this.#listeners.get(customerId);
    if (!set) this.#listeners.set(customerId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(customerId);
    };
  }

  emit(customerId: bigint, event: PaymentEvent): void {
    for (const listener of this.#listeners.get(customerId) ?? []) {
      try {
        listener(event);
      } catch {
        // one broken stream must not stop the others
      }
    }
  }
}
