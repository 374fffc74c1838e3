// What every part of the backup client shares: the options it was started with, the peers by
// node id, and the catalog and the budget once init (or a catalog in this folder) gives them.
import { join } from 'node:path';
import { writeFileDurably } from '@lcp/client';
import { serializeCatalog, type Catalog, type FragmentRef, type Settings } from './catalog.js';
import { UsageError } from './errors.js';
import { estimateFailure, DEFAULT_PRIOR, type Prior } from './peer-choice.js';
import type { Peer } from './peers.js';
import type { Output } from './progress.js';
import type { BackupKeys, RootLocator } from './secret.js';
import type { Spending } from './spending.js';

export interface BackupClientOptions {
  home: string;
  keys: BackupKeys;
  /** The key part of the secret and the root locators it carries (old secrets only). */
  secretKey: string;
  roots: RootLocator[];
  /**
   * Where the secret came from: `new` (made now, nobody knows its key), `kept` (this folder's
   * secret file, e.g. written by `identity`), `given` (LCP_BACKUP_SECRET: a new machine).
   */
  origin: 'new' | 'kept' | 'given';
  /** The clock (tests move it to a contract's end). */
  now?: () => number;
  peers: Peer[];
  spending: (settings: Settings, spentBefore: bigint) => Promise<Spending>;
  out: Output;
  prior?: Prior;
  auditsPerPeer?: number;
  /** Chunks sealed and written at the same time. */
  concurrency?: number;
}

export class ClientContext {
  #catalog: Catalog | undefined;
  #spending: Spending | undefined;
  readonly peers: Map<string, Peer>;
  readonly options: BackupClientOptions;

  constructor(options: BackupClientOptions, catalog: Catalog | undefined) {
    this.options = options;
    this.peers = new Map(options.peers.map((p) => [p.nodeId, p]));
    if (catalog) this.adopt(catalog);
  }

  get catalogPath(): string {
    return join(this.options.home, 'catalog.json');
  }
  get buyerId(): string {
    return this.options.keys.identity.id;
  }
  get out(): Output {
    return this.options.out;
  }
  now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** The catalog, or undefined before init. */
  get loaded(): Catalog | undefined {
    return this.#catalog;
  }
  get catalog(): Catalog {
    if (!this.#catalog) throw new UsageError('not initialised: run `lcp-backup init` first (or init with your secret on a new machine)');
    return this.#catalog;
  }
  /** Makes the catalog this client's; the peers keep their records and contracts in it. */
  adopt(catalog: Catalog): void {
    this.#catalog = catalog;
    for (const peer of this.peers.values()) peer.catalog = catalog;
  }
  /** No catalog after all (none could be fetched). */
  forget(): void {
    this.#catalog = undefined;
  }

  get spending(): Spending {
    if (!this.#spending) throw new UsageError('not initialised');
    return this.#spending;
  }
  set spending(spending: Spending) {
    this.#spending = spending;
  }

  async saveLocal(): Promise<void> {
    this.catalog.spentTotal = this.#spending?.spent ?? this.catalog.spentTotal;
    await writeFileDurably(this.catalogPath, serializeCatalog(this.catalog));
  }

  peer(nodeId: string): Peer {
    const peer = this.peers.get(nodeId);
    if (!peer) throw new UsageError(`peer ${nodeId} is in the catalog but not in the peer list`);
    return peer;
  }

  failure(peer: Peer): number {
    return estimateFailure(peer.record, this.options.prior ?? DEFAULT_PRIOR);
  }

  contractOf(fragment: FragmentRef) {
    const stored = [...(this.catalog.contracts[fragment.nodeId] ?? []), ...this.catalog.roots.filter((r) => r.nodeId === fragment.nodeId)].find(
      (c) => c.contract.contractId === fragment.contractId,
    );
    if (!stored) throw new UsageError(`the catalog has no contract ${fragment.contractId}`);
    return stored.contract;
  }
}
