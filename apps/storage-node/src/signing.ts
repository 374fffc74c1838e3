// Signed documents (offers, contracts, retrieval instructions): the node signs the canonical
// JSON of the document without its `signature`, prefixed by the document's kind, with its
// Ed25519 identity. Anyone holding the node's entity id can check them; nobody else can make one.
import { sign, verify, type KeyObject } from 'node:crypto';
import { publicKeyFromEntityId } from '@lcp/crypto';

export type SignedKind = 'offer' | 'contract' | 'retrieval';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** JSON with object keys sorted and no whitespace: one byte string per value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value as Json));
}

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: { [key: string]: Json } = {};
    for (const key of Object.keys(value).sort()) {
      const item = value[key];
      if (item !== undefined) sorted[key] = sortKeys(item);
    }
    return sorted;
  }
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new TypeError('only safe integers are signed');
  return value;
}

// The kind is signed too, so a signature on one kind of document never validates another.
const signedBytes = (kind: SignedKind, document: object): Buffer =>
  Buffer.from(`lcp-storage/v1 ${kind}\n${canonicalJson(document)}`, 'utf8');

/** The document with `signature`: base64url Ed25519 over its kind and canonical JSON. */
export function signDocument<T extends object>(kind: SignedKind, document: T, privateKey: KeyObject): T & { signature: string } {
  const signature = sign(null, signedBytes(kind, document), privateKey).toString('base64url');
  return { ...document, signature };
}

/** True when `signature` is `nodeId`'s signature on the rest of the document. */
export function verifyDocument(kind: SignedKind, document: { signature: string }, nodeId: string): boolean {
  const { signature, ...rest } = document;
  if (typeof signature !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(signature)) return false;
  let key: KeyObject;
  try {
    key = publicKeyFromEntityId(nodeId);
  } catch {
    return false;
  }
  try {
    return verify(null, signedBytes(kind, rest), key, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}
