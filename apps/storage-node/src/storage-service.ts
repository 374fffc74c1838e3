// The basic storage contract of the paper's section 4, "Raw Resource Market": for the contract
// price the buyer gets a block of space for a validity window, into which it writes at the write
// price per KB and out of which it reads at the read price per KB. Every write and every read is
// done only against a payment this node has verified, and each payment is spent once.
// Reads follow Figure 2: the buyer asks for retrieval instructions (4), the node checks the
// payment (5), answers signed instructions (4') that the reader then redeems itself (7).
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { formatAmount, parseAmount } from '@lcp/protocol';
import type { Identity } from '@lcp/crypto';
import type { StorageNodeConfig } from './config.js';
import type { ContentStore } from './content-store.js';
import type { Logger } from './logger.js';
import { PaymentVerifierError, type PaymentVerifier } from './payments/payment-verifier.js';
import { refuse, type Refusal } from './problems.js';
import { canonicalJson, signDocument, verifyDocument } from './signing.js';
import type { PaymentUse, StorageStore, StoredContract, StoredObject } from './store.js';
import { childTraceparent, traceClock, type Figure2Step, type StorageTraceEvent, type TraceContext, type TraceHook } from './trace.js';
import {
  chargedKb,
  CONTRACT_LIST_LIMIT,
  contractListQuerySchema,
  contractRequestSchema,
  retrievalInstructionSchema,
  retrievalRequestSchema,
  type Contract,
  type ContractList,
  type ContractStatus,
  type Offer,
  type PayTo,
  type RetrievalInstruction,
  type WriteReceipt,
} from './wire.js';

export interface StorageServiceOptions {
  config: Readonly<StorageNodeConfig>;
  identity: Identity;
  store: StorageStore;
  content: ContentStore;
  verifier: PaymentVerifier;
  payTo: PayTo;
  /** The node's HTTPS origin as buyers and readers reach it. */
  publicUrl: string;
  log: Logger;
  onTrace?: TraceHook;
  now?: () => number;
}

export interface WriteRequest {
  contractId: string;
  objectId: string;
  paymentTransactionId: string | undefined;
  /** The Content-Length header, when the client sent one: lets an oversize write be refused unread. */
  declaredSize: number | undefined;
  body: Readable;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const newId = (): string => randomBytes(16).toString('base64url');

export class StorageService {
  readonly nodeId: string;
  readonly #o: StorageServiceOptions;
  readonly #now: () => number;
  /** Payments being checked right now: a second request with the same one is refused at once. */
  readonly #inFlight = new Set<string>();

  constructor(options: StorageServiceOptions) {
    this.#o = options;
    this.nodeId = options.identity.id;
    this.#now = options.now ?? Date.now;
  }

  /** Logs an event; a traced request's events also go to the onTrace hook. */
  trace(ctx: TraceContext | undefined, what: string, extra: Pick<StorageTraceEvent, 'step' | 'peer' | 'detail'> = {}): void {
    const party = this.#o.config.name;
    this.#o.log.info({ party, ...extra, ...(ctx ? { traceparent: ctx.traceparent } : {}) }, what);
    if (!ctx || !this.#o.onTrace) return;
    const event: StorageTraceEvent = { traceId: ctx.traceId, spanId: ctx.spanId, party, what, at: traceClock(), ...extra };
    try {
      this.#o.onTrace(event);
    } catch (error) {
      this.#o.log.warn({ err: error }, 'onTrace hook failed');
    }
  }

  // --- offers and contracts

  /** The current signed offer; a new one once less than half of its lifetime is left. */
  currentOffer(): Offer {
    const now = this.#now();
    const { config } = this.#o;
    const existing = this.#o.store.latestOffer(now + (config.offerSeconds * 1000) / 2);
    if (existing) return existing;
    const { scale } = config.currency;
    const offer = signDocument(
      'offer',
      {
        offerId: newId(),
        nodeId: this.nodeId,
        url: this.#o.publicUrl,
        capacityBytes: config.contractBytes,
        contractPrice: formatAmount(config.prices.contract, scale),
        writePricePerKb: formatAmount(config.prices.writePerKb, scale),
        readPricePerKb: formatAmount(config.prices.readPerKb, scale),
        currency: { ...config.currency },
        payTo: this.#o.payTo,
        validitySeconds: config.contractSeconds,
        issuedAt: iso(now),
        expiresAt: iso(now + config.offerSeconds * 1000),
      },
      this.#o.identity.privateKey,
    );
    this.#o.store.saveOffer(offer);
    return offer;
  }

  /** Forms a contract on a signed offer once its price has been paid; the contract keeps the offer's prices. */
  async formContract(buyer: string, body: unknown, ctx?: TraceContext): Promise<Contract | Refusal> {
    const request = contractRequestSchema.safeParse(body);
    if (!request.success) return refuse('badRequest', request.error.issues[0]?.message);
    const { offerId, paymentTransactionId } = request.data;
    const offer = this.#o.store.offer(offerId);
    if (!offer) return refuse('offerNotFound');
    if (Date.parse(offer.expiresAt) <= this.#now()) return refuse('offerExpired');
    if (this.#o.store.soldBytes(this.#now()) + offer.capacityBytes > this.#o.config.capacityBytes) return refuse('capacityExhausted');
    this.trace(ctx, 'contract requested', { peer: buyer, detail: { offerId, paymentTransactionId } });

    const price = this.#minor(offer.contractPrice, offer.currency.scale);
    return this.#withPayment(paymentTransactionId, offer.currency, price, 'contract', undefined, ctx, (amount) => {
      const now = this.#now();
      // the terms agreed at formation, copied from the signed offer: later price changes do not touch them
      const { nodeId, url, capacityBytes, contractPrice, writePricePerKb, readPricePerKb, currency, payTo, validitySeconds } = offer;
      const terms = { nodeId, url, capacityBytes, contractPrice, writePricePerKb, readPricePerKb, currency, payTo };
      const contract = signDocument(
        'contract',
        {
          contractId: newId(),
          offerId,
          ...terms,
          buyer,
          validFrom: iso(now),
          validUntil: iso(now + validitySeconds * 1000),
          paymentTransactionId,
        },
        this.#o.identity.privateKey,
      );
      const use = this.#use(paymentTransactionId, amount, 'contract', contract.contractId, offer.currency.wsdl);
      const outcome = this.#o.store.formContract(contract, use, this.#o.config.capacityBytes, now);
      if (outcome !== 'formed') return refuse(outcome);
      this.trace(ctx, 'contract formed', { peer: buyer, detail: { contractId: contract.contractId } });
      return contract;
    });
  }

  contractStatus(buyer: string, contractId: string): ContractStatus | Refusal {
    const stored = this.#holderContract(buyer, contractId, false);
    if ('refused' in stored) return stored;
    const usedBytes = this.#o.store.usedBytes(contractId);
    return {
      contract: stored.contract,
      usedBytes,
      remainingBytes: Math.max(0, stored.capacityBytes - usedBytes),
      objects: this.#o.store.objects(contractId).map(({ objectId, size, sha256 }) => ({ objectId, size, sha256 })),
    };
  }

  /**
   * The caller's own contracts (newest first): what a buyer that kept nothing but its key (a
   * new machine) needs to find what it bought. Nobody learns another buyer's contracts.
   */
  listContracts(buyer: string, query: unknown): ContractList | Refusal {
    const parsed = contractListQuerySchema.safeParse(query);
    if (!parsed.success) return refuse('badRequest', parsed.error.issues[0]?.message);
    const rows = this.#o.store.contractsOf(buyer, CONTRACT_LIST_LIMIT, parsed.data.objectPrefix);
    return {
      contracts: rows.map((row) => ({
        contract: row.contract,
        usedBytes: row.usedBytes,
        remainingBytes: Math.max(0, row.capacityBytes - row.usedBytes),
        objectCount: row.objectCount,
      })),
    };
  }

  // --- writes

  /** A paid write: the bytes are received (within the contract's remaining space), then paid for, then kept. */
  async write(buyer: string, request: WriteRequest, ctx?: TraceContext): Promise<WriteReceipt | Refusal> {
    const stored = this.#holderContract(buyer, request.contractId, true);
    if ('refused' in stored) return stored;
    const { contract } = stored;
    const { contractId, objectId, paymentTransactionId } = request;
    if (this.#o.store.object(contractId, objectId)) return refuse('objectExists');
    if (!paymentTransactionId) return refuse('paymentRequired', 'name the payment for this write in the LCP-Payment header');
    if (this.#o.store.isUsed(contract.currency.wsdl, paymentTransactionId)) return refuse('paymentAlreadyUsed');
    const remaining = stored.capacityBytes - this.#o.store.usedBytes(contractId);
    if (request.declaredSize !== undefined && request.declaredSize > remaining) {
      return refuse('quotaExceeded', `${request.declaredSize} bytes do not fit in the ${remaining} bytes left`);
    }
    this.trace(ctx, 'write received', { peer: buyer, detail: { contractId, objectId, paymentTransactionId } });

    const received = await this.#o.content.receive(request.body, remaining);
    if (received === 'tooLarge') return refuse('quotaExceeded', `the object does not fit in the ${remaining} bytes left`);
    let placed: string | undefined;
    try {
      const kb = chargedKb(received.size);
      const price = this.#minor(contract.writePricePerKb, contract.currency.scale) * kb;
      const outcome = await this.#withPayment(paymentTransactionId, contract.currency, price, 'write', undefined, ctx, async (amount) => {
        placed = await this.#o.content.place(received, contractId);
        const use = this.#use(paymentTransactionId, amount, 'write', `${contractId}/${objectId}`, contract.currency.wsdl);
        const object: StoredObject = { contractId, objectId, file: placed, size: received.size, sha256: received.sha256 };
        const result = this.#o.store.storeObject(object, stored.capacityBytes, use, this.#now());
        if (result !== 'stored') return refuse(result);
        placed = undefined; // kept
        const usedBytes = this.#o.store.usedBytes(contractId);
        this.trace(ctx, 'write stored', { peer: buyer, detail: { contractId, objectId, size: received.size } });
        return {
          contractId,
          objectId,
          size: received.size,
          sha256: received.sha256,
          price: formatAmount(price, contract.currency.scale),
          usedBytes,
          remainingBytes: stored.capacityBytes - usedBytes,
        };
      });
      return outcome;
    } finally {
      await this.#o.content.discard(placed ?? received.temp);
    }
  }

  // --- reads (Figure 2, steps 4, 5, 4' and 7)

  /**
   * Step 4: the buyer asks for retrieval instructions for `reader`; step 5 checks the read's
   * payment; step 4' answers. With `range`, the read is of those bytes only, and is priced by them.
   */
  async requestRetrieval(buyer: string, contractId: string, objectId: string, body: unknown, ctx?: TraceContext): Promise<RetrievalInstruction | Refusal> {
    const stored = this.#holderContract(buyer, contractId, true);
    if ('refused' in stored) return stored;
    const request = retrievalRequestSchema.safeParse(body);
    if (!request.success) return refuse('badRequest', request.error.issues[0]?.message);
    const { reader, paymentTransactionId, range } = request.data;
    const object = this.#o.store.object(contractId, objectId);
    if (!object) return refuse('objectNotFound');
    if (range && range.offset + range.length > object.size) {
      return refuse('rangeNotSatisfiable', `bytes ${range.offset}-${range.offset + range.length - 1} are not inside the ${object.size} bytes of the object`);
    }
    this.trace(ctx, 'retrieval instructions requested', {
      step: '4',
      peer: buyer,
      detail: { contractId, objectId, reader, paymentTransactionId, ...(range ? { offset: range.offset, length: range.length } : {}) },
    });

    const { contract } = stored;
    const price = this.#minor(contract.readPricePerKb, contract.currency.scale) * chargedKb(range ? range.length : object.size);
    const outcome = await this.#withPayment(paymentTransactionId, contract.currency, price, 'read', '5', ctx, (amount) => {
      const now = this.#now();
      const instruction = signDocument(
        'retrieval',
        {
          nodeId: this.nodeId,
          url: `${this.#o.publicUrl}/retrieve`,
          contractId,
          objectId,
          reader,
          size: object.size,
          sha256: object.sha256,
          ...(range ? { range: { offset: range.offset, length: range.length } } : {}),
          expiresAt: iso(Math.min(now + this.#o.config.instructionSeconds * 1000, stored.validUntil)),
          nonce: newId(),
        },
        this.#o.identity.privateKey,
      );
      const use = this.#use(paymentTransactionId, amount, 'read', instruction.nonce, contract.currency.wsdl);
      if (this.#o.store.issueInstruction(instruction, use, now) !== 'issued') return refuse('paymentAlreadyUsed');
      this.trace(ctx, 'retrieval instructions answered', { step: "4'", peer: buyer, detail: { contractId, objectId, reader, expiresAt: instruction.expiresAt } });
      return instruction;
    });
    if ('refused' in outcome) {
      this.trace(ctx, 'retrieval instructions refused', { step: "4'", peer: buyer, detail: { code: outcome.refused } });
    }
    return outcome;
  }

  /**
   * Step 7: the reader presents the instruction over TLS with its own certificate. It must be
   * this node's, unaltered, unexpired, unused, and for this reader; it is then used up.
   */
  redeem(reader: string | undefined, header: string | undefined, ctx?: TraceContext): { instruction: RetrievalInstruction; object: StoredObject } | Refusal {
    const outcome = this.#redeem(reader, header);
    if ('refused' in outcome) {
      this.trace(ctx, 'retrieval refused', { step: '7', ...(reader ? { peer: reader } : {}), detail: { code: outcome.refused } });
    }
    return outcome;
  }

  #redeem(reader: string | undefined, header: string | undefined): { instruction: RetrievalInstruction; object: StoredObject } | Refusal {
    if (!header) return refuse('instructionMissing');
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    } catch {
      return refuse('instructionMalformed', 'the LCP-Retrieval header must be base64url JSON');
    }
    const parsed = retrievalInstructionSchema.safeParse(decoded);
    if (!parsed.success) return refuse('instructionMalformed', parsed.error.issues[0]?.message);
    const instruction = parsed.data;
    if (instruction.nodeId !== this.nodeId || !verifyDocument('retrieval', instruction, this.nodeId)) return refuse('instructionInvalid');
    const issued = this.#o.store.instruction(instruction.nonce);
    if (!issued || canonicalJson(issued.instruction) !== canonicalJson(instruction)) return refuse('instructionInvalid');
    const now = this.#now();
    if (Date.parse(instruction.expiresAt) <= now) return refuse('instructionExpired');
    if (!reader) return refuse('clientCertificateRequired', 'present the certificate of the reader the instruction names');
    if (reader !== instruction.reader) return refuse('wrongReader');
    if (issued.usedAt !== undefined) return refuse('instructionUsed');
    const object = this.#o.store.object(instruction.contractId, instruction.objectId);
    if (!object) return refuse('objectNotFound');
    if (!this.#o.store.redeemInstruction(instruction.nonce, now)) return refuse('instructionUsed');
    return { instruction, object };
  }

  /** The bytes an instruction names: the whole object, or its range. */
  openContent(object: StoredObject, range?: { offset: number; length: number }): Readable {
    return this.#o.content.read(object.file, range);
  }

  // --- helpers

  /** The contract, if `buyer` holds it (and, with `inWindow`, it is inside its validity window now). */
  #holderContract(buyer: string, contractId: string, inWindow: boolean): StoredContract | Refusal {
    const stored = this.#o.store.contract(contractId);
    if (!stored) return refuse('contractNotFound');
    if (stored.buyer !== buyer) return refuse('notContractHolder');
    const now = this.#now();
    if (inWindow && (now < stored.validFrom || now >= stored.validUntil)) {
      return refuse('contractExpired', `valid from ${iso(stored.validFrom)} until ${iso(stored.validUntil)}`);
    }
    return stored;
  }

  /**
   * Checks a payment with the verifier and runs `spend` with its amount. The payment must not
   * have been used, and is held while it is checked so that a concurrent request cannot use it
   * too; `spend` marks it used in the same commit as what it pays for.
   */
  async #withPayment<T extends object>(
    transactionId: string,
    currency: { wsdl: string; scale: number },
    price: bigint,
    purpose: PaymentUse['purpose'],
    step: Figure2Step | undefined,
    ctx: TraceContext | undefined,
    spend: (amount: bigint) => T | Refusal | Promise<T | Refusal>,
  ): Promise<T | Refusal> {
    const key = `${currency.wsdl} ${transactionId}`;
    if (this.#inFlight.has(key) || this.#o.store.isUsed(currency.wsdl, transactionId)) return refuse('paymentAlreadyUsed');
    this.#inFlight.add(key);
    try {
      const { verifier } = this.#o;
      const detail = { transactionId, minAmount: formatAmount(price, currency.scale), purpose };
      this.trace(ctx, 'payment asked', { ...(step ? { step } : {}), peer: verifier.kind, detail });
      let verified: { amount: bigint } | undefined;
      try {
        const traceparent = childTraceparent(ctx);
        verified = await verifier.verify(transactionId, price, currency, this.#o.config.paymentWaitMs, traceparent ? { traceparent } : {});
      } catch (error) {
        if (!(error instanceof PaymentVerifierError)) throw error;
        this.#o.log.warn({ err: error }, 'payment verifier unavailable');
        this.trace(ctx, 'payment answered', { ...(step ? { step } : {}), peer: verifier.kind, detail: { ...detail, verified: false, error: true } });
        return refuse('verifierUnavailable');
      }
      this.trace(ctx, 'payment answered', {
        ...(step ? { step } : {}),
        peer: verifier.kind,
        detail: { ...detail, verified: verified !== undefined, ...(verified ? { amount: formatAmount(verified.amount, currency.scale) } : {}) },
      });
      if (!verified) return refuse('paymentNotVerified', `expected at least ${detail.minAmount} under transactionId ${JSON.stringify(transactionId)}`);
      return await spend(verified.amount);
    } finally {
      this.#inFlight.delete(key);
    }
  }

  #use(transactionId: string, amount: bigint, purpose: PaymentUse['purpose'], reference: string, currency: string): PaymentUse {
    return { currency, transactionId, amount, purpose, reference };
  }

  /** A price from a signed offer or contract, in minor units. */
  #minor(decimal: string, scale: number): bigint {
    const parsed = parseAmount(decimal, scale);
    if (!parsed.ok) throw new Error(`a price this node signed is unreadable: ${parsed.reason}`);
    return parsed.value;
  }
}
