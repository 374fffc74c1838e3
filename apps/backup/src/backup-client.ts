// The backup client: init, backup, list, restore, check (audit), repair, peers. It buys
// storage contracts from the peers, pays every write and read, spreads each chunk's sealed
// bytes k-of-n over the peers the planner chose, and keeps the catalog both here and, sealed
// and erasure coded, on the peers (with small root pointers on root contracts, which the
// peers list for the secret's key). Each command lives in its own module; this class holds
// their shared state.
import { auditPeers, type AuditReport } from './audit.js';
import type { Catalog, Settings } from './catalog.js';
import { recoverCatalog } from './catalog-recovery.js';
import { startCatalog } from './catalog-roots.js';
import { ClientContext, type BackupClientOptions } from './client-context.js';
import { UsageError, WrongSecretError } from './errors.js';
import { peerTable } from './peer-planning.js';
import { repairChunks, type RepairReport } from './repair.js';
import { listSnapshots, restoreSnapshot } from './restore.js';
import { formatSecret } from './secret.js';
import { takeSnapshot, type BackupSummary } from './snapshot.js';
import type { Spending } from './spending.js';

export type { AuditReport } from './audit.js';
export type { BackupClientOptions } from './client-context.js';
export type { RepairReport } from './repair.js';
export { collectFiles, type BackupSummary } from './snapshot.js';

export class BackupClient {
  readonly #ctx: ClientContext;

  constructor(options: BackupClientOptions, catalog: Catalog | undefined) {
    this.#ctx = new ClientContext(options, catalog);
  }

  get catalogPath(): string {
    return this.#ctx.catalogPath;
  }
  get buyerId(): string {
    return this.#ctx.buyerId;
  }
  /** The secret to keep: its key part alone (the peers are asked where the roots are). */
  get secret(): string {
    return formatSecret(this.#ctx.options.secretKey);
  }
  get catalog(): Catalog {
    return this.#ctx.catalog;
  }
  get spending(): Spending {
    return this.#ctx.spending;
  }

  async ready(): Promise<void> {
    const catalog = this.#ctx.loaded;
    if (!catalog) return;
    if (catalog.buyer !== this.buyerId) {
      throw new WrongSecretError('wrong secret: this secret does not open the backup kept in this folder');
    }
    this.#ctx.adopt(catalog);
    this.#ctx.spending = await this.#ctx.options.spending(catalog.settings, catalog.spentElsewhere);
  }

  /**
   * A new backup: buys the root contracts (replicated, k = 1) where root pointers will live.
   * With a secret that may already have a backup (given, or kept in this folder), first asks
   * the peers for this key's contracts holding root pointers and fetches the catalog from
   * the newest one (old secrets name their roots: those are tried first). Returns the secret
   * to keep: its key part alone.
   */
  async init(settings: Settings, rootReplicas = 3): Promise<{ secret: string; recovered: boolean }> {
    if (this.#ctx.loaded) throw new UsageError(`already initialised in ${this.#ctx.options.home}`);
    if (await recoverCatalog(this.#ctx, settings)) return { secret: this.secret, recovered: true };
    await startCatalog(this.#ctx, settings, rootReplicas);
    return { secret: this.secret, recovered: false };
  }

  backup(paths: readonly string[]): Promise<BackupSummary> {
    return takeSnapshot(this.#ctx, paths);
  }

  list(snapshotId?: string): string {
    return listSnapshots(this.#ctx, snapshotId);
  }

  restore(snapshotId: string, path: string | undefined, to: string): Promise<{ files: number; bytes: number; paid: bigint }> {
    return restoreSnapshot(this.#ctx, snapshotId, path, to);
  }

  /** Paid challenges of random ranges (a random block of a random fragment) on every peer holding fragments it can still be asked for. */
  check(auditsPerPeer = this.#ctx.options.auditsPerPeer ?? 2): Promise<AuditReport[]> {
    return auditPeers(this.#ctx, auditsPerPeer);
  }

  /** Re-creates lost fragments on other peers for every chunk whose chance of surviving fell below the goal. */
  repair(): Promise<RepairReport> {
    return repairChunks(this.#ctx);
  }

  peers(): Promise<string> {
    return peerTable(this.#ctx);
  }

  async close(): Promise<void> {
    for (const peer of this.#ctx.peers.values()) peer.close();
  }
}
