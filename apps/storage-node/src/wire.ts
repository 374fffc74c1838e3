// What crosses the wire between a storage node and its buyers and readers: the signed offer,
// the signed contract, the write receipt and the signed retrieval instruction. Amounts are
// decimal strings in the contract's currency; times are ISO 8601 UTC; sizes are bytes.
import { z } from 'zod';
import { isTransactionId } from '@lcp/protocol';

export const RETRIEVAL_HEADER = 'lcp-retrieval';
export const PAYMENT_HEADER = 'lcp-payment';
export const DIGEST_HEADER = 'lcp-content-sha256';

const entityId = z.string().regex(/^[0-9a-f]{64}$/, 'must be an entity id (64 lowercase hex)');
const decimal = z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/).max(40);
const isoTime = z.iso.datetime();
const signature = z.string().regex(/^[A-Za-z0-9_-]{86}$/);
const bytes = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const transactionIdSchema = z.string().refine(isTransactionId, 'must be an LCP transactionId (1-128 printable ASCII, no <, > or &)');
/** Object ids name files inside a contract: no path separators, no leading dot. */
export const objectIdSchema = z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 of [A-Za-z0-9._-], not starting with a dot');
export const contractIdSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/);

export const currencySchema = z.object({ wsdl: z.string().min(1).max(2048), scale: z.number().int().min(0).max(18) });
export type Currency = z.infer<typeof currencySchema>;

/** Where payments go: the node's own key (or its agent's), or a bank's key with the customer's userid. */
export const payToSchema = z.object({
  entityId,
  userid: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional(),
  name: z.string().max(200).optional(),
});
export type PayTo = z.infer<typeof payToSchema>;

const terms = {
  nodeId: entityId,
  url: z.url({ protocol: /^https$/ }),
  capacityBytes: bytes,
  contractPrice: decimal,
  writePricePerKb: decimal,
  readPricePerKb: decimal,
  currency: currencySchema,
  payTo: payToSchema,
};

export const offerSchema = z.object({
  offerId: contractIdSchema,
  ...terms,
  validitySeconds: z.number().int().min(1),
  issuedAt: isoTime,
  expiresAt: isoTime,
  signature,
});
export type Offer = z.infer<typeof offerSchema>;

export const contractSchema = z.object({
  contractId: contractIdSchema,
  offerId: contractIdSchema,
  ...terms,
  buyer: entityId,
  validFrom: isoTime,
  validUntil: isoTime,
  paymentTransactionId: transactionIdSchema,
  signature,
});
export type Contract = z.infer<typeof contractSchema>;

/** A byte range of an object: `length` bytes from `offset` (a ranged read, such as an audit's challenge). */
export const byteRangeSchema = z.object({ offset: bytes, length: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });
export type ByteRange = z.infer<typeof byteRangeSchema>;

export const retrievalInstructionSchema = z.object({
  nodeId: entityId,
  url: z.url({ protocol: /^https$/ }),
  contractId: contractIdSchema,
  objectId: objectIdSchema,
  reader: entityId,
  /** The whole object's size and sha256, also in a ranged instruction (they name the object read). */
  size: bytes,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Present only for a ranged read: the bytes served are this range, not the whole object. */
  range: byteRangeSchema.optional(),
  expiresAt: isoTime,
  nonce: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  signature,
});
export type RetrievalInstruction = z.infer<typeof retrievalInstructionSchema>;

export const writeReceiptSchema = z.object({
  contractId: contractIdSchema,
  objectId: objectIdSchema,
  size: bytes,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  price: decimal,
  usedBytes: bytes,
  remainingBytes: bytes,
});
export type WriteReceipt = z.infer<typeof writeReceiptSchema>;

export const contractStatusSchema = z.object({
  contract: contractSchema,
  usedBytes: bytes,
  remainingBytes: bytes,
  objects: z.array(z.object({ objectId: objectIdSchema, size: bytes, sha256: z.string() })),
});
export type ContractStatus = z.infer<typeof contractStatusSchema>;

/** GET /contracts: the caller's own contracts, newest first (objects counted, not listed). */
export const contractListSchema = z.object({
  contracts: z.array(z.object({ contract: contractSchema, usedBytes: bytes, remainingBytes: bytes, objectCount: bytes })),
});
export type ContractList = z.infer<typeof contractListSchema>;
/** The most contracts one GET /contracts lists. */
export const CONTRACT_LIST_LIMIT = 1000;

export const contractRequestSchema = z.object({ offerId: contractIdSchema, paymentTransactionId: transactionIdSchema });
export const retrievalRequestSchema = z.object({ reader: entityId, paymentTransactionId: transactionIdSchema, range: byteRangeSchema.optional() });
/** The query of GET /contracts: an optional object id prefix the listed contracts must hold an object under. */
export const contractListQuerySchema = z.object({ objectPrefix: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'objectPrefix must be 1-128 of [A-Za-z0-9._-]').optional() });

/** Kilobytes charged for `size` bytes: every started KiB, and at least one (LCP moves only positive amounts). */
export const chargedKb = (size: number): bigint => BigInt(Math.max(1, Math.ceil(size / 1024)));

/** The instruction as the `LCP-Retrieval` header carries it. */
export const encodeInstruction = (instruction: RetrievalInstruction): string =>
  Buffer.from(JSON.stringify(instruction), 'utf8').toString('base64url');
