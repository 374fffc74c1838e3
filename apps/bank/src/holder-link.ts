// One key at one issuer: the bank's own key, or a transparent customer's. Two IssuerClients
// share the key, each with its own saved state: the collector only ever asks for deposits
// (acknowledgement mode, long-poll, FileStateStore inbox) and the payer only ever transfers.
// Separate states keep a long-poll from ever holding up a payment; the issuer keeps the
// counter (payer) and the acknowledged mark (collector) apart anyway.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LookupFunction } from 'node:net';
import { join } from 'node:path';
import { FileStateStore, IssuerClient, type CallOptions, type HolderCredentials } from '@lcp/client';
import { parseAmount, type Deposit } from '@lcp/protocol';
import type { Currency } from './currencies.js';
import { reason, type Logger } from './logger.js';
import { Mutex } from './mutex.js';

export interface LinkOwner {
  kind: 'bank' | 'customer';
  /** The transparent customer whose key this is. */
  customerId?: bigint;
}

export interface LinkHooks {
  /** Books one deposit; must be idempotent (a deposit can come again after a crash). Synchronous. */
  credit(link: HolderLink, deposit: Deposit): void;
  /** Books a getDeposits fee the issuer charged. Synchronous. */
  chargeGetDepositsFee(link: HolderLink, fee: bigint): void;
  /** After deposits were booked (e.g. to check the books). */
  afterCredit(link: HolderLink): void;
}

export interface LinkOptions {
  entityId: string;
  owner: LinkOwner;
  credentials: HolderCredentials;
  currency: Currency;
  stateDir: string;
  caPem?: string;
  lookup?: LookupFunction;
  collectWaitMs: number;
  hooks: LinkHooks;
  log: Logger;
}

const FEE_IN_RESPONSE = /<(?:[\w.-]+:)?fee>([0-9.]+)<\/(?:[\w.-]+:)?fee>\s*<(?:[\w.-]+:)?balance>/;

export class HolderLink {
  readonly entityId: string;
  readonly owner: LinkOwner;
  readonly currency: Currency;
  readonly #options: LinkOptions;
  readonly #lock = new Mutex();
  readonly #inboxLock = new Mutex();
  readonly #stop = new AbortController();
  #payer: Promise<IssuerClient> | undefined;
  #collector: Promise<IssuerClient> | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: LinkOptions) {
    this.#options = options;
    this.entityId = options.entityId;
    this.owner = options.owner;
    this.currency = options.currency;
  }

  get closed(): boolean {
    return this.#stop.signal.aborted;
  }

  #connect(role: 'pay' | 'collect'): Promise<IssuerClient> {
    const { currency, credentials, caPem, lookup, stateDir } = this.#options;
    const file = `${createHash('sha256').update(currency.wsdl).digest('hex').slice(0, 16)}.${role}.json`;
    return IssuerClient.connect({
      wsdlUrl: currency.wsdl,
      credentials,
      scale: currency.scale,
      state: new FileStateStore(join(stateDir, this.entityId, file)),
      ...(caPem ? { caPem } : {}),
      ...(lookup ? { lookup } : {}),
      // the collector's requests end when the link closes; losing one loses nothing (acknowledgements)
      retries: role === 'collect' ? 0 : 2,
      timeoutMs: 10_000,
      ...(role === 'collect' ? { onMessage: (m: { direction: string; xml: string }) => this.#watchFee(m) } : {}),
    });
  }

  /** getDeposits charges its fee inside the response; collectDeposits does not return it, so it is read here. */
  #watchFee(message: { direction: string; xml: string }): void {
    if (message.direction !== 'response' || this.closed || typeof message.xml !== 'string' || !message.xml.includes('getDepositsResponse')) return;
    const text = FEE_IN_RESPONSE.exec(message.xml)?.[1];
    const fee = text === undefined ? undefined : parseAmount(text, this.currency.scale);
    if (fee?.ok && fee.value > 0n) this.#options.hooks.chargeGetDepositsFee(this, fee.value);
  }

  #client(role: 'pay' | 'collect'): Promise<IssuerClient> {
    if (this.closed) return Promise.reject(new Error('link closed'));
    let client = role === 'pay' ? this.#payer : this.#collector;
    if (!client) {
      client = this.#connect(role);
      // a failed WSDL fetch is tried again on the next use
      client.catch(() => {
        if (role === 'pay' && this.#payer === client) this.#payer = undefined;
        if (role === 'collect' && this.#collector === client) this.#collector = undefined;
      });
      if (role === 'pay') this.#payer = client;
      else this.#collector = client;
    }
    return client;
  }

  payer(): Promise<IssuerClient> {
    return this.#client('pay');
  }

  collector(): Promise<IssuerClient> {
    return this.#client('collect');
  }

  /** Runs `section` with no other payment or check of this key in progress. */
  exclusive<T>(section: () => Promise<T>): Promise<T> {
    return this.#lock.run(section);
  }

  /** Starts the long-poll loop that collects deposits as they are committed at the issuer. */
  start(): void {
    this.#loop ??= this.#collectLoop();
  }

  async #collectLoop(): Promise<void> {
    let backoff = 250;
    while (!this.closed) {
      try {
        const client = await this.collector();
        await this.#processInbox(client); // anything saved before a restart, first
        if (this.closed) break;
        await client.collectDeposits(this.#options.collectWaitMs);
        if (this.closed) break;
        await this.#processInbox(client);
        backoff = 250;
      } catch (error) {
        if (this.closed) break;
        this.#options.log.warn({ reason: reason(error), issuer: this.currency.wsdl, holder: this.entityId.slice(0, 12) }, 'collecting deposits failed; trying again');
        await sleep(backoff, undefined, { signal: this.#stop.signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  /** One immediate getDeposits, then books what arrived (the payments long-poll calls this). */
  async collectNow(call: CallOptions = {}): Promise<void> {
    const client = await this.collector();
    await client.collectDeposits(0, call);
    await this.#processInbox(client);
  }

  /**
   * Books every deposit saved in the collector's inbox, oldest first, then takes it out of the
   * inbox. Booking is idempotent (by the deposit's sequence), so a crash between the two steps
   * books nothing twice.
   */
  #processInbox(client: IssuerClient): Promise<void> {
    return this.#inboxLock.run(async () => {
      const inbox = await client.inbox();
      let booked = 0;
      for (const deposit of inbox) {
        if (this.closed) return;
        this.#options.hooks.credit(this, deposit);
        booked++;
        // takes the first deposit with this id: the one just booked, since older ones are gone
        await client.waitForDeposit(deposit.transactionId, 0);
      }
      if (booked > 0 && !this.closed) this.#options.hooks.afterCredit(this);
    });
  }

  async close(): Promise<void> {
    this.#stop.abort();
    // destroying the agents ends a long-poll in flight at once
    const clients = await Promise.allSettled([this.#collector, this.#payer].filter((c) => c !== undefined));
    for (const c of clients) if (c.status === 'fulfilled') c.value.close();
    await this.#loop;
    // a payment in flight finishes (or fails) before the books close
    await this.#lock.run(async () => undefined);
    await this.#inboxLock.run(async () => undefined);
  }
}
