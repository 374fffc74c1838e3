// What a holder must remember about each issuer across restarts: the last messageCounter
// (persisted BEFORE a request is sent, with the request itself, so a crash mid-send can be
// recovered by retransmitting it), and the deposit notifications received but not yet used.
import { readFile } from 'node:fs/promises';
import { writeFileDurably } from './durable-file.js';

export interface PendingTransfer {
  counter: string;
  recipient: string;
  amount: string;
  transactionId: string;
  userid?: string;
}

export interface StoredDeposit {
  transactionId: string;
  amount: string;
  userid?: string;
  sequence?: string;
}

export interface HolderState {
  counter: string;
  /** The transfer sent with `counter` whose answer has not been seen yet. */
  pending?: PendingTransfer;
  /** A pending transfer settled on the way to sending another order: kept for recoverPending(). */
  recovered?: PendingTransfer & { result: string; fee: string };
  /** Highest deposit sequence acknowledged to the issuer. */
  acknowledged: string;
  /** Deposits received from the issuer and not yet taken by the application. */
  inbox: StoredDeposit[];
}

export interface HolderStateStore {
  load(): Promise<HolderState>;
  save(state: HolderState): Promise<void>;
}

/**
 * A fresh holder starts its counter at the current time in microseconds: still far below
 * 2^63, and above any counter the same key used before on another machine (at 1 request/µs).
 */
export function initialState(): HolderState {
  return { counter: (BigInt(Date.now()) * 1000n).toString(), acknowledged: '0', inbox: [] };
}

export class MemoryStateStore implements HolderStateStore {
  #state = initialState();
  async load(): Promise<HolderState> {
    return structuredClone(this.#state);
  }
  async save(state: HolderState): Promise<void> {
    this.#state = structuredClone(state);
  }
}

/** A JSON file replaced atomically and durably (writeFileDurably); one save at a time. */
export class FileStateStore implements HolderStateStore {
  #saving: Promise<void> = Promise.resolve();
  constructor(readonly path: string) {}

  async load(): Promise<HolderState> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as HolderState;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return initialState();
      throw error;
    }
  }

  save(state: HolderState): Promise<void> {
    const snapshot = JSON.stringify(state); // the state as it is now, whatever happens to it next
    const run = this.#saving.then(() => writeFileDurably(this.path, snapshot));
    this.#saving = run.catch(() => undefined);
    return run;
  }
}
