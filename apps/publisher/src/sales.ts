// video.com's side of the paper's Figure 2 (section 5.2): negotiate a purchase (step 1), wait
// for the buyer's deposit (3), pay the storing peer its read price (3'), ask the peer for
// retrieval instructions (4) and hand them to the buyer (4'). If the peer fails after it was
// paid, the next replica is tried; if none delivers, the buyer is refunded: never charged twice.
import { randomBytes } from 'node:crypto';
import type { Wallet } from '@lcp/client';
import { childTraceparent, parseAmount, parseTraceparent, traceClock, type TraceSink } from '@lcp/protocol';
import { chargedKb, type StorageNodeClient } from '@lcp/storage-node';
import type { Catalog } from './catalog.js';
import type { Logger } from './logger.js';
import { whileIssuerUnreachable } from './issuer-retry.js';
import type { Payer } from './payer.js';
import type { Peer } from './placement.js';
import type { Purchase, PublisherStore } from './store.js';

export type NegotiationProblem = 'unknownVideo' | 'currencyNotAccepted' | 'invalidBuyer';

export interface SalesDeps {
  party: string;
  catalog: Catalog;
  store: PublisherStore;
  wallet: Wallet;
  payer: Payer;
  connect: (peer: Peer) => StorageNodeClient;
  paymentWaitMs: number;
  purchaseSeconds: number;
  log: Logger;
  onTrace?: TraceSink;
}

const ENTITY_ID = /^[0-9a-f]{64}$/;

export class Sales {
  readonly #deps: SalesDeps;
  readonly #running = new Map<string, Promise<void>>();
  readonly #watchers = new Map<string, Set<() => void>>();
  #closed = false;

  constructor(deps: SalesDeps) {
    this.#deps = deps;
    for (const purchase of deps.store.unfinished()) this.#start(purchase); // carry on after a restart
  }

  /** Step 1: the price, the currency, whom to pay (video.com's key) and the transactionId. */
  negotiate(videoId: string, currency: string, buyer: string, traceparent?: string): Purchase | NegotiationProblem {
    const video = this.#deps.catalog.videos.get(videoId);
    if (!video) return 'unknownVideo';
    const price = video.prices.get(currency);
    if (price === undefined) return 'currencyNotAccepted';
    if (!ENTITY_ID.test(buyer)) return 'invalidBuyer';
    const id = randomBytes(12).toString('base64url');
    const purchase: Purchase = {
      id,
      videoId,
      currency,
      price,
      buyer,
      transactionId: `buy-${id}`,
      status: 'awaiting-payment',
      ...(traceparent && parseTraceparent(traceparent) ? { traceparent } : {}),
      expiresAt: new Date(Date.now() + this.#deps.purchaseSeconds * 1000),
    };
    this.#deps.store.addPurchase(purchase);
    this.#trace(purchase, '(1) purchase negotiated', buyer);
    this.#start(purchase);
    return purchase;
  }

  /** The purchase, once it is no longer waiting (or after `waitMs`). */
  async awaitPurchase(id: string, waitMs: number): Promise<Purchase | undefined> {
    const current = this.#deps.store.purchase(id);
    if (!current || !['awaiting-payment', 'paid'].includes(current.status) || waitMs <= 0) return current;
    await new Promise<void>((resolve) => {
      const watchers = this.#watchers.get(id) ?? new Set();
      this.#watchers.set(id, watchers);
      const done = () => {
        clearTimeout(timer);
        watchers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      watchers.add(done);
    });
    return this.#deps.store.purchase(id);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const watchers of this.#watchers.values()) for (const wake of [...watchers]) wake();
    await Promise.allSettled(this.#running.values());
  }

  #start(purchase: Purchase): void {
    const run = this.#fulfil(purchase)
      .catch((error: unknown) => this.#deps.log.error({ err: error, purchase: purchase.id }, 'purchase failed'))
      .finally(() => {
        this.#running.delete(purchase.id);
        for (const wake of [...(this.#watchers.get(purchase.id) ?? [])]) wake();
      });
    this.#running.set(purchase.id, run);
  }

  #trace(purchase: Purchase, what: string, peer?: string): void {
    const context = parseTraceparent(purchase.traceparent);
    if (!context || !this.#deps.onTrace) return;
    this.#deps.onTrace({ ...context, party: this.#deps.party, what, ...(peer ? { peer } : {}), at: traceClock() });
  }

  async #fulfil(purchase: Purchase): Promise<void> {
    const { catalog, store, wallet, payer, log } = this.#deps;
    const video = catalog.videos.get(purchase.videoId);
    const currency = catalog.currencies.find((c) => c.wsdl === purchase.currency);
    if (!video || !currency) throw new Error(`purchase ${purchase.id} names what the catalog no longer has`);
    const call = () => (purchase.traceparent ? { traceparent: childTraceparent(purchase.traceparent) } : {});

    if (purchase.status === 'awaiting-payment') {
      // Step 3: getDeposits long-poll at the issuer until the buyer's transfer is there.
      const issuer = await wallet.issuer(currency.wsdl, { scale: currency.scale });
      const left = Math.max(0, Math.min(this.#deps.paymentWaitMs, purchase.expiresAt.getTime() - Date.now()));
      const deadline = Date.now() + left;
      const deposit = this.#closed
        ? undefined
        : await whileIssuerUnreachable(() => issuer.waitForDeposit(purchase.transactionId, Math.max(0, deadline - Date.now()), call()), deadline);
      if (!deposit) {
        if (this.#closed) return; // picked up again at the next start
        store.setStatus(purchase.id, 'expired', { detail: 'no payment arrived in time' });
        return;
      }
      this.#trace(purchase, `(3) deposit seen: ${purchase.transactionId}`, new URL(currency.wsdl).hostname);
      if (deposit.amount < purchase.price) {
        await payer.pay(currency, { entityId: purchase.buyer }, deposit.amount, `refund-${purchase.id}`, call());
        store.setStatus(purchase.id, 'refunded', { detail: 'the payment was below the price; it was returned' });
        return;
      }
      store.setStatus(purchase.id, 'paid');
    }

    let attempt = 0;
    for (const placement of store.placements(video.id)) {
      const { contract } = placement;
      const readPrice = parseAmount(contract.readPricePerKb, contract.currency.scale);
      if (!readPrice.ok) continue;
      const readPayment = `read-${purchase.id}-${attempt++}`;
      const started = performance.now();
      const node = this.#deps.connect({ url: placement.url, nodeId: placement.nodeId });
      try {
        // Step 3': the contract's read price, to where the peer is paid (a bank key + userid for Bob).
        await payer.pay(contract.currency, contract.payTo, readPrice.value * chargedKb(video.size), readPayment, call());
        this.#trace(purchase, `(3') read price paid: ${readPayment}`, placement.nodeId);
        // Steps 4 and 4': the peer checks the payment (with its bank: 5, 6) and signs instructions.
        const instruction = await node.requestRetrieval(
          contract.contractId,
          placement.objectId,
          { reader: purchase.buyer, paymentTransactionId: readPayment },
          call(),
        );
        store.recordPeer(placement.nodeId, { ok: true, latencyMs: performance.now() - started });
        store.setStatus(purchase.id, 'ready', { instruction });
        this.#trace(purchase, "(4') retrieval instructions returned to the buyer", purchase.buyer);
        return;
      } catch (error) {
        store.recordPeer(placement.nodeId, { ok: false });
        log.warn({ err: error, purchase: purchase.id, peer: placement.nodeId }, 'peer failed; trying the next replica');
      } finally {
        node.close();
      }
    }
    // No replica delivered: return the buyer's money, so it is never charged for nothing.
    await payer.pay(currency, { entityId: purchase.buyer }, purchase.price, `refund-${purchase.id}`, call());
    store.setStatus(purchase.id, 'refunded', { detail: 'no peer could serve the video; the price was returned' });
  }
}
