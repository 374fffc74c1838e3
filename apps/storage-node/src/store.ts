// The node's durable records in one SQLite file (WAL, synchronous=FULL): offers, contracts,
// stored objects, used payments, retrieval instructions, and deposits taken from the issuer.
// Every decision that spends a payment is one transaction: the payment is marked used in the
// same commit as what it paid for, so a payment can never pay twice, even across a crash.
import Database from 'better-sqlite3';
import type { DepositMemory } from './payments/issuer-payment-verifier.js';
import type { Contract, Offer, RetrievalInstruction } from './wire.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS offers (
  offer_id TEXT PRIMARY KEY, body TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS contracts (
  contract_id TEXT PRIMARY KEY, buyer TEXT NOT NULL, capacity_bytes INTEGER NOT NULL,
  valid_from INTEGER NOT NULL, valid_until INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
  contract_id TEXT NOT NULL REFERENCES contracts(contract_id), object_id TEXT NOT NULL,
  file TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, stored_at INTEGER NOT NULL,
  payment_transaction_id TEXT NOT NULL, PRIMARY KEY (contract_id, object_id));
CREATE TABLE IF NOT EXISTS used_payments (
  currency TEXT NOT NULL, transaction_id TEXT NOT NULL, amount TEXT NOT NULL,
  purpose TEXT NOT NULL, reference TEXT NOT NULL, used_at INTEGER NOT NULL,
  PRIMARY KEY (currency, transaction_id));
CREATE TABLE IF NOT EXISTS instructions (
  nonce TEXT PRIMARY KEY, contract_id TEXT NOT NULL, object_id TEXT NOT NULL, reader TEXT NOT NULL,
  expires_at INTEGER NOT NULL, body TEXT NOT NULL, used_at INTEGER);
CREATE INDEX IF NOT EXISTS contracts_by_buyer ON contracts (buyer, valid_from);
CREATE TABLE IF NOT EXISTS received_deposits (
  currency TEXT NOT NULL, transaction_id TEXT NOT NULL, amount TEXT NOT NULL, received_at INTEGER NOT NULL,
  PRIMARY KEY (currency, transaction_id));
`;

/** A payment being spent: marked used in the same commit as what it pays for. */
export interface PaymentUse {
  currency: string;
  transactionId: string;
  amount: bigint;
  purpose: 'contract' | 'write' | 'read';
  reference: string;
}

export interface StoredContract {
  contract: Contract;
  buyer: string;
  capacityBytes: number;
  validFrom: number;
  validUntil: number;
}

export interface StoredObject {
  contractId: string;
  objectId: string;
  file: string;
  size: number;
  sha256: string;
}

export type ContractOutcome = 'formed' | 'capacityExhausted' | 'paymentAlreadyUsed';
export type WriteOutcome = 'stored' | 'quotaExceeded' | 'objectExists' | 'paymentAlreadyUsed';

interface ContractRow {
  buyer: string;
  capacity_bytes: number;
  valid_from: number;
  valid_until: number;
  body: string;
}

export class StorageStore implements DepositMemory {
  readonly #db: Database.Database;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.exec(SCHEMA);
  }

  close(): void {
    this.#db.close();
  }

  // --- offers

  saveOffer(offer: Offer): void {
    this.#db
      .prepare('INSERT INTO offers (offer_id, body, expires_at) VALUES (?, ?, ?)')
      .run(offer.offerId, JSON.stringify(offer), Date.parse(offer.expiresAt));
  }

  offer(offerId: string): Offer | undefined {
    const row = this.#db.prepare('SELECT body FROM offers WHERE offer_id = ?').get(offerId) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as Offer);
  }

  /** The offer expiring last, if it is still valid after `until`. */
  latestOffer(until: number): Offer | undefined {
    const row = this.#db
      .prepare('SELECT body FROM offers WHERE expires_at > ? ORDER BY expires_at DESC LIMIT 1')
      .get(until) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as Offer);
  }

  // --- payments

  isUsed(currency: string, transactionId: string): boolean {
    return this.#db.prepare('SELECT 1 FROM used_payments WHERE currency = ? AND transaction_id = ?').get(currency, transactionId) !== undefined;
  }

  #use(payment: PaymentUse, now: number): boolean {
    const result = this.#db
      .prepare('INSERT OR IGNORE INTO used_payments (currency, transaction_id, amount, purpose, reference, used_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(payment.currency, payment.transactionId, payment.amount.toString(), payment.purpose, payment.reference, now);
    return result.changes === 1;
  }

  recall(currency: string, transactionId: string): bigint | undefined {
    const row = this.#db
      .prepare('SELECT amount FROM received_deposits WHERE currency = ? AND transaction_id = ?')
      .get(currency, transactionId) as { amount: string } | undefined;
    return row && BigInt(row.amount);
  }

  remember(currency: string, transactionId: string, amount: bigint): void {
    this.#db
      .prepare('INSERT OR IGNORE INTO received_deposits (currency, transaction_id, amount, received_at) VALUES (?, ?, ?, ?)')
      .run(currency, transactionId, amount.toString(), Date.now());
  }

  // --- contracts

  /** Bytes promised to contracts still valid at `now`. */
  soldBytes(now: number): number {
    const row = this.#db.prepare('SELECT COALESCE(SUM(capacity_bytes), 0) AS sold FROM contracts WHERE valid_until > ?').get(now) as { sold: number };
    return row.sold;
  }

  formContract(contract: Contract, payment: PaymentUse, totalCapacity: number, now: number): ContractOutcome {
    return this.#db.transaction((): ContractOutcome => {
      if (this.soldBytes(now) + contract.capacityBytes > totalCapacity) return 'capacityExhausted';
      if (!this.#use(payment, now)) return 'paymentAlreadyUsed';
      this.#db
        .prepare('INSERT INTO contracts (contract_id, buyer, capacity_bytes, valid_from, valid_until, body) VALUES (?, ?, ?, ?, ?, ?)')
        .run(contract.contractId, contract.buyer, contract.capacityBytes, Date.parse(contract.validFrom), Date.parse(contract.validUntil), JSON.stringify(contract));
      return 'formed';
    }).immediate();
  }

  contract(contractId: string): StoredContract | undefined {
    const row = this.#db.prepare('SELECT buyer, capacity_bytes, valid_from, valid_until, body FROM contracts WHERE contract_id = ?').get(contractId) as
      | ContractRow
      | undefined;
    return (
      row && {
        contract: JSON.parse(row.body) as Contract,
        buyer: row.buyer,
        capacityBytes: row.capacity_bytes,
        validFrom: row.valid_from,
        validUntil: row.valid_until,
      }
    );
  }

  /**
   * The buyer's contracts, newest first, at most `limit`, with their used bytes and object
   * counts; with `objectPrefix`, only those holding an object whose id starts with it.
   */
  contractsOf(buyer: string, limit: number, objectPrefix?: string): (StoredContract & { usedBytes: number; objectCount: number })[] {
    const filter = objectPrefix === undefined ? '' : 'AND EXISTS (SELECT 1 FROM objects o WHERE o.contract_id = c.contract_id AND substr(o.object_id, 1, length(@prefix)) = @prefix)';
    const rows = this.#db
      .prepare(
        `SELECT c.buyer, c.capacity_bytes, c.valid_from, c.valid_until, c.body,
           (SELECT COALESCE(SUM(size), 0) FROM objects o WHERE o.contract_id = c.contract_id) AS used,
           (SELECT COUNT(*) FROM objects o WHERE o.contract_id = c.contract_id) AS count
         FROM contracts c WHERE c.buyer = @buyer ${filter} ORDER BY c.valid_from DESC, c.contract_id LIMIT @limit`,
      )
      .all({ buyer, limit, ...(objectPrefix === undefined ? {} : { prefix: objectPrefix }) }) as (ContractRow & { used: number; count: number })[];
    return rows.map((row) => ({
      contract: JSON.parse(row.body) as Contract,
      buyer: row.buyer,
      capacityBytes: row.capacity_bytes,
      validFrom: row.valid_from,
      validUntil: row.valid_until,
      usedBytes: row.used,
      objectCount: row.count,
    }));
  }

  // --- objects

  usedBytes(contractId: string): number {
    const row = this.#db.prepare('SELECT COALESCE(SUM(size), 0) AS used FROM objects WHERE contract_id = ?').get(contractId) as { used: number };
    return row.used;
  }

  object(contractId: string, objectId: string): StoredObject | undefined {
    const row = this.#db
      .prepare('SELECT file, size, sha256 FROM objects WHERE contract_id = ? AND object_id = ?')
      .get(contractId, objectId) as { file: string; size: number; sha256: string } | undefined;
    return row && { contractId, objectId, ...row };
  }

  objects(contractId: string): StoredObject[] {
    const rows = this.#db
      .prepare('SELECT object_id, file, size, sha256 FROM objects WHERE contract_id = ? ORDER BY object_id')
      .all(contractId) as { object_id: string; file: string; size: number; sha256: string }[];
    return rows.map((r) => ({ contractId, objectId: r.object_id, file: r.file, size: r.size, sha256: r.sha256 }));
  }

  /** Every content file the database knows, so a restart can remove files a crash left behind. */
  allFiles(): Set<string> {
    const rows = this.#db.prepare('SELECT file FROM objects').all() as { file: string }[];
    return new Set(rows.map((r) => r.file));
  }

  storeObject(object: StoredObject, capacityBytes: number, payment: PaymentUse, now: number): WriteOutcome {
    return this.#db.transaction((): WriteOutcome => {
      if (this.object(object.contractId, object.objectId)) return 'objectExists';
      if (this.usedBytes(object.contractId) + object.size > capacityBytes) return 'quotaExceeded';
      if (!this.#use(payment, now)) return 'paymentAlreadyUsed';
      this.#db
        .prepare(
          'INSERT INTO objects (contract_id, object_id, file, size, sha256, stored_at, payment_transaction_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(object.contractId, object.objectId, object.file, object.size, object.sha256, now, payment.transactionId);
      return 'stored';
    }).immediate();
  }

  // --- retrieval instructions

  issueInstruction(instruction: RetrievalInstruction, payment: PaymentUse, now: number): 'issued' | 'paymentAlreadyUsed' {
    return this.#db.transaction(() => {
      if (!this.#use(payment, now)) return 'paymentAlreadyUsed' as const;
      this.#db
        .prepare('INSERT INTO instructions (nonce, contract_id, object_id, reader, expires_at, body) VALUES (?, ?, ?, ?, ?, ?)')
        .run(instruction.nonce, instruction.contractId, instruction.objectId, instruction.reader, Date.parse(instruction.expiresAt), JSON.stringify(instruction));
      return 'issued' as const;
    }).immediate();
  }

  instruction(nonce: string): { instruction: RetrievalInstruction; usedAt?: number } | undefined {
    const row = this.#db.prepare('SELECT body, used_at FROM instructions WHERE nonce = ?').get(nonce) as
      | { body: string; used_at: number | null }
      | undefined;
    return row && { instruction: JSON.parse(row.body) as RetrievalInstruction, ...(row.used_at === null ? {} : { usedAt: row.used_at }) };
  }

  /** Marks the instruction used; false if it already was (one read per instruction). */
  redeemInstruction(nonce: string, now: number): boolean {
    return this.#db.prepare('UPDATE instructions SET used_at = ? WHERE nonce = ? AND used_at IS NULL').run(now, nonce).changes === 1;
  }
}
