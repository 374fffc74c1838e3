// Browser sessions: a random id in a Secure, HttpOnly, SameSite=Strict cookie; the server keeps
// only its SHA-256, with the customer, a CSRF token (synchronizer pattern) and a one-shot
// flash message. Visitors who are not signed in get a session too, so the sign-in and sign-up
// forms carry a CSRF token like every other form.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from './db.js';

export const SESSION_COOKIE = '__Host-lcp-bank';
const ANONYMOUS_MS = 60 * 60 * 1000;

export interface Session {
  idHash: string;
  customerId: bigint | null;
  csrf: string;
}

const hashOf = (id: string): string => createHash('sha256').update(id).digest('hex');

export class Sessions {
  readonly #db: Db;
  readonly #ttlMs: number;

  constructor(db: Db, ttlMs: number) {
    this.#db = db;
    this.#ttlMs = ttlMs;
  }

  /** A new session; returns the cookie value (never stored) and the session. */
  create(customerId: bigint | null): { cookie: string; session: Session } {
    const cookie = randomBytes(32).toString('base64url');
    const session = { idHash: hashOf(cookie), customerId, csrf: randomBytes(32).toString('base64url') };
    const ttl = customerId === null ? ANONYMOUS_MS : this.#ttlMs;
    this.#db
      .prepare('INSERT INTO sessions (id_hash, customer_id, csrf, expires_at) VALUES (?, ?, ?, ?)')
      .run(session.idHash, customerId, session.csrf, BigInt(Date.now() + ttl));
    return { cookie, session };
  }

  find(cookie: string | undefined): Session | undefined {
    if (!cookie || cookie.length > 100) return undefined;
    const row = this.#db
      .prepare('SELECT id_hash, customer_id, csrf, expires_at FROM sessions WHERE id_hash = ?')
      .get(hashOf(cookie)) as { id_hash: string; customer_id: bigint | null; csrf: string; expires_at: bigint } | undefined;
    if (!row || Number(row.expires_at) < Date.now()) return undefined;
    return { idHash: row.id_hash, customerId: row.customer_id, csrf: row.csrf };
  }

  destroy(session: Session): void {
    this.#db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(session.idHash);
  }

  setFlash(session: Session, message: string): void {
    this.#db.prepare('UPDATE sessions SET flash = ? WHERE id_hash = ?').run(message, session.idHash);
  }

  takeFlash(session: Session): string | undefined {
    const row = this.#db.prepare('SELECT flash FROM sessions WHERE id_hash = ?').get(session.idHash) as { flash: string | null } | undefined;
    if (!row?.flash) return undefined;
    this.#db.prepare('UPDATE sessions SET flash = NULL WHERE id_hash = ?').run(session.idHash);
    return row.flash;
  }

  prune(): void {
    this.#db.prepare('DELETE FROM sessions WHERE expires_at < ?').run(BigInt(Date.now()));
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }
}

export function csrfMatches(session: Session, sent: unknown): boolean {
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(sent);
  return a.length === b.length && timingSafeEqual(a, b);
}
