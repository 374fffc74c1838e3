// Payment names (paper, section 5.1): `bob@bank.com` names a customer of the bank at
// bank.com. The bank serves, over its CA-certified HTTPS name, a document that turns the
// name into what a transferFundsRequest needs at each issuer: the recipient key and, for
// opaque banking, the userid. The certificate is what binds bank.com to that key.
import type { LookupFunction } from 'node:net';
import { isEntityId, isUserid, type EntityId } from '@lcp/protocol';
import { boundedGet, BoundedGetError } from './bounded-request.js';

/** Where `name@domain`'s documents live on `https://domain`. */
export const NAME_DOCUMENT_PATH = '/.well-known/lcp/names/';

export interface NameAccount {
  /** The issuer's WSDL URL: which currency this account is in. */
  wsdl: string;
  /** The recipient at that issuer: the bank's key (opaque) or the customer's own key (transparent). */
  entityId: EntityId;
}

export interface NameDocument {
  /** `local@domain`, as asked. */
  name: string;
  /** Opaque banking: the userid to send with a transfer to the bank's key. Absent for a key of one's own. */
  userid?: string;
  accounts: NameAccount[];
}

export interface ResolveOptions {
  /** Trust anchors for the bank's certificate; the system's by default. */
  caPem?: string;
  /** Name resolution override (tests and the demo map the paper's names to 127.0.0.1). */
  lookup?: LookupFunction;
  /** HTTPS port of the name's domain; 443 unless a test or demo runs elsewhere. */
  port?: number;
  timeoutMs?: number;
}

export type NameResolutionErrorCode = 'invalidName' | 'notFound' | 'unreachable' | 'invalidDocument';

/** A name could not be turned into accounts; `code` says why. */
export class NameResolutionError extends Error {
  override name = 'NameResolutionError';
  constructor(
    readonly code: NameResolutionErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const MAX_DOCUMENT_BYTES = 64 * 1024;
const MAX_ACCOUNTS = 100;

/** Splits `local@domain`; the local part is a userid (`[A-Za-z0-9._-]`, 1–64), the domain a DNS name. */
export function parseName(name: string): { local: string; domain: string } {
  const at = name.lastIndexOf('@');
  const local = name.slice(0, at);
  const domain = name.slice(at + 1).toLowerCase();
  if (at <= 0 || !isUserid(local) || !DNS_NAME.test(domain)) {
    throw new NameResolutionError('invalidName', `not a payment name of the form local@domain: ${JSON.stringify(name.slice(0, 80))}`);
  }
  return { local, domain };
}

/** True for a string of the form `local@domain` that resolve() would look up. */
export function isPaymentName(name: string): boolean {
  try {
    parseName(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Looks up `name` (`bob@bank.com`) at `https://bank.com/.well-known/lcp/names/bob`. The bank's
 * certificate must chain to `caPem` (or the system roots) and name the domain; redirects are not
 * followed. Throws NameResolutionError.
 */
export async function resolve(name: string, options: ResolveOptions = {}): Promise<NameDocument> {
  const { local, domain } = parseName(name);
  const { status, body } = await fetchDocument(domain, `${NAME_DOCUMENT_PATH}${encodeURIComponent(local)}`, options);
  if (status === 404) throw new NameResolutionError('notFound', `${local}@${domain} is not a name at ${domain}`);
  if (status !== 200) throw new NameResolutionError('unreachable', `${domain} answered HTTP ${status} for ${local}@${domain}`);
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch (error) {
    throw new NameResolutionError('invalidDocument', `${domain} sent a name document that is not JSON`, { cause: error });
  }
  return checkDocument(document, `${local}@${domain}`);
}

async function fetchDocument(domain: string, path: string, options: ResolveOptions): Promise<{ status: number; body: string }> {
  const url = new URL(`https://${domain}:${options.port ?? 443}${path}`);
  try {
    return await boundedGet(url, {
      headers: { accept: 'application/json' },
      timeoutMs: options.timeoutMs ?? 10_000,
      maxBytes: MAX_DOCUMENT_BYTES,
      ...(options.caPem ? { caPem: options.caPem } : {}),
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
  } catch (error) {
    const tooLarge = error instanceof BoundedGetError && error.reason === 'tooLarge';
    throw new NameResolutionError(
      tooLarge ? 'invalidDocument' : 'unreachable',
      tooLarge ? `${domain} sent a name document over ${MAX_DOCUMENT_BYTES} bytes` : (error as Error).message,
      { cause: error },
    );
  }
}

function checkDocument(document: unknown, expected: string): NameDocument {
  const bad = (why: string) => new NameResolutionError('invalidDocument', `the name document for ${expected} ${why}`);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw bad('is not an object');
  const { name, userid, accounts } = document as Record<string, unknown>;
  if (typeof name !== 'string' || name.toLowerCase() !== expected.toLowerCase()) throw bad(`names ${JSON.stringify(name)}`);
  if (userid !== undefined && (typeof userid !== 'string' || !isUserid(userid))) throw bad('has an invalid userid');
  if (!Array.isArray(accounts) || accounts.length === 0 || accounts.length > MAX_ACCOUNTS) throw bad('lists no accounts');
  const checked: NameAccount[] = accounts.map((account: unknown) => {
    const { wsdl, entityId } = (account ?? {}) as Record<string, unknown>;
    if (typeof wsdl !== 'string' || !/^https?:\/\/[^\s]+$/.test(wsdl) || !URL.canParse(wsdl)) throw bad('has an account without a WSDL URL');
    if (typeof entityId !== 'string' || !isEntityId(entityId)) throw bad('has an account without a 64-hex entityId');
    return { wsdl, entityId };
  });
  return { name, ...(typeof userid === 'string' ? { userid } : {}), accounts: checked };
}
