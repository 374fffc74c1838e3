// Each protected recipient's postage policy, from a JSON file: the price in each currency it
// accepts, its allow-list (known correspondents pass free) and the SHA-256 of its token for the
// recipients' interface (refunds, correspondents), and optionally a payee: a bank customer
// (bob@bank.com) that postage is paid to instead of the gateway's key. A key "@example.org" is
// the default for a domain; a recipient in a served domain that no entry names receives mail free.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseAmount } from '@lcp/protocol';
import { isAddress, normalizeAddress } from './addresses.js';
import { paymentName } from './payees.js';

const currencyUrl = z.url({ protocol: /^https?$/ });
const decimal = z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'must be a plain decimal such as 0.05');
const owner = z.string().refine((s) => isAddress(s) || /^@[a-z0-9.-]+$/i.test(s), 'must be an address or @domain');

export const policySchema = z.object({
  /** Every currency postage may be paid in, by its issuer's WSDL URL, with its scale. */
  currencies: z.record(currencyUrl, z.object({ scale: z.number().int().min(0).max(18) })),
  recipients: z.record(
    owner,
    z.object({
      /** Postage per message, by currency; at least one. */
      prices: z.record(currencyUrl, decimal).refine((p) => Object.keys(p).length > 0, 'must name at least one currency'),
      /** Senders (addresses or @domains) whose mail passes free. */
      allow: z.array(owner).default([]),
      tokenSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
      /** Postage goes to this bank customer (`bob@bank.com`) instead of the gateway's key. */
      payee: z.string().refine((s) => paymentName(s) !== undefined, 'must be a payment name such as bob@bank.com').optional(),
    }),
  ),
});

export type PolicyDocument = z.input<typeof policySchema>;

export interface RecipientPolicy {
  /** The policy's key: an address or @domain. */
  owner: string;
  /** Minor units by currency WSDL URL. */
  prices: Map<string, bigint>;
  allow: Set<string>;
  tokenHash?: string;
  /** A bank customer's payment name (bob@bank.com); absent: the gateway's own key. */
  payee?: string;
}

export interface Policy {
  currencies: Map<string, { scale: number }>;
  recipients: Map<string, RecipientPolicy>;
}

export class PolicyError extends Error {
  override name = 'PolicyError';
}

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');
export const newToken = (): string => `lcpm_${randomBytes(32).toString('base64url')}`;

export function parsePolicy(document: unknown, source: string): Policy {
  const parsed = policySchema.safeParse(document);
  const problems: string[] = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  const currencies = new Map<string, { scale: number }>();
  const recipients = new Map<string, RecipientPolicy>();
  if (parsed.success) {
    for (const [wsdl, c] of Object.entries(parsed.data.currencies)) currencies.set(wsdl, c);
    for (const [key, r] of Object.entries(parsed.data.recipients)) {
      const prices = new Map<string, bigint>();
      for (const [wsdl, text] of Object.entries(r.prices)) {
        const currency = currencies.get(wsdl);
        if (!currency) {
          problems.push(`recipients.${key}.prices: ${wsdl} is not listed in currencies`);
          continue;
        }
        const amount = parseAmount(text, currency.scale);
        if (!amount.ok) problems.push(`recipients.${key}.prices.${wsdl}: ${amount.reason}`);
        else if (amount.value === 0n) problems.push(`recipients.${key}.prices.${wsdl}: must be above zero`);
        else prices.set(wsdl, amount.value);
      }
      const ownerKey = normalizeAddress(key);
      recipients.set(ownerKey, {
        owner: ownerKey,
        prices,
        allow: new Set(r.allow.map(normalizeAddress)),
        ...(r.tokenSha256 ? { tokenHash: r.tokenSha256 } : {}),
        ...(r.payee ? { payee: paymentName(r.payee) as string } : {}),
      });
    }
  }
  if (problems.length > 0) throw new PolicyError(`invalid postage policy in ${source}:\n  ${problems.join('\n  ')}`);
  return { currencies, recipients };
}

export function readPolicy(path: string): Policy {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new PolicyError(`cannot read the postage policy ${path}: ${(error as Error).message}`);
  }
  return parsePolicy(document, path);
}

/** The policy that protects `address`: its own entry, else its domain's; undefined means free. */
export function policyFor(policy: Policy, address: string): RecipientPolicy | undefined {
  const at = address.lastIndexOf('@');
  return policy.recipients.get(address) ?? policy.recipients.get(address.slice(at));
}

/** Whether `sender` is on the recipient's allow-list (by address or by @domain). */
export function allowListed(recipient: RecipientPolicy, sender: string): boolean {
  const at = sender.lastIndexOf('@');
  return recipient.allow.has(sender) || (at > 0 && recipient.allow.has(sender.slice(at)));
}
