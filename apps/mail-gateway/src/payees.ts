// Who postage is paid to, and where a refund goes: an entity id (64 lowercase hex, an LCP
// holder's key) or a payment name such as bob@bank.com (section 5.1: a bank's customer, found
// through the bank's name document or paid by the bank itself).
import { parseName } from '@lcp/client';

const ENTITY_ID = /^[0-9a-f]{64}$/;

export const isEntityId = (s: string): boolean => ENTITY_ID.test(s);

/** A payment name `userid@bank-domain`, with the domain in lower case; undefined if it is not one. */
export function paymentName(s: string): string | undefined {
  try {
    const { local, domain } = parseName(s);
    return `${local}@${domain}`;
  } catch {
    return undefined;
  }
}

/** An entity id (lower-cased) or a payment name; undefined if it is neither. */
export function payeeOrUndefined(s: string): string | undefined {
  const trimmed = s.trim();
  if (ENTITY_ID.test(trimmed.toLowerCase())) return trimmed.toLowerCase();
  return paymentName(trimmed);
}
