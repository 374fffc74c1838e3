// The currencies the bank deals with, one per issuer, each named by the issuer's WSDL URL.
import { formatAmount, parseAmount } from '@lcp/protocol';
import type { CurrencyConfig } from './config.js';
import type { Db } from './db.js';

export interface Currency extends CurrencyConfig {
  readonly id: bigint;
}

export class Currencies {
  readonly list: readonly Currency[];
  readonly #byWsdl = new Map<string, Currency>();
  readonly #byId = new Map<bigint, Currency>();

  constructor(db: Db, configured: readonly CurrencyConfig[]) {
    const upsert = db.prepare(
      'INSERT INTO currencies (wsdl, scale) VALUES (?, ?) ON CONFLICT (wsdl) DO UPDATE SET wsdl = excluded.wsdl RETURNING id, scale',
    );
    this.list = configured.map((c) => {
      const row = upsert.get(c.wsdl, c.scale) as { id: bigint; scale: bigint };
      // a currency's scale is fixed once money has been booked in it
      if (Number(row.scale) !== c.scale) throw new Error(`the scale of ${c.wsdl} was ${row.scale} and is now configured as ${c.scale}`);
      const currency = { ...c, id: row.id };
      this.#byWsdl.set(c.wsdl, currency);
      this.#byId.set(row.id, currency);
      return currency;
    });
  }

  /** By WSDL URL or by the name the bank shows. */
  find(text: string): Currency | undefined {
    return this.#byWsdl.get(text) ?? this.list.find((c) => c.name === text);
  }

  byId(id: bigint): Currency {
    const currency = this.#byId.get(id);
    if (!currency) throw new Error(`no currency ${id}`);
    return currency;
  }
}

export const format = (minor: bigint, currency: Pick<Currency, 'scale'>): string => formatAmount(minor, currency.scale);

/** A positive amount in this currency, or why not. */
export function parsePositive(text: unknown, currency: Pick<Currency, 'scale'>): { ok: true; value: bigint } | { ok: false; reason: string } {
  if (typeof text !== 'string') return { ok: false, reason: 'amount must be a decimal string such as "1.5"' };
  const parsed = parseAmount(text.trim(), currency.scale);
  if (!parsed.ok) return parsed;
  if (parsed.value <= 0n) return { ok: false, reason: 'amount must be more than 0' };
  return parsed;
}

/** fixed + ceil(amount × ppm / 10^6): the issuers' rule, used for the bank's fee and the reserve. */
export const feeOf = (amount: bigint, rule: { fixed: bigint; ppm: bigint }): bigint =>
  rule.fixed + (amount * rule.ppm + 999_999n) / 1_000_000n;
