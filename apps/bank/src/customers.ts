// Customers: a name at the bank (bob@bank.com), a password, and for transparent banking an
// Ed25519 key of their own, kept sealed in the vault.
import { createPrivateKey } from 'node:crypto';
import { generateIdentity, identityFromPrivateKey, type Identity } from '@lcp/crypto';
import type { Db } from './db.js';
import { nowIso } from './db.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import { problem, type Problem } from './problems.js';
import type { Vault } from './vault.js';

export type CustomerKind = 'opaque' | 'transparent' | 'operator';

export interface Customer {
  id: bigint;
  name: string;
  kind: CustomerKind;
  entityId: string | null;
  createdAt: string;
  closedAt: string | null;
}

interface Row {
  id: bigint;
  name: string;
  kind: CustomerKind;
  password_hash: string;
  entity_id: string | null;
  key_box: string | null;
  created_at: string;
  closed_at: string | null;
}

const toCustomer = (r: Row): Customer => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  entityId: r.entity_id,
  createdAt: r.created_at,
  closedAt: r.closed_at,
});

/** Names are userids at the bank: lowercase, so `Bob` and `bob` are one customer. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;
export const RESERVED_NAMES = new Set(['admin', 'root', 'bank', 'postmaster', 'webmaster', 'abuse', 'support', 'www']);

const keyAad = (name: string, entityId: string): string => `customer-key:${name}:${entityId}`;

export class Customers {
  readonly #db: Db;
  readonly #vault: Vault;
  readonly #logN: number;
  readonly #reserved: Set<string>;
  #dummyHash: Promise<string> | undefined;

  constructor(db: Db, vault: Vault, options: { scryptLogN: number; operatorName: string }) {
    this.#db = db;
    this.#vault = vault;
    this.#logN = options.scryptLogN;
    this.#reserved = new Set([...RESERVED_NAMES, options.operatorName]);
  }

  /** The operator's sign-in: a customer row of kind 'operator' whose hash comes from the configuration. */
  ensureOperator(name: string, passwordHash: string | undefined): void {
    const row = this.#row(name);
    if (!passwordHash) {
      if (row?.kind === 'operator') this.#db.prepare('UPDATE customers SET closed_at = ? WHERE id = ? AND closed_at IS NULL').run(nowIso(), row.id);
      return;
    }
    if (row && row.kind !== 'operator') throw new Error(`the operator name ${name} belongs to a customer`);
    if (row) this.#db.prepare('UPDATE customers SET password_hash = ?, closed_at = NULL WHERE id = ?').run(passwordHash, row.id);
    else
      this.#db
        .prepare("INSERT INTO customers (name, kind, password_hash, created_at) VALUES (?, 'operator', ?, ?)")
        .run(name, passwordHash, nowIso());
  }

  #row(name: string): Row | undefined {
    return this.#db.prepare('SELECT * FROM customers WHERE name = ?').get(name) as Row | undefined;
  }

  byName(name: string): Customer | undefined {
    const row = this.#row(name.toLowerCase());
    return row && toCustomer(row);
  }

  byId(id: bigint): Customer | undefined {
    const row = this.#db.prepare('SELECT * FROM customers WHERE id = ?').get(id) as Row | undefined;
    return row && toCustomer(row);
  }

  /** Open customers who bank transparently: their keys must be at work. */
  transparent(): Customer[] {
    return (this.#db.prepare("SELECT * FROM customers WHERE kind = 'transparent' AND closed_at IS NULL AND key_box IS NOT NULL").all() as Row[]).map(toCustomer);
  }

  count(): { opaque: number; transparent: number } {
    const rows = this.#db
      .prepare("SELECT kind, COUNT(*) AS n FROM customers WHERE closed_at IS NULL AND kind != 'operator' GROUP BY kind")
      .all() as { kind: string; n: bigint }[];
    const n = (kind: string) => Number(rows.find((r) => r.kind === kind)?.n ?? 0n);
    return { opaque: n('opaque'), transparent: n('transparent') };
  }

  nameProblem(name: string): string | undefined {
    if (!NAME_PATTERN.test(name)) return 'A name is 1 to 32 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit.';
    if (this.#reserved.has(name)) return 'That name is reserved.';
    return undefined;
  }

  async signUp(input: { name: string; password: string; kind: 'opaque' | 'transparent' }): Promise<Customer | Problem> {
    const name = input.name.trim().toLowerCase();
    const nameProblem = this.nameProblem(name);
    if (nameProblem) return problem('invalid-request', nameProblem, { field: 'name' });
    const pwProblem = passwordProblem(input.password);
    if (pwProblem) return problem('invalid-request', pwProblem, { field: 'password' });
    if (this.#row(name)) return problem('name-taken', `${name} is taken; choose another name.`, { field: 'name' });
    const hash = await hashPassword(input.password, this.#logN);
    let entityId: string | null = null;
    let box: string | null = null;
    if (input.kind === 'transparent') {
      const identity = generateIdentity();
      entityId = identity.id;
      box = this.#vault.seal(identity.privateKey.export({ type: 'pkcs8', format: 'der' }), keyAad(name, identity.id));
    }
    try {
      const row = this.#db
        .prepare('INSERT INTO customers (name, kind, password_hash, entity_id, key_box, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *')
        .get(name, input.kind, hash, entityId, box, nowIso()) as Row;
      return toCustomer(row);
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return problem('name-taken', `${name} is taken; choose another name.`, { field: 'name' });
      throw error;
    }
  }

  /** The customer if the password is right; the same work is done for unknown names (no timing oracle). */
  async authenticate(name: string, password: string): Promise<Customer | undefined> {
    const row = this.#row(name.trim().toLowerCase());
    if (!row || row.closed_at) {
      this.#dummyHash ??= hashPassword('not a password of anyone', this.#logN);
      await verifyPassword(password, await this.#dummyHash);
      return undefined;
    }
    return (await verifyPassword(password, row.password_hash)) ? toCustomer(row) : undefined;
  }

  /** A transparent customer's identity, opened from the vault. */
  identity(customer: Customer): Identity {
    const row = this.#row(customer.name);
    if (!row?.key_box || !row.entity_id) throw new Error(`customer ${customer.name} holds no key here`);
    const der = this.#vault.open(row.key_box, keyAad(row.name, row.entity_id));
    const identity = identityFromPrivateKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
    if (identity.id !== row.entity_id) throw new Error(`the key of ${customer.name} does not match its entity id`);
    return identity;
  }

  /** Leaving: the sealed key is erased; the books and history stay. */
  close(customer: Customer): void {
    this.#db.prepare('UPDATE customers SET closed_at = ?, key_box = NULL WHERE id = ?').run(nowIso(), customer.id);
    this.#db.prepare("UPDATE tokens SET revoked_at = ? WHERE customer_id = ? AND revoked_at IS NULL").run(nowIso(), customer.id);
    this.#db.prepare('DELETE FROM sessions WHERE customer_id = ?').run(customer.id);
  }
}
