// Agent rights (paper, section 5.1: "user agents ... would be given appropriate rights to
// control funds"): a customer gives an application a bearer token with scopes, and for
// `spend` a daily limit per currency. Only the token's SHA-256 is stored; every use is logged.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './db.js';
import { nowIso } from './db.js';

export const SCOPES = {
  'payments:read': 'See incoming payments',
  'balances:read': 'See balances',
  spend: 'Send payments, up to a daily limit per currency',
  operator: 'Read the reconciliation and held deposits (operators only)',
} as const;

export type Scope = keyof typeof SCOPES;

export const isScope = (text: string): text is Scope => Object.hasOwn(SCOPES, text);

export interface Token {
  id: bigint;
  customerId: bigint;
  label: string;
  prefix: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  uses: bigint;
  limits: { currencyId: bigint; dailyMax: bigint }[];
}

interface Row {
  id: bigint;
  customer_id: bigint;
  label: string;
  prefix: string;
  scopes: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  uses: bigint;
}

const TOKEN_PREFIX = 'lcpb_';
const hashOf = (token: string): string => createHash('sha256').update(token).digest('hex');

export class Tokens {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  #toToken(row: Row): Token {
    const limits = this.#db.prepare('SELECT currency_id, daily_max FROM token_limits WHERE token_id = ?').all(row.id) as {
      currency_id: bigint;
      daily_max: bigint;
    }[];
    return {
      id: row.id,
      customerId: row.customer_id,
      label: row.label,
      prefix: row.prefix,
      scopes: row.scopes.split(' ').filter(isScope),
      createdAt: row.created_at,
      revokedAt: row.revoked_at,
      lastUsedAt: row.last_used_at,
      uses: row.uses,
      limits: limits.map((l) => ({ currencyId: l.currency_id, dailyMax: l.daily_max })),
    };
  }

  /** Returns the secret once; it is not kept. */
  create(customerId: bigint, label: string, scopes: Scope[], limits: { currencyId: bigint; dailyMax: bigint }[]): { secret: string; token: Token } {
    const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const create = this.#db.transaction(() => {
      const row = this.#db
        .prepare('INSERT INTO tokens (customer_id, label, token_hash, prefix, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *')
        .get(customerId, label, hashOf(secret), secret.slice(0, TOKEN_PREFIX.length + 6), scopes.join(' '), nowIso()) as Row;
      for (const l of limits) this.#db.prepare('INSERT INTO token_limits (token_id, currency_id, daily_max) VALUES (?, ?, ?)').run(row.id, l.currencyId, l.dailyMax);
      return row;
    });
    return { secret, token: this.#toToken(create()) };
  }

  /** The live token for a bearer secret, or undefined (unknown or revoked). */
  authenticate(secret: string): Token | undefined {
    if (!secret.startsWith(TOKEN_PREFIX) || secret.length > 100) return undefined;
    const row = this.#db.prepare('SELECT * FROM tokens WHERE token_hash = ? AND revoked_at IS NULL').get(hashOf(secret)) as Row | undefined;
    return row && this.#toToken(row);
  }

  list(customerId: bigint): Token[] {
    return (this.#db.prepare('SELECT * FROM tokens WHERE customer_id = ? ORDER BY id DESC').all(customerId) as Row[]).map((r) => this.#toToken(r));
  }

  /** Revokes the customer's own token; false if there is no such token of theirs. */
  revoke(customerId: bigint, tokenId: bigint): boolean {
    const changed = this.#db
      .prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND customer_id = ? AND revoked_at IS NULL')
      .run(nowIso(), tokenId, customerId).changes;
    if (changed > 0) return true;
    return this.#db.prepare('SELECT 1 FROM tokens WHERE id = ? AND customer_id = ?').get(tokenId, customerId) !== undefined;
  }

  recordUse(tokenId: bigint, use: { method: string; path: string; status: number; detail?: string }): void {
    const at = nowIso();
    this.#db.transaction(() => {
      this.#db.prepare('UPDATE tokens SET last_used_at = ?, uses = uses + 1 WHERE id = ?').run(at, tokenId);
      this.#db
        .prepare('INSERT INTO token_uses (token_id, at, method, path, status, detail) VALUES (?, ?, ?, ?, ?, ?)')
        .run(tokenId, at, use.method, use.path.slice(0, 200), use.status, use.detail?.slice(0, 200) ?? null);
    })();
  }

  uses(tokenId: bigint, limit = 20): { at: string; method: string; path: string; status: number; detail: string | null }[] {
    return (
      this.#db.prepare('SELECT at, method, path, status, detail FROM token_uses WHERE token_id = ? ORDER BY id DESC LIMIT ?').all(tokenId, limit) as {
        at: string;
        method: string;
        path: string;
        status: bigint;
        detail: string | null;
      }[]
    ).map((u) => ({ ...u, status: Number(u.status) }));
  }

  /** Sent by this token in this currency since the start of the current UTC day (payments not failed). */
  spentToday(tokenId: bigint, currencyId: bigint, now = new Date()): bigint {
    const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())).toISOString();
    const row = this.#db
      .prepare(
        `SELECT COALESCE(SUM(amount), 0) AS s FROM payments
         WHERE token_id = ? AND currency_id = ? AND direction = 'out' AND status NOT IN ('failed') AND created_at >= ?`,
      )
      .get(tokenId, currencyId, dayStart) as { s: bigint };
    return row.s;
  }
}
