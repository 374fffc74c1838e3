// video.com's durable state: purchases and their progress through Figure 2, where each video
// is stored (placements), and each peer's record. SQLite, WAL, synchronous=FULL.
import Database from 'better-sqlite3';
import type { Contract, RetrievalInstruction } from '@lcp/storage-node';

export type PurchaseStatus = 'awaiting-payment' | 'paid' | 'ready' | 'refunded' | 'expired';

export interface Purchase {
  id: string;
  videoId: string;
  currency: string;
  price: bigint;
  buyer: string;
  transactionId: string;
  status: PurchaseStatus;
  instruction?: RetrievalInstruction;
  detail?: string;
  traceparent?: string;
  expiresAt: Date;
}

export interface Placement {
  videoId: string;
  nodeId: string;
  url: string;
  contract: Contract;
  objectId: string;
}

export interface PeerRecord {
  nodeId: string;
  url: string;
  successes: number;
  failures: number;
  /** Mean latency of successful retrieval requests, ms. */
  meanLatencyMs: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS purchases (
  id TEXT PRIMARY KEY,
  video_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  price INTEGER NOT NULL CHECK (price > 0),
  buyer TEXT NOT NULL,
  transaction_id TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  instruction TEXT,
  detail TEXT,
  traceparent TEXT,
  expires_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS placements (
  video_id TEXT NOT NULL,
  node_id TEXT NOT NULL,
  url TEXT NOT NULL,
  contract TEXT NOT NULL,
  object_id TEXT NOT NULL,
  PRIMARY KEY (video_id, node_id)
) STRICT;
CREATE TABLE IF NOT EXISTS peers (
  node_id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  successes INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  latency_ms_total INTEGER NOT NULL DEFAULT 0
) STRICT;
`;

interface PurchaseRow {
  id: string;
  video_id: string;
  currency: string;
  price: bigint;
  buyer: string;
  transaction_id: string;
  status: PurchaseStatus;
  instruction: string | null;
  detail: string | null;
  traceparent: string | null;
  expires_at: bigint;
}

const toPurchase = (row: PurchaseRow): Purchase => ({
  id: row.id,
  videoId: row.video_id,
  currency: row.currency,
  price: row.price,
  buyer: row.buyer,
  transactionId: row.transaction_id,
  status: row.status,
  ...(row.instruction ? { instruction: JSON.parse(row.instruction) as RetrievalInstruction } : {}),
  ...(row.detail ? { detail: row.detail } : {}),
  ...(row.traceparent ? { traceparent: row.traceparent } : {}),
  expiresAt: new Date(Number(row.expires_at)),
});

export class PublisherStore {
  readonly #db: Database.Database;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.defaultSafeIntegers(true);
    this.#db.exec(SCHEMA);
  }

  addPurchase(p: Purchase): void {
    this.#db
      .prepare(
        `INSERT INTO purchases (id, video_id, currency, price, buyer, transaction_id, status, traceparent, expires_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(p.id, p.videoId, p.currency, p.price, p.buyer, p.transactionId, p.status, p.traceparent ?? null, p.expiresAt.getTime(), Date.now());
  }

  purchase(id: string): Purchase | undefined {
    const row = this.#db.prepare<[string], PurchaseRow>('SELECT * FROM purchases WHERE id = ?').get(id);
    return row && toPurchase(row);
  }

  /** Purchases a restart must carry on with. */
  unfinished(): Purchase[] {
    return this.#db
      .prepare<[], PurchaseRow>("SELECT * FROM purchases WHERE status IN ('awaiting-payment', 'paid')")
      .all()
      .map(toPurchase);
  }

  setStatus(id: string, status: PurchaseStatus, extra: { instruction?: RetrievalInstruction; detail?: string } = {}): void {
    this.#db
      .prepare('UPDATE purchases SET status = ?, instruction = ?, detail = ?, updated_at = ? WHERE id = ?')
      .run(status, extra.instruction ? JSON.stringify(extra.instruction) : null, extra.detail ?? null, Date.now(), id);
  }

  addPlacement(p: Placement): void {
    this.#db
      .prepare('INSERT OR REPLACE INTO placements (video_id, node_id, url, contract, object_id) VALUES (?, ?, ?, ?, ?)')
      .run(p.videoId, p.nodeId, p.url, JSON.stringify(p.contract), p.objectId);
    this.#db.prepare('INSERT OR IGNORE INTO peers (node_id, url) VALUES (?, ?)').run(p.nodeId, p.url);
  }

  /** Where a video is stored, the most reliable peers first. */
  placements(videoId: string): Placement[] {
    return this.#db
      .prepare<[string], { video_id: string; node_id: string; url: string; contract: string; object_id: string }>(
        `SELECT p.* FROM placements p JOIN peers r ON r.node_id = p.node_id
         WHERE p.video_id = ? ORDER BY r.failures - r.successes, r.latency_ms_total / max(r.successes, 1)`,
      )
      .all(videoId)
      .map((row) => ({
        videoId: row.video_id,
        nodeId: row.node_id,
        url: row.url,
        contract: JSON.parse(row.contract) as Contract,
        objectId: row.object_id,
      }));
  }

  recordPeer(nodeId: string, outcome: { ok: true; latencyMs: number } | { ok: false }): void {
    if (outcome.ok) {
      this.#db
        .prepare('UPDATE peers SET successes = successes + 1, latency_ms_total = latency_ms_total + ? WHERE node_id = ?')
        .run(Math.round(outcome.latencyMs), nodeId);
    } else {
      this.#db.prepare('UPDATE peers SET failures = failures + 1 WHERE node_id = ?').run(nodeId);
    }
  }

  peers(): PeerRecord[] {
    return this.#db
      .prepare<[], { node_id: string; url: string; successes: bigint; failures: bigint; latency_ms_total: bigint }>(
        'SELECT * FROM peers ORDER BY node_id',
      )
      .all()
      .map((r) => ({
        nodeId: r.node_id,
        url: r.url,
        successes: Number(r.successes),
        failures: Number(r.failures),
        meanLatencyMs: r.successes > 0n ? Number(r.latency_ms_total / r.successes) : 0,
      }));
  }

  close(): void {
    this.#db.close();
  }
}
