// Helpers shared by the tests (excluded from the build by tsconfig.build.json).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntityId, TransferFundsRequest } from '@lcp/protocol';
import { createIssuerLedger } from './issuer.js';
import { openSqliteStore, type SqliteLedgerStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { DepositsOutcome, IssuerLedger, IssuerSettings, Refusal, TransferOutcome } from './types.js';

/** A stable fake entity id (64 lowercase hex) for a name. */
export function entity(name: string): EntityId {
  return createHash('sha256').update(name).digest('hex') as EntityId;
}

export const TREASURY = entity('treasury');

export const NO_FEES: IssuerSettings['fees'] = {
  transfer: { fixed: 0n, ratePpm: 0n },
  resumedTransfer: { fixed: 0n, ratePpm: 0n },
  getDeposits: 0n,
};

export function settings(overrides: Partial<IssuerSettings> = {}): IssuerSettings {
  return { treasury: TREASURY, scale: 2, issuanceCap: 1_000_000_00n, fees: NO_FEES, ...overrides };
}

const cleanups: Array<() => void> = [];

/** A fresh directory under os.tmpdir(), removed by cleanupTemp(). */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lcp-issuer-core-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function cleanupTemp(): void {
  for (const cleanup of cleanups.splice(0)) cleanup();
}

export interface TestLedger {
  ledger: IssuerLedger;
  store: SqliteLedgerStore;
  path: string;
}

const open: IssuerLedger[] = [];

export function openLedger(
  overrides: Partial<IssuerSettings> = {},
  options: SqliteStoreOptions = {},
  path = join(tempDir(), 'ledger.db'),
): TestLedger {
  const store = openSqliteStore(path, options);
  const ledger = createIssuerLedger(store, settings(overrides));
  open.push(ledger);
  return { ledger, store, path };
}

/** Closes every ledger the tests opened (close is idempotent) and removes temp files. */
export async function closeAll(): Promise<void> {
  await Promise.allSettled(open.splice(0).map((ledger) => ledger.close()));
  cleanupTemp();
}

export function request(
  recipient: EntityId,
  amount: bigint,
  transactionId: string,
  messageCounter: bigint,
  userid?: string,
): TransferFundsRequest {
  return { recipient, amount, transactionId, messageCounter, ...(userid !== undefined ? { userid } : {}) };
}

export function expectResponse(outcome: TransferOutcome): { result: string; fee: bigint; replayed: boolean } {
  if ('fault' in outcome) throw new Error(`expected a response, got fault ${outcome.fault}: ${outcome.detail}`);
  return { ...outcome.response, replayed: outcome.replayed };
}

export function expectDeposits(outcome: DepositsOutcome): Exclude<DepositsOutcome, Refusal> {
  if ('fault' in outcome) throw new Error(`expected deposits, got fault ${outcome.fault}: ${outcome.detail}`);
  return outcome;
}

/** Deterministic PRNG (mulberry32) so a failing random run can be replayed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
