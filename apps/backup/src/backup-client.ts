// The backup client: init, backup, list, restore, check (audit), repair, peers. It buys
// storage contracts from the peers, pays every write and read, spreads each chunk's sealed
// bytes k-of-n over the peers the planner chose, and keeps the catalog both here and, sealed
// and erasure coded, on the peers (with small root pointers on the root contracts the
// secret names).
import { createHash, randomInt } from 'node:crypto';
import { lstat, mkdir, open, readdir, utimes, chmod } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { StorageNodeIdentityError, StorageNodeProblemError, type Contract } from '@lcp/storage-node';
import { auditTags, checkBlock, pickBlock } from './audit-tags.js';
import { formatAmount } from '@lcp/protocol';
import { newCatalog, serializeCatalog, parseCatalog, writeFileDurably, type Catalog, type ChunkRef, type FileEntry, type FragmentRef, type Settings, type StoredContract } from './catalog.js';
import { chunkFile, chunkSizes } from './chunker.js';
import { decode, encode, rebuild, shardSize } from './erasure-code.js';
import { ChunkUnavailableError, NoPlanError, UsageError, WrongSecretError } from './errors.js';
import { choosePeers, estimateFailure, survival, DEFAULT_PRIOR, type Candidate, type Plan, type Prior } from './peer-choice.js';
import { nearExpiry, Peer, PeerUnreachableError } from './peers.js';
import { formatBytes, progressBar, table, type Output } from './progress.js';
import { chunkId, open as openSealed, seal, SEAL_OVERHEAD, TamperedError } from './sealing.js';
import { formatSecret, keyedName, type BackupKeys, type RootLocator } from './secret.js';
import { BudgetExhaustedError, type Spending } from './spending.js';

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

export interface BackupSummary {
  snapshot: string;
  files: number;
  bytes: number;
  chunksNew: number;
  chunksReused: number;
  fragmentsWritten: number;
  bytesStored: number;
  plan: { k: number; n: number; survival: number; peers: string[]; estimatedCost: bigint };
  paid: bigint;
}

export interface AuditReport {
  peer: string;
  passed: number;
  failed: number;
  /** Bytes the challenges that passed read (ranges, not whole fragments). */
  bytesRead: number;
  unreachable: boolean;
  failure: number;
  disqualified: boolean;
}

export interface RepairReport {
  chunksChecked: number;
  chunksRepaired: number;
  fragmentsCreated: number;
  belowGoal: number;
  unrecoverable: number;
  paid: bigint;
}

const ROOT_PREFIX = 'root-';
const MANIFEST_AAD = 'manifest';
/** Bytes a root contract must have room for: root pointers are small (a few hundred bytes each). */
const ROOT_SIZE = 4096;

export class BackupClient {
  #catalog: Catalog | undefined;
  #spending: Spending | undefined;
  readonly #peers: Map<string, Peer>;
  readonly #o: BackupClientOptions;

  constructor(options: BackupClientOptions, catalog: Catalog | undefined) {
    this.#o = options;
    this.#catalog = catalog;
    this.#peers = new Map(options.peers.map((p) => [p.nodeId, p]));
    if (catalog) this.#attach(catalog);
  }

  get catalogPath(): string {
    return join(this.#o.home, 'catalog.json');
  }
  get buyerId(): string {
    return this.#o.keys.identity.id;
  }
  /** The secret to keep: its key part alone (the peers are asked where the roots are). */
  get secret(): string {
    return formatSecret(this.#o.secretKey);
  }
  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
  get catalog(): Catalog {
    if (!this.#catalog) throw new UsageError('not initialised: run `lcp-backup init` first (or init with your secret on a new machine)');
    return this.#catalog;
  }
  get spending(): Spending {
    if (!this.#spending) throw new UsageError('not initialised');
    return this.#spending;
  }

  async ready(): Promise<void> {
    if (!this.#catalog) return;
    if (this.#catalog.buyer !== this.buyerId) {
      throw new WrongSecretError('wrong secret: this secret does not open the backup kept in this folder');
    }
    this.#attach(this.#catalog);
    this.#spending = await this.#o.spending(this.#catalog.settings, this.#catalog.spentElsewhere);
  }

  #attach(catalog: Catalog): void {
    for (const peer of this.#peers.values()) peer.catalog = catalog;
  }

  // ---- init ------------------------------------------------------------------------------

  /**
   * A new backup: buys the root contracts (replicated, k = 1) where root pointers will live.
   * With a secret that may already have a backup (given, or kept in this folder), first asks
   * the peers for this key's contracts holding root pointers and fetches the catalog from
   * the newest one (old secrets name their roots: those are tried first). Returns the secret
   * to keep: its key part alone.
   */
  async init(settings: Settings, rootReplicas = 3): Promise<{ secret: string; recovered: boolean }> {
    if (this.#catalog) throw new UsageError(`already initialised in ${this.#o.home}`);
    if (this.#o.roots.length > 0) {
      try {
        await this.#recover(settings);
        return { secret: this.secret, recovered: true };
      } catch (error) {
        // the named roots may have expired or moved: the peers can still say where the catalog is
        if (!(error instanceof ChunkUnavailableError)) throw error;
        this.#o.out.write(`${error.message}; asking the peers for this key's contracts\n`);
      }
    }
    if (this.#o.origin !== 'new' || this.#o.roots.length > 0) {
      const recovered = await this.#discover(settings, this.#o.origin === 'kept' && this.#o.roots.length === 0);
      if (recovered) return { secret: this.secret, recovered: true };
    }
    const catalog = newCatalog(settings, this.buyerId);
    this.#catalog = catalog;
    this.#attach(catalog);
    this.#spending = await this.#o.spending(settings, 0n);
    await this.#probeAll();
    const candidates = this.#candidates((k) => [shardSize(ROOT_SIZE, k)]);
    const plan = choosePeers(candidates, { goal: settings.goal, maxK: 1, maxPeers: rootReplicas, budget: this.spending.remaining });
    if (!plan) throw new NoPlanError(this.#noPlanReason(candidates, settings.goal, 'the root'));
    for (const candidate of plan.peers) {
      const peer = this.#peer(candidate.nodeId);
      // root contracts hold root pointers only
      const stored = await peer.buyContract(ROOT_SIZE, this.spending);
      catalog.roots.push({ nodeId: peer.nodeId, contract: stored.contract, usedBytes: stored.usedBytes });
    }
    await this.#saveLocal();
    this.#o.out.write(`root contracts on ${plan.peers.map((p) => p.name).join(', ')} (survival ${plan.survival.toFixed(6)})\n`);
    return { secret: this.secret, recovered: false };
  }

  /** A catalog to keep the peers' records and the manifest's contracts while fetching the real one. */
  async #scratch(settings: Settings): Promise<{ scratch: Catalog; spending: Spending }> {
    const spending = await this.#o.spending(settings, 0n);
    this.#spending = spending;
    const scratch = newCatalog(settings, this.buyerId);
    this.#catalog = scratch;
    this.#attach(scratch);
    return { scratch, spending };
  }

  /**
   * Asks every peer for this key's contracts that hold root pointers (GET /contracts, as the
   * buyer) and loads the catalog from the newest pointer that opens. Nothing found: with
   * `mayBeNew` (a secret this folder made) undefined, so that init starts a new backup;
   * otherwise a clear error (a wrong secret, or the peers that hold the roots did not answer).
   */
  async #discover(settings: Settings, mayBeNew: boolean): Promise<Catalog | undefined> {
    const { scratch, spending } = await this.#scratch(settings);
    const now = this.#now();
    const found: { peer: Peer; contract: Contract; objectId: string; size: number }[] = [];
    const unreachable: string[] = [];
    const reasons: string[] = [];
    await Promise.all(
      [...this.#peers.values()].map(async (peer) => {
        try {
          const list = await peer.call('list contracts', () => peer.client.contracts({ objectPrefix: ROOT_PREFIX }));
          for (const { contract } of list.contracts) {
            if (contract.buyer !== this.buyerId || Date.parse(contract.validUntil) <= now) continue;
            const status = await peer.call('contract', () => peer.client.contract(contract.contractId));
            for (const object of status.objects) {
              if (object.objectId.startsWith(ROOT_PREFIX)) found.push({ peer, contract, objectId: object.objectId, size: object.size });
            }
          }
        } catch (error) {
          if (error instanceof PeerUnreachableError) unreachable.push(peer.name);
          else if (error instanceof StorageNodeProblemError || error instanceof StorageNodeIdentityError) reasons.push(`${peer.name}: ${error.message}`);
          else throw error;
        }
      }),
    );
    // root-<sequence>, zero-padded: newest first
    found.sort((a, b) => b.objectId.localeCompare(a.objectId) || a.peer.name.localeCompare(b.peer.name));
    for (const pointer of found) {
      try {
        return await this.#fromPointer(pointer.peer, pointer.contract, pointer.objectId, pointer.size, scratch, spending);
      } catch (error) {
        if (error instanceof WrongSecretError || error instanceof BudgetExhaustedError) throw error;
        if (!(error instanceof PeerUnreachableError || error instanceof StorageNodeProblemError || error instanceof StorageNodeIdentityError || error instanceof ChunkUnavailableError)) {
          throw error;
        }
        reasons.push(`${pointer.peer.name}: ${error.message}`);
      }
    }
    this.#catalog = undefined;
    const answered = this.#peers.size - unreachable.length;
    const down = unreachable.length > 0 ? `; unreachable: ${unreachable.join(', ')}` : '';
    if (found.length > 0 || reasons.length > 0) throw new ChunkUnavailableError(`could not fetch the catalog: ${[...reasons, ...unreachable.map((n) => `${n}: unreachable`)].join('; ')}`);
    if (mayBeNew) return undefined;
    if (unreachable.length > 0) {
      throw new ChunkUnavailableError(`no root of this secret's backup on the ${answered} peers that answered${down} (peer unreachable: try again later)`);
    }
    throw new WrongSecretError(`wrong secret: none of the ${answered} peers holds a backup root for its key (or the peers that do are not in the peer list)`);
  }

  /** From the root locators an old secret carries. */
  async #recover(settings: Settings): Promise<Catalog> {
    const { scratch, spending } = await this.#scratch(settings);
    const reasons: string[] = [];
    for (const locator of this.#o.roots) {
      const peer = [...this.#peers.values()].find((p) => p.nodeId.startsWith(locator.nodePrefix));
      if (!peer) {
        reasons.push(`no configured peer has a node id starting ${locator.nodePrefix}`);
        continue;
      }
      try {
        const status = await peer.call('contract', () => peer.client.contract(locator.contractId));
        const pointers = status.objects.filter((o) => o.objectId.startsWith(ROOT_PREFIX)).sort((a, b) => b.objectId.localeCompare(a.objectId));
        const latest = pointers[0];
        if (!latest) {
          reasons.push(`${peer.name}: no root pointer yet (nothing was backed up)`);
          continue;
        }
        return await this.#fromPointer(peer, status.contract, latest.objectId, latest.size, scratch, spending);
      } catch (error) {
        if (error instanceof WrongSecretError || error instanceof BudgetExhaustedError) throw error;
        if (error instanceof StorageNodeProblemError && error.code === 'notContractHolder') {
          throw new WrongSecretError('wrong secret: the peers do not know its key as the buyer of the root contracts');
        }
        reasons.push(`${peer.name}: ${(error as Error).message}`);
      }
    }
    this.#catalog = undefined;
    throw new ChunkUnavailableError(`could not fetch the catalog from any root: ${reasons.join('; ')}`);
  }

  /** Reads a root pointer (paid), then the manifest it names, and makes it this folder's catalog. */
  async #fromPointer(peer: Peer, contract: Contract, objectId: string, size: number, scratch: Catalog, spending: Spending): Promise<Catalog> {
    const sealed = await peer.read(contract, objectId, size, 'read', spending, this.buyerId);
    const pointer = JSON.parse(this.#openOrWrongSecret(sealed, objectId).toString('utf8')) as { manifest: ChunkRef; contracts: Contract[] };
    for (const c of pointer.contracts) {
      const held = (scratch.contracts[c.nodeId] ??= []);
      if (!held.some((h) => h.contract.contractId === c.contractId)) held.push({ contract: c, usedBytes: 0 });
    }
    const blob = await this.#fetchChunk(MANIFEST_AAD, pointer.manifest, spending);
    const catalog = parseCatalog(gunzipSync(blob).toString('utf8'));
    if (catalog.buyer !== this.buyerId) throw new WrongSecretError('wrong secret: the manifest belongs to another key');
    // the budget goes on from what the other machine had spent; the reads just made are in this statement
    catalog.spentElsewhere = catalog.spentTotal;
    this.#catalog = catalog;
    this.#attach(catalog);
    this.#spending = await this.#o.spending(catalog.settings, catalog.spentElsewhere);
    await this.#saveLocal();
    this.#o.out.write(`recovered the catalog (${catalog.snapshots.length} snapshots) from ${peer.name}\n`);
    return catalog;
  }

  #openOrWrongSecret(sealed: Buffer, aad: string): Buffer {
    try {
      return openSealed(this.#o.keys.data, sealed, aad);
    } catch (error) {
      if (error instanceof TamperedError) throw new WrongSecretError('wrong secret: the root pointer does not open with it (or it was altered)');
      throw error;
    }
  }

  // ---- backup ----------------------------------------------------------------------------

  async backup(paths: readonly string[]): Promise<BackupSummary> {
    const catalog = this.catalog;
    const spending = this.spending;
    const paidBefore = spending.spent;
    const files = await collectFiles(paths);
    const totalBytes = files.reduce((s, f) => s + f.size, 0);
    const chunkBytes = catalog.settings.chunkBytes;
    const sealedSizes = files.flatMap((f) => chunkSizes(f.size, chunkBytes).map((size) => size + SEAL_OVERHEAD));
    await this.#probeAll();
    const plan = this.#plan(sealedSizes, 'this backup');
    this.#showPlan(plan);

    const bar = progressBar(this.#o.out, 'backup ', totalBytes);
    const entries: FileEntry[] = [];
    let chunksNew = 0;
    let chunksReused = 0;
    let fragmentsWritten = 0;
    let bytesStored = 0;
    for (const file of files) {
      const entry: FileEntry = { path: file.name, size: file.size, mode: file.mode, mtimeMs: file.mtimeMs, chunks: [] };
      const pending: Promise<void>[] = [];
      for await (const chunk of chunkFile(file.path, chunkBytes)) {
        const id = chunkId(this.#o.keys.names, chunk);
        entry.chunks.push(id);
        const known = catalog.chunks[id];
        if (known && this.#chunkSurvival(known) >= catalog.settings.goal) {
          chunksReused++;
          bar.tick(chunk.length);
          continue;
        }
        const job = this.#storeChunk(id, chunk, plan).then((ref) => {
          chunksNew++;
          fragmentsWritten += ref.fragments.length;
          bytesStored += ref.fragments.reduce((s, f) => s + f.size, 0);
          bar.tick(chunk.length);
        });
        pending.push(job);
        if (pending.length >= (this.#o.concurrency ?? 2)) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
      entries.push(entry);
    }
    bar.done();
    const snapshot = { id: String(catalog.snapshots.length + 1), createdAt: new Date().toISOString(), files: entries };
    catalog.snapshots.push(snapshot);
    await this.#saveEverywhere(plan);
    const summary: BackupSummary = {
      snapshot: snapshot.id,
      files: entries.length,
      bytes: totalBytes,
      chunksNew,
      chunksReused,
      fragmentsWritten,
      bytesStored,
      plan: { k: plan.k, n: plan.n, survival: plan.survival, peers: plan.peers.map((p) => p.name), estimatedCost: plan.cost },
      paid: spending.spent - paidBefore,
    };
    const s = catalog.settings.currency.scale;
    this.#o.out.write(
      `${table(
        [
          ['snapshot', summary.snapshot],
          ['files', String(summary.files)],
          ['data', formatBytes(summary.bytes)],
          ['chunks new / reused', `${chunksNew} / ${chunksReused}`],
          ['fragments written', String(fragmentsWritten)],
          ['stored on peers', `${formatBytes(bytesStored)} (overhead ${totalBytes ? (bytesStored / totalBytes).toFixed(2) : '-'}x)`],
          ['code', `${plan.k} of ${plan.n} on ${summary.plan.peers.join(', ')}`],
          ['survival', plan.survival.toFixed(6)],
          ['paid (with the manifest)', formatAmount(summary.paid, s)],
          ['budget left', formatAmount(spending.remaining, s)],
        ],
        ['backup', 'result'],
      )}\n`,
    );
    return summary;
  }

  /** Seals, codes and places one chunk; the manifest (id MANIFEST_AAD) is not recorded among the chunks. */
  async #storeChunk(id: string, chunk: Buffer, plan: Plan): Promise<ChunkRef> {
    const sealed = seal(this.#o.keys.data, chunk, id);
    const shards = encode(sealed, { k: plan.k, n: plan.n });
    const isManifest = id === MANIFEST_AAD;
    // objects are written once: each placement of the same chunk gets new names
    const generation = isManifest ? this.catalog.rootSequence : (this.#catalog?.chunks[id]?.generation ?? -1) + 1;
    const ref: ChunkRef = { size: chunk.length, sealedSize: sealed.length, k: plan.k, n: plan.n, fragments: [], generation };
    const used = new Set(plan.peers.map((p) => p.nodeId));
    const results = await Promise.allSettled(
      plan.peers.map(async (candidate, index) => {
        let peer = this.#peer(candidate.nodeId);
        const shard = shards[index] as Buffer;
        try {
          return await this.#writeFragment(peer, id, index, generation, shard);
        } catch (error) {
          if (!(error instanceof PeerUnreachableError || error instanceof StorageNodeProblemError)) throw error;
          // one retry on the best peer not already holding a fragment of this chunk
          const spare = this.#spares(used, shard.length)[0];
          if (!spare) throw error;
          used.add(spare.nodeId);
          peer = spare;
          return this.#writeFragment(peer, id, index, generation, shard);
        }
      }),
    );
    const failures: Error[] = [];
    for (const r of results) {
      if (r.status === 'fulfilled') ref.fragments.push(r.value);
      else failures.push(r.reason as Error);
    }
    // budget, payment and programming errors stop the run as they are
    const fatal = failures.find((e) => !(e instanceof PeerUnreachableError || e instanceof StorageNodeProblemError));
    if (fatal) throw fatal;
    if (ref.fragments.length < plan.k) {
      throw new ChunkUnavailableError(`only ${ref.fragments.length} of ${plan.n} fragments could be written (${plan.k} needed): ${failures.map((e) => e.message).join('; ')}`);
    }
    if (!isManifest) this.catalog.chunks[id] = ref;
    return ref;
  }

  async #writeFragment(peer: Peer, id: string, index: number, generation: number, shard: Buffer): Promise<FragmentRef> {
    const stored = await peer.contractFor(shard.length, this.spending);
    const objectId = `f${keyedName(this.#o.keys, 'fragment', id, index, generation)}`;
    const { sha256 } = await peer.write(stored, objectId, shard, this.spending);
    const ours = createHash('sha256').update(shard).digest('hex');
    if (sha256 !== ours) throw new StorageNodeIdentityError(`peer ${peer.name} recorded sha256 ${sha256} for a fragment whose sha256 is ${ours}`);
    return {
      index,
      nodeId: peer.nodeId,
      contractId: stored.contract.contractId,
      objectId,
      size: shard.length,
      sha256: ours,
      state: 'ok',
      audit: auditTags(this.#o.keys.audit, objectId, shard),
    };
  }

  #spares(used: ReadonlySet<string>, size: number): Peer[] {
    const scale = this.catalog.settings.currency.scale;
    return [...this.#peers.values()]
      .filter((p) => !used.has(p.nodeId) && p.offer && this.#failure(p) < 1 && p.costOf([size], scale) !== undefined)
      .sort((a, b) => {
        const ca = a.costOf([size], scale) as bigint;
        const cb = b.costOf([size], scale) as bigint;
        return ca === cb ? this.#failure(a) - this.#failure(b) : ca < cb ? -1 : 1;
      });
  }

  // ---- the manifest ----------------------------------------------------------------------

  /**
   * Saves the catalog here, then on the peers: sealed and coded like a chunk, with a root
   * pointer on each root contract that is still valid (renewed first where they near their end).
   */
  async #saveEverywhere(plan?: Plan): Promise<void> {
    const catalog = this.catalog;
    await this.#renewRoots();
    catalog.rootSequence++;
    catalog.spentTotal = this.spending.spent;
    await this.#saveLocal();
    const blob = gzipSync(Buffer.from(serializeCatalog(catalog), 'utf8'));
    const manifestPlan = plan ?? this.#plan([blob.length + SEAL_OVERHEAD], 'the manifest');
    const manifest = await this.#storeChunk(MANIFEST_AAD, blob, manifestPlan);
    const objectId = `${ROOT_PREFIX}${String(catalog.rootSequence).padStart(10, '0')}`;
    const pointer = seal(this.#o.keys.data, Buffer.from(JSON.stringify({ sequence: catalog.rootSequence, manifest, contracts: manifest.fragments.map((f) => this.#contractOf(f)) }), 'utf8'), objectId);
    let written = 0;
    const reasons: string[] = [];
    for (const root of catalog.roots) {
      const peer = this.#peers.get(root.nodeId);
      if (!peer || Date.parse(root.contract.validUntil) <= this.#now()) continue;
      try {
        const stored: StoredContract = { contract: root.contract, usedBytes: root.usedBytes };
        await peer.write(stored, objectId, pointer, this.spending);
        root.usedBytes = stored.usedBytes;
        written++;
      } catch (error) {
        reasons.push(`${peer.name}: ${(error as Error).message}`);
      }
    }
    await this.#saveLocal();
    if (written === 0) throw new ChunkUnavailableError(`the manifest could not be recorded on any root: ${reasons.join('; ')}`);
    if (reasons.length > 0) this.#o.out.write(`warning: root pointer missing on ${reasons.join('; ')}\n`);
  }

  /** A root contract that will keep a pointer for a while yet: its peer is up, in standing, and the contract not near its end. */
  #rootHealthy(root: { nodeId: string; contract: Contract }): boolean {
    const peer = this.#peers.get(root.nodeId);
    return peer !== undefined && !peer.record.disqualified && peer.offer !== undefined && !nearExpiry(root.contract, this.#now());
  }

  #rootsMeetGoal(): boolean {
    const healthy = this.catalog.roots.filter((r) => this.#rootHealthy(r)).map((r) => this.#peer(r.nodeId));
    return this.#survivalOf([...new Set(healthy)], 1) >= this.catalog.settings.goal;
  }

  /**
   * Root contracts end like any other: expired ones are dropped, and while the healthy ones
   * do not meet the goal (replicated, k = 1), new ones are bought on the cheapest other peers.
   * The secret names no root, so it stays the same. A failure here leaves the old roots in use.
   */
  async #renewRoots(): Promise<void> {
    const catalog = this.catalog;
    const now = this.#now();
    catalog.roots = catalog.roots.filter((r) => Date.parse(r.contract.validUntil) > now);
    if (this.#rootsMeetGoal()) return;
    const holding = new Set(catalog.roots.filter((r) => this.#rootHealthy(r)).map((r) => r.nodeId));
    const bought: string[] = [];
    for (const peer of this.#spares(holding, ROOT_SIZE)) {
      if (this.#rootsMeetGoal()) break;
      try {
        const stored = await peer.buyContract(ROOT_SIZE, this.spending);
        catalog.roots.push({ nodeId: peer.nodeId, contract: stored.contract, usedBytes: 0 });
        bought.push(peer.name);
      } catch (error) {
        if (error instanceof BudgetExhaustedError) {
          this.#o.out.write(`warning: the root contracts could not be renewed: ${error.message}\n`);
          break;
        }
        if (!(error instanceof PeerUnreachableError || error instanceof StorageNodeProblemError)) throw error;
      }
    }
    if (bought.length > 0) this.#o.out.write(`root contracts renewed on ${bought.join(', ')}\n`);
    if (!this.#rootsMeetGoal()) this.#o.out.write('warning: the root contracts that will last do not meet the goal\n');
  }

  async #saveLocal(): Promise<void> {
    this.catalog.spentTotal = this.#spending?.spent ?? this.catalog.spentTotal;
    await writeFileDurably(this.catalogPath, serializeCatalog(this.catalog));
  }

  // ---- list and restore ------------------------------------------------------------------

  list(snapshotId?: string): string {
    const catalog = this.catalog;
    if (snapshotId) {
      const snapshot = this.#snapshot(snapshotId);
      return table(
        snapshot.files.map((f) => [f.path, String(f.size), String(f.chunks.length)]),
        ['path', 'bytes', 'chunks'],
      );
    }
    return table(
      catalog.snapshots.map((s) => [s.id, s.createdAt, String(s.files.length), formatBytes(s.files.reduce((t, f) => t + f.size, 0))]),
      ['snapshot', 'created', 'files', 'size'],
    );
  }

  async restore(snapshotId: string, path: string | undefined, to: string): Promise<{ files: number; bytes: number; paid: bigint }> {
    const snapshot = this.#snapshot(snapshotId);
    const wanted = path ? path.replace(/\/+$/, '') : undefined;
    const files = snapshot.files.filter((f) => !wanted || f.path === wanted || f.path.startsWith(`${wanted}/`));
    if (files.length === 0) throw new UsageError(`snapshot ${snapshotId} has no file at ${path}`);
    const spending = this.spending;
    const paidBefore = spending.spent;
    const total = files.reduce((s, f) => s + f.size, 0);
    const bar = progressBar(this.#o.out, 'restore', total);
    const root = resolve(to);
    await this.#probeAll();
    for (const file of files) {
      const target = resolve(root, file.path);
      if (target !== root && !target.startsWith(root + sep)) throw new UsageError(`refusing to write outside ${root}: ${file.path}`);
      await mkdir(dirname(target), { recursive: true });
      const handle = await open(target, 'w', file.mode & 0o777);
      try {
        // fetch ahead: a few chunks in flight, written in order
        const ahead = this.#o.concurrency ?? 2;
        const queue: Promise<Buffer>[] = [];
        let next = 0;
        const fill = () => {
          while (queue.length < ahead && next < file.chunks.length) {
            const id = file.chunks[next++] as string;
            queue.push(this.#fetchChunk(id, this.#chunk(id), spending));
          }
        };
        fill();
        while (queue.length > 0) {
          const plaintext = await (queue.shift() as Promise<Buffer>);
          fill();
          await handle.write(plaintext);
          bar.tick(plaintext.length);
        }
      } finally {
        await handle.close();
      }
      await chmod(target, file.mode & 0o777);
      await utimes(target, new Date(file.mtimeMs), new Date(file.mtimeMs));
    }
    bar.done();
    await this.#saveLocal();
    const paid = spending.spent - paidBefore;
    this.#o.out.write(
      `${table(
        [
          ['snapshot', snapshotId],
          ['files', String(files.length)],
          ['bytes', formatBytes(total)],
          ['to', root],
          ['paid for reads', formatAmount(paid, this.catalog.settings.currency.scale)],
        ],
        ['restore', 'result'],
      )}\n`,
    );
    return { files: files.length, bytes: total, paid };
  }

  #snapshot(id: string) {
    const snapshot = this.catalog.snapshots.find((s) => s.id === id);
    if (!snapshot) throw new UsageError(`no snapshot ${id} (see \`lcp-backup list\`)`);
    return snapshot;
  }

  #chunk(id: string): ChunkRef {
    const ref = this.catalog.chunks[id];
    if (!ref) throw new UsageError(`the catalog has no chunk ${id}`);
    return ref;
  }

  /**
   * Paid reads of k fragments (data shards first: no decoding needed), each checked against
   * the sha256 the catalog holds; a bad or missing one is replaced by another. Then decode,
   * open (authenticated) and check the chunk's keyed id.
   */
  async #fetchChunk(id: string, ref: ChunkRef, spending: Spending): Promise<Buffer> {
    const sealed = decode(await this.#readShards(ref, spending), { k: ref.k, n: ref.n }, ref.sealedSize);
    const plaintext = openSealed(this.#o.keys.data, sealed, id);
    if (id !== MANIFEST_AAD && chunkId(this.#o.keys.names, plaintext) !== id) throw new TamperedError(`chunk ${id} does not match its id`);
    return plaintext;
  }

  /** k verified fragments of a chunk (paid reads), trying others when one fails. */
  async #readShards(ref: ChunkRef, spending: Spending): Promise<(Buffer | undefined)[]> {
    const order = ref.fragments
      .filter((f) => this.#readable(f))
      .sort((a, b) => Number(a.index >= ref.k) - Number(b.index >= ref.k) || this.#failure(this.#peer(a.nodeId)) - this.#failure(this.#peer(b.nodeId)) || a.index - b.index);
    // a read is paid before it is asked for: skip peers that did not answer the last probe while enough others did
    const live = order.filter((f) => this.#peer(f.nodeId).offer);
    if (live.length >= ref.k) order.splice(0, order.length, ...live);
    const shards: (Buffer | undefined)[] = new Array<Buffer | undefined>(ref.n).fill(undefined);
    const reasons: string[] = [];
    let got = 0;
    let at = 0;
    while (got < ref.k && at < order.length) {
      const batch = order.slice(at, at + (ref.k - got));
      at += batch.length;
      const results = await Promise.all(batch.map((fragment) => this.#readFragment(fragment, 'read', spending).then((b) => ({ fragment, b }), (e: Error) => ({ fragment, e }))));
      for (const result of results) {
        if ('b' in result) {
          shards[result.fragment.index] = result.b;
          got++;
        } else reasons.push(result.e.message);
      }
    }
    if (got < ref.k) throw new ChunkUnavailableError(`only ${got} of the ${ref.k} fragments needed could be read: ${reasons.join('; ')}`);
    return shards;
  }

  /** A paid read or audit of one fragment; altered bytes mark it lost and disqualify its peer. */
  async #readFragment(fragment: FragmentRef, purpose: 'read' | 'audit', spending: Spending): Promise<Buffer> {
    const peer = this.#peer(fragment.nodeId);
    const contract = this.#contractOf(fragment);
    let bytes: Buffer;
    try {
      bytes = await peer.read(contract, fragment.objectId, fragment.size, purpose, spending, this.buyerId);
    } catch (error) {
      if (error instanceof StorageNodeIdentityError) {
        this.#caught(peer, fragment, error.message, purpose);
        throw error;
      }
      if (purpose === 'read') peer.record.readsFailed++;
      throw error;
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== fragment.sha256 || bytes.length !== fragment.size) {
      const message = `peer ${peer.name} served altered bytes for ${fragment.objectId}`;
      this.#caught(peer, fragment, message, purpose);
      throw new StorageNodeIdentityError(message);
    }
    if (purpose === 'read') peer.record.readsServed++;
    else peer.record.auditsPassed++;
    return bytes;
  }

  /**
   * One challenge: a paid ranged read of a random block of the fragment, checked against the
   * block's keyed tag. Fragments written before tags existed are challenged whole.
   */
  async #audit(fragment: FragmentRef, spending: Spending): Promise<number> {
    const audit = fragment.audit;
    if (!audit) return (await this.#readFragment(fragment, 'audit', spending)).length;
    const peer = this.#peer(fragment.nodeId);
    const contract = this.#contractOf(fragment);
    const block = pickBlock(fragment.size, audit);
    let bytes: Buffer;
    try {
      bytes = await peer.read(contract, fragment.objectId, fragment.size, 'audit', spending, this.buyerId, { offset: block.offset, length: block.length });
    } catch (error) {
      if (error instanceof StorageNodeIdentityError) this.#caught(peer, fragment, error.message, 'audit');
      throw error;
    }
    if (!checkBlock(this.#o.keys.audit, fragment.objectId, audit, block.index, bytes)) {
      const message = `peer ${peer.name} served altered bytes ${block.offset}-${block.offset + block.length - 1} of ${fragment.objectId}`;
      this.#caught(peer, fragment, message, 'audit');
      throw new StorageNodeIdentityError(message);
    }
    peer.record.auditsPassed++;
    return bytes.length;
  }

  #caught(peer: Peer, fragment: FragmentRef, reason: string, purpose: 'read' | 'audit'): void {
    if (purpose === 'audit') peer.record.auditsFailed++;
    else peer.record.readsFailed++;
    fragment.state = 'lost';
    // altered data is not an accident of the network: the peer loses its standing
    peer.record.disqualified ??= { at: new Date().toISOString(), reason };
    for (const ref of Object.values(this.catalog.chunks)) for (const f of ref.fragments) if (f.nodeId === peer.nodeId) f.state = 'lost';
  }

  #contractOf(fragment: FragmentRef) {
    const stored = [...(this.catalog.contracts[fragment.nodeId] ?? []), ...this.catalog.roots.filter((r) => r.nodeId === fragment.nodeId)].find(
      (c) => c.contract.contractId === fragment.contractId,
    );
    if (!stored) throw new UsageError(`the catalog has no contract ${fragment.contractId}`);
    return stored.contract;
  }

  // ---- check (audit) and repair ----------------------------------------------------------

  /** Paid challenges of random ranges (a random block of a random fragment) on every peer holding fragments it can still be asked for. */
  async check(auditsPerPeer = this.#o.auditsPerPeer ?? 2): Promise<AuditReport[]> {
    const spending = this.spending;
    const byPeer = new Map<string, FragmentRef[]>();
    for (const ref of Object.values(this.catalog.chunks)) {
      for (const f of ref.fragments) if (this.#readable(f)) (byPeer.get(f.nodeId) ?? byPeer.set(f.nodeId, []).get(f.nodeId))?.push(f);
    }
    const reports: AuditReport[] = [];
    for (const [nodeId, fragments] of byPeer) {
      const peer = this.#peers.get(nodeId);
      if (!peer) continue;
      const report: AuditReport = { peer: peer.name, passed: 0, failed: 0, bytesRead: 0, unreachable: false, failure: 0, disqualified: false };
      reports.push(report);
      try {
        await peer.refreshOffer(); // free: an unreachable peer is not paid for a challenge it cannot answer
      } catch (error) {
        if (!(error instanceof PeerUnreachableError)) throw error;
        peer.offer = undefined;
        report.unreachable = true;
        report.failure = this.#failure(peer);
        continue;
      }
      const picked = new Set<number>();
      while (picked.size < Math.min(auditsPerPeer, fragments.length)) picked.add(randomInt(fragments.length));
      for (const i of picked) {
        try {
          report.bytesRead += await this.#audit(fragments[i] as FragmentRef, spending);
          report.passed++;
        } catch (error) {
          if (error instanceof PeerUnreachableError) {
            report.unreachable = true;
            break;
          }
          if (error instanceof StorageNodeIdentityError) {
            report.failed++;
            break;
          }
          if (error instanceof StorageNodeProblemError) {
            // the peer answered but cannot give the fragment back (lost, contract gone)
            peer.record.auditsFailed++;
            (fragments[i] as FragmentRef).state = 'lost';
            report.failed++;
            continue;
          }
          throw error;
        }
      }
      report.failure = this.#failure(peer);
      report.disqualified = peer.record.disqualified !== undefined;
    }
    await this.#saveLocal();
    const health = this.#health();
    this.#o.out.write(
      `${table(
        reports.map((r) => [
          r.peer,
          String(r.passed),
          String(r.failed),
          r.unreachable ? 'unreachable' : 'answered',
          r.failure.toFixed(3),
          r.disqualified ? 'disqualified' : 'good',
          formatBytes(r.bytesRead),
        ]),
        ['peer', 'passed', 'failed', 'reach', 'p(fail)', 'standing', 'read'],
      )}\n${health.total} chunks: ${health.belowGoal} below the goal of ${this.catalog.settings.goal}, ${health.unrecoverable} unrecoverable; paid ${formatAmount(
        spending.lines().filter((l) => l.purpose === 'audit' && l.status === 'paid').reduce((s, l) => s + l.amount + l.fee, 0n),
        this.catalog.settings.currency.scale,
      )} for audits so far\n`,
    );
    return reports;
  }

  /** Re-creates lost fragments on other peers for every chunk whose chance of surviving fell below the goal. */
  async repair(): Promise<RepairReport> {
    const catalog = this.catalog;
    const spending = this.spending;
    const paidBefore = spending.spent;
    await this.#probeAll();
    const goal = catalog.settings.goal;
    const report: RepairReport = { chunksChecked: 0, chunksRepaired: 0, fragmentsCreated: 0, belowGoal: 0, unrecoverable: 0, paid: 0n };
    const todo = Object.entries(catalog.chunks).filter(([, ref]) => this.#chunkSurvival(ref) < goal);
    const bar = progressBar(this.#o.out, 'repair ', todo.reduce((s, [, ref]) => s + ref.size, 0));
    report.chunksChecked = Object.keys(catalog.chunks).length;
    for (const [id, ref] of todo) {
      // fragments near their contract's end still serve as sources, but are re-created elsewhere
      const available = ref.fragments.filter((f) => this.#available(f));
      if (ref.fragments.filter((f) => this.#readable(f) && this.#peer(f.nodeId).offer).length < ref.k) {
        report.unrecoverable++;
        bar.tick(ref.size);
        continue;
      }
      const holders = new Set(available.map((f) => f.nodeId));
      const missing = Array.from({ length: ref.n }, (_, i) => i).filter((i) => !available.some((f) => f.index === i));
      const size = shardSize(ref.sealedSize, ref.k);
      const chosen: { peer: Peer; index: number }[] = [];
      for (const peer of this.#spares(holders, size)) {
        if (this.#survivalOf([...available.map((f) => this.#peer(f.nodeId)), ...chosen.map((c) => c.peer)], ref.k) >= goal) break;
        const index = missing[chosen.length];
        if (index === undefined) break;
        chosen.push({ peer, index });
      }
      if (chosen.length === 0) {
        report.belowGoal++;
        bar.tick(ref.size);
        continue;
      }
      try {
        const shards = await this.#readShards(ref, spending);
        const rebuilt = rebuild(shards, { k: ref.k, n: ref.n }, ref.sealedSize, chosen.map((c) => c.index));
        ref.generation++;
        for (const { peer, index } of chosen) {
          const fragment = await this.#writeFragment(peer, id, index, ref.generation, rebuilt.get(index) as Buffer);
          ref.fragments = ref.fragments.filter((f) => f.index !== index || this.#available(f));
          ref.fragments.push(fragment);
          report.fragmentsCreated++;
        }
        report.chunksRepaired++;
      } catch (error) {
        // one chunk that cannot be repaired now does not stop the others; money and bugs do
        if (!(error instanceof PeerUnreachableError || error instanceof StorageNodeProblemError || error instanceof ChunkUnavailableError || error instanceof StorageNodeIdentityError)) throw error;
        this.#o.out.write(`repair of a chunk failed, will retry next time: ${(error as Error).message}\n`);
      }
      if (this.#chunkSurvival(ref) < goal) report.belowGoal++;
      bar.tick(ref.size);
    }
    bar.done();
    // a new manifest when fragments moved, or when the root contracts near their end
    if (report.fragmentsCreated > 0 || !this.#rootsMeetGoal()) await this.#saveEverywhere();
    else await this.#saveLocal();
    report.paid = spending.spent - paidBefore;
    this.#o.out.write(
      `${table(
        [
          ['chunks checked', String(report.chunksChecked)],
          ['chunks repaired', String(report.chunksRepaired)],
          ['fragments re-created', String(report.fragmentsCreated)],
          ['still below the goal', String(report.belowGoal)],
          ['unrecoverable', String(report.unrecoverable)],
          ['paid', formatAmount(report.paid, catalog.settings.currency.scale)],
        ],
        ['repair', 'result'],
      )}\n`,
    );
    return report;
  }

  /** A fragment that counts toward a chunk's survival: on a peer that answered, in standing, under a contract not near its end. */
  #available(f: FragmentRef): boolean {
    if (f.state !== 'ok') return false;
    const peer = this.#peers.get(f.nodeId);
    if (!peer || peer.record.disqualified || !peer.offer) return false;
    const stored = (this.catalog.contracts[f.nodeId] ?? []).find((c) => c.contract.contractId === f.contractId);
    return stored !== undefined && !nearExpiry(stored.contract, this.#now());
  }

  /** A fragment that can still be read (its contract has not ended), even if it no longer counts. */
  #readable(f: FragmentRef): boolean {
    if (f.state !== 'ok') return false;
    const peer = this.#peers.get(f.nodeId);
    if (!peer || peer.record.disqualified) return false;
    const stored = [...(this.catalog.contracts[f.nodeId] ?? []), ...this.catalog.roots.filter((r) => r.nodeId === f.nodeId)].find(
      (c) => c.contract.contractId === f.contractId,
    );
    return stored !== undefined && Date.parse(stored.contract.validUntil) > this.#now();
  }

  #chunkSurvival(ref: ChunkRef): number {
    return this.#survivalOf(ref.fragments.filter((f) => this.#available(f)).map((f) => this.#peer(f.nodeId)), ref.k);
  }

  #survivalOf(peers: readonly Peer[], k: number): number {
    return survival(peers.map((p) => this.#failure(p)), k);
  }

  #health(): { total: number; belowGoal: number; unrecoverable: number } {
    const refs = Object.values(this.catalog.chunks);
    return {
      total: refs.length,
      belowGoal: refs.filter((r) => this.#chunkSurvival(r) < this.catalog.settings.goal).length,
      unrecoverable: refs.filter((r) => r.fragments.filter((f) => f.state === 'ok' && !this.#peers.get(f.nodeId)?.record.disqualified).length < r.k).length,
    };
  }

  // ---- peers -----------------------------------------------------------------------------

  /** Asks every peer for its offer (its price, and an uptime probe); peers that do not answer keep no offer. */
  async #probeAll(): Promise<void> {
    await Promise.all(
      [...this.#peers.values()].map(async (peer) => {
        try {
          await peer.refreshOffer();
          if (peer.offer && peer.offer.currency.wsdl !== this.catalog.settings.currency.wsdl) peer.offer = undefined;
        } catch {
          peer.offer = undefined;
        }
      }),
    );
  }

  async peers(): Promise<string> {
    await this.#probeAll();
    await this.#saveLocal();
    const scale = this.catalog.settings.currency.scale;
    const held = new Map<string, number>();
    for (const ref of Object.values(this.catalog.chunks)) for (const f of ref.fragments) if (f.state === 'ok') held.set(f.nodeId, (held.get(f.nodeId) ?? 0) + 1);
    return table(
      [...this.#peers.values()].map((peer) => {
        const prices = peer.prices(scale);
        const r = peer.record;
        return [
          peer.name,
          prices ? formatAmount(prices.contract, scale) : '-',
          prices ? formatAmount(prices.writePerKb, scale) : '-',
          prices ? formatAmount(prices.readPerKb, scale) : '-',
          `${r.auditsPassed}/${r.auditsFailed}`,
          `${r.readsServed}/${r.readsFailed}`,
          `${r.probesAnswered}/${r.probesMissed}`,
          this.#failure(peer).toFixed(3),
          String(held.get(peer.nodeId) ?? 0),
          r.disqualified ? 'disqualified' : peer.offer ? 'up' : 'unreachable',
        ];
      }),
      ['peer', 'contract', 'write/KB', 'read/KB', 'audits ok/bad', 'reads ok/bad', 'up/down', 'p(fail)', 'fragments', 'standing'],
    );
  }

  #peer(nodeId: string): Peer {
    const peer = this.#peers.get(nodeId);
    if (!peer) throw new UsageError(`peer ${nodeId} is in the catalog but not in the peer list`);
    return peer;
  }

  #failure(peer: Peer): number {
    return estimateFailure(peer.record, this.#o.prior ?? DEFAULT_PRIOR);
  }

  #candidates(fragmentSizes: (k: number) => number[]): Candidate[] {
    const scale = this.catalog.settings.currency.scale;
    return [...this.#peers.values()]
      .filter((p) => p.offer)
      .map((peer) => ({
        nodeId: peer.nodeId,
        name: peer.name,
        failure: this.#failure(peer),
        cost: (k: number) => peer.costOf(fragmentSizes(k), scale),
      }));
  }

  #plan(sealedSizes: readonly number[], what: string): Plan {
    const candidates = this.#candidates((k) => sealedSizes.map((s) => shardSize(s, k)));
    const goal = this.catalog.settings.goal;
    const plan = choosePeers(candidates, { goal, budget: this.spending.remaining });
    if (plan) return plan;
    throw new NoPlanError(this.#noPlanReason(candidates, goal, what));
  }

  #noPlanReason(candidates: Candidate[], goal: number, what: string): string {
    const scale = this.catalog.settings.currency.scale;
    if (candidates.length === 0) return `no peer answered: ${what} cannot be placed (peer unreachable)`;
    const unbounded = choosePeers(candidates, { goal });
    if (unbounded) {
      return `budget exhausted: ${what} would cost ${formatAmount(unbounded.cost, scale)} (${unbounded.k} of ${unbounded.n}), but ${formatAmount(
        this.spending.remaining < 0n ? 0n : this.spending.remaining,
        scale,
      )} of the budget is left`;
    }
    const all = survival(candidates.map((c) => c.failure), 1);
    return `no set of the ${candidates.length} reachable peers meets the goal ${goal} for ${what} (all of them, replicated, survive with ${all.toFixed(6)})`;
  }

  #showPlan(plan: Plan): void {
    const scale = this.catalog.settings.currency.scale;
    const chosen = new Set(plan.peers.map((p) => p.nodeId));
    const rows = [...this.#peers.values()].map((peer) => {
      const prices = peer.prices(scale);
      return [
        peer.name,
        prices ? `${formatAmount(prices.contract, scale)} + ${formatAmount(prices.writePerKb, scale)}/KB` : 'unreachable',
        this.#failure(peer).toFixed(3),
        chosen.has(peer.nodeId) ? 'chosen' : '',
      ];
    });
    this.#o.out.write(
      `${table(rows, ['peer', 'price', 'p(fail)', 'plan'])}\nplan: ${plan.k} of ${plan.n}, survival ${plan.survival.toFixed(6)} (goal ${this.catalog.settings.goal}), estimated cost ${formatAmount(plan.cost, scale)}\n`,
    );
  }

  async close(): Promise<void> {
    for (const peer of this.#peers.values()) peer.close();
  }
}

interface FoundFile {
  path: string;
  name: string;
  size: number;
  mode: number;
  mtimeMs: number;
}

/** Regular files under the paths, named relative to each path's parent (symbolic links are skipped). */
export async function collectFiles(paths: readonly string[]): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  const visit = async (path: string, name: string): Promise<void> => {
    const info = await lstat(path);
    if (info.isDirectory()) {
      for (const entry of (await readdir(path)).sort()) await visit(join(path, entry), `${name}/${entry}`);
    } else if (info.isFile()) {
      found.push({ path, name, size: info.size, mode: info.mode, mtimeMs: info.mtimeMs });
    }
  };
  for (const path of paths) await visit(resolve(path), basename(resolve(path)));
  return found;
}
