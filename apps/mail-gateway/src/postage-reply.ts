// The SMTP reply that asks for postage, and how a program reads it back. One reply line per
// currency accepted, each "LCP-Postage" followed by key=value pairs; the other lines are for
// people. For example:
//   550-5.7.0 Postage due: bob@example.org accepts mail from unknown senders only with LCP postage.
//   550-5.7.0 LCP-Postage ref=pst_...; amount=0.05; currency=http://money.com/lcp.wsdl; payee=<64 hex or bob@bank.com>; expires=2026-11-27T10:00:00Z
//   550 5.7.0 Pay the amount to the payee with transactionId=<ref>, then send the same message (same Message-ID) again with the header "X-LCP-Payment: <ref>".
import { formatAmount, parseAmount } from '@lcp/protocol';
import { PAYMENT_HEADER, REFERENCE } from './message.js';
import { isEntityId, paymentName } from './payees.js';

export interface PostageOffer {
  ref: string;
  /** Decimal in the currency. */
  amount: string;
  /** The issuer's WSDL URL. */
  currency: string;
  /** Who to pay: an entity id (64 hex), or a bank customer's payment name such as bob@bank.com. */
  payee: string;
  expires: string;
}

export const POSTAGE_CODE = 550;

export function postageReplyLines(
  recipients: string[],
  offers: { ref: string; amount: bigint; scale: number; currency: string; payee: string; expiresAt: number }[],
): string[] {
  const ref = offers[0]?.ref ?? '';
  const who = recipients.length === 1 ? `${recipients[0]} accepts` : `${recipients.join(', ')} accept`;
  return [
    `5.7.0 Postage due: ${who} mail from unknown senders only with LCP postage.`,
    ...offers.map(
      (o) =>
        `5.7.0 LCP-Postage ref=${o.ref}; amount=${formatAmount(o.amount, o.scale)}; currency=${o.currency}; payee=${o.payee}; expires=${new Date(o.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z')}`,
    ),
    `5.7.0 Pay the amount to the payee with transactionId=${ref}, then send the same message (same Message-ID) again with the header "${PAYMENT_HEADER}: ${ref}".`,
  ];
}

/** The offers in an SMTP reply (any number of lines, with or without codes); none if it asks for no postage. */
export function readPostageReply(response: string): PostageOffer[] {
  const offers: PostageOffer[] = [];
  for (const line of response.split(/\r?\n/)) {
    const at = line.indexOf('LCP-Postage ');
    if (at === -1) continue;
    const pairs = new Map<string, string>();
    for (const part of line.slice(at + 'LCP-Postage '.length).split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0) pairs.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const [ref, amount, currency, payee, expires] = ['ref', 'amount', 'currency', 'payee', 'expires'].map((k) => pairs.get(k));
    if (!ref || !REFERENCE.test(ref) || !amount || !currency || !payee || !(isEntityId(payee) || paymentName(payee) === payee) || !expires) continue;
    if (!parseAmount(amount, 18).ok) continue;
    offers.push({ ref, amount, currency, payee, expires });
  }
  return offers;
}
