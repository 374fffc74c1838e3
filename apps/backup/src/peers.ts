// The peers: storage nodes named by configuration (url + node id), never by code, so the
// same flow runs against nodes in-process, in containers or across the Internet. Each peer
// has a pinned StorageNodeClient with the buyer's credentials and a record of what it did.
import type { LookupFunction } from 'node:net';
import { chargedKb, StorageNodeClient, StorageNodeIdentityError, StorageNodeProblemError, type ByteRange, type Contract, type Offer } from '@lcp/storage-node';
import { parseAmount } from '@lcp/protocol';
import { z } from 'zod';
import type { Catalog, StoredContract } from './catalog.js';
import { emptyRecord, type PeerRecord } from './peer-choice.js';
import type { Spending } from './spending.js';

export const peerListSchema = z
  .array(
    z.object({
      name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
      url: z.url({ protocol: /^https$/ }),
      nodeId: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  )
  .min(1);
export type PeerConfig = z.infer<typeof peerListSchema>[number];

/** The peer could not be reached (refused, timed out, reset). */
export class PeerUnreachableError extends Error {
  override name = 'PeerUnreachableError';
}

export interface Prices {
  contract: bigint;
  writePerKb: bigint;
  readPerKb: bigint;
  capacityBytes: number;
}

/**
 * A paid request presented once more when the node could not see the payment within its wait
 * (a slow issuer): a refused payment is not spent and may be presented again (storage-node README).
 */
async function presentTwice<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (error instanceof StorageNodeProblemError && error.code === 'paymentNotVerified') return request();
    throw error;
  }
}

// a contract must stay valid this long after a write to be worth writing into
const CONTRACT_MARGIN_MS = 60_000;
/** The last part of a contract's window in which it is "near expiry": not written into, and renewed by repair. */
export const RENEW_FRACTION = 0.25;

/** True when the contract is near its end (its last quarter, or the last minute) at `now`. */
export function nearExpiry(contract: Contract, now: number): boolean {
  const until = Date.parse(contract.validUntil);
  const window = until - Date.parse(contract.validFrom);
  return until - Math.max(CONTRACT_MARGIN_MS, window * RENEW_FRACTION) <= now;
}

export class Peer {
  offer: Offer | undefined;
  readonly client: StorageNodeClient;
  /** Where the peer's record and contracts are kept; set by the client once it has a catalog. */
  catalog: Catalog | undefined;

  readonly #now: () => number;

  constructor(
    readonly config: PeerConfig,
    credentials: { certPem: string; keyPem: string },
    lookup?: LookupFunction,
    now: () => number = Date.now,
  ) {
    this.#now = now;
    this.client = new StorageNodeClient({ url: config.url, nodeId: config.nodeId, credentials, ...(lookup ? { lookup } : {}), timeoutMs: 20_000 });
  }

  get nodeId(): string {
    return this.config.nodeId;
  }
  get name(): string {
    return this.config.name;
  }
  get record(): PeerRecord {
    if (!this.catalog) return emptyRecord();
    return (this.catalog.records[this.nodeId] ??= emptyRecord());
  }
  get contracts(): StoredContract[] {
    if (!this.catalog) throw new Error('no catalog yet');
    return (this.catalog.contracts[this.nodeId] ??= []);
  }

  /** Runs one call; network failures count as missed probes and become PeerUnreachableError. */
  async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      const result = await run();
      return result;
    } catch (error) {
      if (error instanceof StorageNodeProblemError || error instanceof StorageNodeIdentityError) throw error;
      this.record.probesMissed++;
      throw new PeerUnreachableError(`peer ${this.name} (${this.config.url}) is unreachable: ${what}: ${(error as Error).message}`);
    }
  }

  /** GET /offer: refreshes the price; also the uptime probe. */
  async refreshOffer(): Promise<Offer> {
    this.offer = await this.call('offer', () => this.client.offer());
    this.record.probesAnswered++;
    return this.offer;
  }

  prices(scale: number): Prices | undefined {
    if (!this.offer) return undefined;
    const amount = (text: string) => {
      const parsed = parseAmount(text, scale);
      return parsed.ok ? parsed.value : undefined;
    };
    const contract = amount(this.offer.contractPrice);
    const writePerKb = amount(this.offer.writePricePerKb);
    const readPerKb = amount(this.offer.readPricePerKb);
    if (contract === undefined || writePerKb === undefined || readPerKb === undefined) return undefined;
    return { contract, writePerKb, readPerKb, capacityBytes: this.offer.capacityBytes };
  }

  /** The cost of storing fragments of these sizes here (new contracts as needed, then writes). */
  costOf(fragmentSizes: readonly number[], scale: number, now = this.#now()): bigint | undefined {
    const prices = this.prices(scale);
    if (!prices) return undefined;
    const free = this.usableContracts(now).map((c) => c.contract.capacityBytes - c.usedBytes);
    let contracts = 0;
    let newFree = 0;
    let cost = 0n;
    for (const size of fragmentSizes) {
      if (size > prices.capacityBytes) return undefined;
      cost += prices.writePerKb * chargedKb(size);
      const fit = free.findIndex((f) => f >= size);
      if (fit !== -1) free[fit] = (free[fit] as number) - size;
      else if (newFree >= size) newFree -= size;
      else {
        contracts++;
        newFree = prices.capacityBytes - size;
      }
    }
    return cost + prices.contract * BigInt(contracts);
  }

  /** Contracts worth writing into: not near their end (see nearExpiry). */
  usableContracts(now = this.#now()): StoredContract[] {
    return this.contracts.filter((c) => !nearExpiry(c.contract, now));
  }

  /** A contract here with room for `size` bytes: an existing one, or a new one bought now. */
  async contractFor(size: number, spending: Spending): Promise<StoredContract> {
    const existing = this.usableContracts().find((c) => c.contract.capacityBytes - c.usedBytes >= size);
    if (existing) return existing;
    const stored = await this.buyContract(size, spending);
    this.contracts.push(stored);
    return stored;
  }

  /** A new contract with room for `size` bytes, paid now; the caller keeps it where it belongs. */
  async buyContract(size: number, spending: Spending): Promise<StoredContract> {
    const offer = this.offer && Date.parse(this.offer.expiresAt) > this.#now() + 5_000 ? this.offer : await this.refreshOffer();
    const prices = this.prices(spending.currency.scale);
    if (!prices) throw new Error(`peer ${this.name} sells in another currency or at unreadable prices`);
    if (size > offer.capacityBytes) throw new Error(`peer ${this.name} sells contracts of ${offer.capacityBytes} bytes; a fragment has ${size}`);
    const paymentTransactionId = await spending.pay('contract', this, offer.payTo, prices.contract);
    const contract: Contract = await this.call('buy a contract', () => presentTwice(() => this.client.buyContract({ offerId: offer.offerId, paymentTransactionId })));
    return { contract, usedBytes: 0 };
  }

  /** A paid write of one object; returns its sha256 as the peer recorded it. */
  async write(stored: StoredContract, objectId: string, bytes: Buffer, spending: Spending): Promise<{ sha256: string }> {
    const price = this.#contractPrice(stored.contract.writePricePerKb, spending) * chargedKb(bytes.length);
    stored.usedBytes += bytes.length; // reserved before the await: concurrent writes pick other room
    try {
      const paymentTransactionId = await spending.pay('write', this, stored.contract.payTo, price);
      const receipt = await this.call('write', () => presentTwice(() => this.client.write(stored.contract.contractId, objectId, bytes, paymentTransactionId)));
      stored.usedBytes = Math.max(stored.usedBytes, receipt.usedBytes);
      this.record.writesStored++;
      return { sha256: receipt.sha256 };
    } catch (error) {
      stored.usedBytes -= bytes.length;
      this.record.writesFailed++;
      throw error;
    }
  }

  /**
   * A paid read (steps 4, 4' and 7 of Figure 2, with the buyer as its own reader) of the whole
   * object, or of `range` only (an audit's challenge), priced by the bytes read.
   */
  async read(contract: Contract, objectId: string, size: number, purpose: 'read' | 'audit', spending: Spending, reader: string, range?: ByteRange): Promise<Buffer> {
    const price = this.#contractPrice(contract.readPricePerKb, spending) * chargedKb(range ? range.length : size);
    const paymentTransactionId = await spending.pay(purpose, this, contract.payTo, price);
    const instruction = await this.call('request a read', () =>
      presentTwice(() => this.client.requestRetrieval(contract.contractId, objectId, { reader, paymentTransactionId, ...(range ? { range } : {}) })),
    );
    return this.call('read', () => this.client.retrieve(instruction));
  }

  #contractPrice(text: string, spending: Spending): bigint {
    const parsed = parseAmount(text, spending.currency.scale);
    if (!parsed.ok) throw new Error(`peer ${this.name}'s contract has an unreadable price ${text}`);
    return parsed.value;
  }

  close(): void {
    this.client.close();
  }
}
