// What the gateway decides about one message, after its DATA: which recipients the sender must
// pay for (protected, not allow-listed, not a known correspondent, not a reply to their own
// mail), the quote that binds a payment to this message (sender, recipients, Message-ID), and
// whether the payment named in the message arrived, covers the price and is unused.
import { createHash, randomBytes } from 'node:crypto';
import { formatAmount } from '@lcp/protocol';
import type { DepositCollector, PaymentSource } from './deposit-collector.js';
import type { ParsedMessage } from './message.js';
import { allowListed, policyFor, type Policy, type RecipientPolicy } from './policy.js';
import type { PostageBook, Quote } from './postage-book.js';
import { POSTAGE_CODE, postageReplyLines } from './postage-reply.js';

export interface Envelope {
  sender: string;
  recipients: string[];
}

export type Decision =
  /**
   * Relay with this X-LCP-Postage value; `settle` records the payment as used once relayed;
   * `release` after a failed relay (`refused`: the MTA answered with a refusal, so it did not take the message).
   */
  | { kind: 'relay'; postage: string; ref?: string; settle?: () => Promise<void>; release?: (refused: boolean) => Promise<void> }
  /** The same paid message again (the sender did not see our answer): accepted, not relayed twice. */
  | { kind: 'duplicate'; ref: string }
  | { kind: 'refuse'; code: number; message: string | string[] };

export interface DeskOptions {
  policy: Policy;
  book: PostageBook;
  collector: DepositCollector;
  /** The gateway's entity id: postage is paid to it unless the recipient's policy names a bank payee. */
  payee: string;
  /** Bank payees (bob@bank.com) and how to ask their bank about a payment. */
  banks: ReadonlyMap<string, PaymentSource>;
  quoteSeconds: number;
  paymentWaitMs: number;
  now?: () => number;
}

export const bindingOf = (envelope: Envelope, messageId: string): string =>
  createHash('sha256')
    .update(JSON.stringify([envelope.sender, [...envelope.recipients].sort(), messageId]))
    .digest('hex');

const refuse = (code: number, message: string | string[]): Decision => ({ kind: 'refuse', code, message });

export class PostageDesk {
  readonly #inFlight = new Set<string>();
  /** Relayed, the used mark not yet committed: the same message again is a duplicate already. */
  readonly #relayed = new Set<string>();
  readonly #now: () => number;

  constructor(readonly options: DeskOptions) {
    this.#now = options.now ?? Date.now;
  }

  /** The recipients this sender must pay for, with their policies (prices by currency, payee). */
  payingRecipients(envelope: Envelope, message: ParsedMessage): Map<string, RecipientPolicy> {
    const { policy, book } = this.options;
    const paying = new Map<string, RecipientPolicy>();
    for (const recipient of envelope.recipients) {
      const rule = policyFor(policy, recipient);
      if (!rule) continue;
      if (envelope.sender && allowListed(rule, envelope.sender)) continue;
      if (envelope.sender && book.isCorrespondent(recipient, envelope.sender)) continue;
      if (message.inReplyTo.length > 0 && book.sentAny(recipient, message.inReplyTo)) continue;
      paying.set(recipient, rule);
    }
    return paying;
  }

  /** Tells whether a postage payment for `ref` is being checked or relayed right now (the sweep leaves it alone). */
  busy(ref: string): boolean {
    return this.#inFlight.has(ref) || this.#relayed.has(ref);
  }

  async decide(envelope: Envelope, message: ParsedMessage): Promise<Decision> {
    const paying = this.payingRecipients(envelope, message);
    if (paying.size === 0) return { kind: 'relay', postage: 'free' };
    if (!message.messageId) return refuse(550, '5.6.0 Postage is bound to the Message-ID: send the message with a Message-ID header.');
    // one payment goes to one payee: recipients paid to different accounts are sent to separately
    const payees = new Set([...paying.values()].map((r) => r.payee ?? ''));
    if (payees.size > 1) return refuse(550, '5.7.0 These recipients take postage at different payees: send to each of them separately.');
    const payee = [...paying.values()][0]?.payee;
    // the currencies every paying recipient accepts, and the total in each
    const prices = new Map<string, bigint>();
    const [first, ...rest] = [...paying.values()].map((r) => r.prices);
    for (const currency of (first ?? new Map<string, bigint>()).keys()) {
      if (rest.every((p) => p.has(currency))) prices.set(currency, [...paying.values()].reduce((sum, r) => sum + (r.prices.get(currency) ?? 0n), 0n));
    }
    if (prices.size === 0) return refuse(550, '5.7.0 These recipients accept postage in no common currency: send to each of them separately.');
    const binding = bindingOf(envelope, message.messageId);
    if (!message.payment) {
      // the sender lost our answer and sends the paid message again, without its reference
      const delivered = this.options.book.deliveredQuote(binding);
      if (delivered) return { kind: 'duplicate', ref: delivered.ref };
      return this.#askForPostage(envelope, message.messageId, binding, paying, prices, payee, message.refundTo);
    }
    return this.#checkPayment(message.payment, binding, message.refundTo);
  }

  async #askForPostage(
    envelope: Envelope,
    messageId: string,
    binding: string,
    paying: Map<string, RecipientPolicy>,
    prices: Map<string, bigint>,
    payee: string | undefined,
    refundTo: string | undefined,
  ): Promise<Decision> {
    const { book, policy, quoteSeconds } = this.options;
    const now = this.#now();
    let quote = book.openQuote(binding, now);
    if (quote && refundTo && !quote.refundTo) {
      // the sweep refunds postage paid but never used there
      await book.setRefundTo(quote.ref, refundTo);
      quote = { ...quote, refundTo };
    }
    if (!quote) {
      const shares: Record<string, Record<string, bigint>> = {};
      for (const [recipient, r] of paying) shares[recipient] = Object.fromEntries([...r.prices].filter(([c]) => prices.has(c)));
      const fresh: Omit<Quote, 'state'> = {
        ref: `pst_${randomBytes(16).toString('base64url')}`,
        binding,
        sender: envelope.sender,
        recipients: [...envelope.recipients].sort(),
        messageId,
        prices: Object.fromEntries(prices),
        shares,
        createdAt: now,
        expiresAt: now + quoteSeconds * 1000,
        ...(payee ? { payee } : {}),
        ...(refundTo ? { refundTo } : {}),
      };
      await book.addQuote(fresh); // durable before the sender is told the reference
      quote = { ...fresh, state: 'quoted' };
    }
    const offers = Object.entries(quote.prices).map(([currency, amount]) => ({
      ref: quote.ref,
      amount,
      scale: policy.currencies.get(currency)?.scale ?? 2,
      currency,
      payee: quote.payee ?? this.options.payee,
      expiresAt: quote.expiresAt,
    }));
    return refuse(POSTAGE_CODE, postageReplyLines([...paying.keys()], offers));
  }

  async #checkPayment(ref: string, binding: string, refundTo: string | undefined): Promise<Decision> {
    const { book, collector, banks, policy, paymentWaitMs } = this.options;
    const quote = book.quote(ref);
    if (!quote) return refuse(550, `5.7.0 Unknown postage reference ${ref}: send the message without it to be told the postage.`);
    if (quote.binding !== binding) {
      return refuse(550, `5.7.0 Postage ${ref} was quoted for another message (sender, recipients and Message-ID must be the same): one payment passes one message.`);
    }
    if (quote.state === 'delivered' || this.#relayed.has(ref)) return { kind: 'duplicate', ref };
    if (quote.expiresAt <= this.#now()) return refuse(550, `5.7.0 Postage ${ref} has expired: send the message without it for a new quote.`);
    if (this.#inFlight.has(ref)) return refuse(451, `4.7.0 The message paid with ${ref} is being delivered right now: try again in a moment.`);
    const source = quote.payee ? banks.get(quote.payee) : collector;
    if (!source) throw new Error(`no bank account is configured for the payee ${quote.payee ?? ''}`);
    this.#inFlight.add(ref);
    const release = () => this.#inFlight.delete(ref);
    try {
      if (refundTo && refundTo !== quote.refundTo) await book.setRefundTo(ref, refundTo);
      const paid = await source.paid(ref, quote.prices, paymentWaitMs);
      if (!paid) {
        release();
        return refuse(451, `4.7.1 The payment ${ref} has not arrived at the issuer yet: try again later.`);
      }
      const scale = policy.currencies.get(paid.currency)?.scale ?? 2;
      if (paid.short) {
        release();
        const price = quote.prices[paid.currency] ?? 0n;
        return refuse(550, `5.7.0 ${ref} was paid ${formatAmount(paid.amount, scale)} of ${formatAmount(price, scale)}: pay the rest with the same transactionId.`);
      }
      // durable before the MTA has the message: if "delivered" is never written (a crash, a failed
      // write), the sweep must not take this quote for postage paid and never used
      if (!(await book.markRelaying(ref, paid.currency, paid.amount, this.#now()))) {
        release();
        return refuse(550, `5.7.0 Postage ${ref} has expired: send the message without it for a new quote.`);
      }
      return {
        kind: 'relay',
        ref,
        postage: `paid ref=${ref}; amount=${formatAmount(paid.amount, scale)}; currency=${paid.currency}`,
        settle: async () => {
          this.#relayed.add(ref);
          try {
            await book.markDelivered(ref, paid.currency, paid.amount, refundTo, this.#now());
          } finally {
            this.#relayed.delete(ref);
            release();
          }
        },
        release: async (refused) => {
          try {
            // a refusal means the MTA did not take it; without an answer it may have, and the mark stays
            if (refused) await book.clearRelaying(ref);
          } finally {
            release();
          }
        },
      };
    } catch (error) {
      release();
      throw error;
    }
  }
}
