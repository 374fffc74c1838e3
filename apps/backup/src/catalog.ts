// The catalog: everything the client knows, kept as one JSON document under the home folder
// (written to a temporary file, fsynced and renamed). Its content is the manifest that is
// itself backed up (sealed, erasure coded, placed like any chunk), so a new machine with the
// secret gets it back whole: snapshots, where every fragment is, contracts, peer records.
import { readFile } from 'node:fs/promises';
import type { FragmentAudit } from './audit-tags.js';
import type { PeerRecord } from './peer-choice.js';
import type { Contract } from '@lcp/storage-node';

/** The chunk id the manifest (this catalog, stored on the peers like a chunk) is sealed under. */
export const MANIFEST_AAD = 'manifest';
/** Root pointers are named root-<sequence> on the root contracts. */
export const ROOT_PREFIX = 'root-';

export interface Settings {
  /** The most all payments together may cost, minor units of the currency. */
  budget: bigint;
  /** The redundancy goal: the probability that the data survives. */
  goal: number;
  chunkBytes: number;
  currency: { wsdl: string; scale: number };
}

export interface FragmentRef {
  index: number;
  nodeId: string;
  contractId: string;
  objectId: string;
  size: number;
  sha256: string;
  /** `lost`: failed an audit, or its peer was disqualified; it no longer counts. */
  state: 'ok' | 'lost';
  /** Keyed tags of its blocks, for audits of random ranges (absent in catalogs made before them: whole-fragment audits). */
  audit?: FragmentAudit;
}

export interface ChunkRef {
  /** Plaintext bytes. */
  size: number;
  /** Sealed bytes (what is erasure coded). */
  sealedSize: number;
  k: number;
  n: number;
  fragments: FragmentRef[];
  /** Fragment names are chosen afresh for each placement (objects are written once). */
  generation: number;
}

export interface FileEntry {
  path: string;
  size: number;
  mode: number;
  mtimeMs: number;
  chunks: string[];
}

export interface Snapshot {
  id: string;
  createdAt: string;
  files: FileEntry[];
}

export interface StoredContract {
  contract: Contract;
  usedBytes: number;
}

/** A root contract: it holds the root pointers (sealed, named root-<sequence>) and nothing else. */
export interface RootContract extends StoredContract {
  nodeId: string;
}

export interface Catalog {
  version: 1;
  settings: Settings;
  /** The buyer key's entity id: a different secret derives a different one. */
  buyer: string;
  roots: RootContract[];
  /** Spent on another machine before this folder's statement began (minor units). */
  spentElsewhere: bigint;
  /** Everything spent, as of the last save (a new machine starts its budget from it). */
  spentTotal: bigint;
  snapshots: Snapshot[];
  chunks: Record<string, ChunkRef>;
  /** Contracts by node id. */
  contracts: Record<string, StoredContract[]>;
  records: Record<string, PeerRecord>;
  /** The next root pointer's sequence number. */
  rootSequence: number;
}

export function newCatalog(settings: Settings, buyer: string): Catalog {
  return { version: 1, settings, buyer, roots: [], spentElsewhere: 0n, spentTotal: 0n, snapshots: [], chunks: {}, contracts: {}, records: {}, rootSequence: 0 };
}

// bigint is not JSON: the budget travels as a decimal string of minor units
export function serializeCatalog(catalog: Catalog): string {
  return JSON.stringify(catalog, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
}

export function parseCatalog(text: string): Catalog {
  const parsed = JSON.parse(text, (_key, value: unknown) => (typeof value === 'string' && /^-?\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value)) as Catalog;
  if (parsed.version !== 1 || typeof parsed.settings !== 'object') throw new Error('not an lcp-backup catalog');
  return parsed;
}

export async function loadCatalog(path: string): Promise<Catalog | undefined> {
  try {
    return parseCatalog(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
