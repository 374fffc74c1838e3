// Long-poll waiters for getDeposits, keyed by holder. A request registers BEFORE it queries
// the store, so a deposit committed between the query and the wait still wakes it (a waiter
// woken before it waits returns at once). No polling: a commit, a timeout or an abort ends a wait.
//
// A waiter may also be answered inside the transaction that brings its deposit (claim): the
// transfer runs the waiter's `answer` work in its own transaction, and the waiter gets that
// answer once the transfer's commit is durable. One commit then carries both the deposit and
// the long-poll's acknowledgement, instead of a second commit after the first.

import type { LedgerTx } from './types.js';

export type WaitEnd<A = never> = 'woken' | 'timeout' | 'aborted' | { answer: A };

export interface DepositWaiter<A = never> {
  /** Waits until woken or answered, `ms` elapse or `signal` aborts; returns at once if already woken. */
  wait(ms: number, signal?: AbortSignal): Promise<WaitEnd<A>>;
  /** Leaves the registry (always call it once the request is answered). */
  cancel(): void;
}

/** A waiting request taken out of the registry by claim(); it ends only through settle(). */
export interface ClaimedWaiter<A> {
  readonly answer: (tx: LedgerTx) => Promise<A | 'wait'>;
  /** `{ answer }` once the transaction that ran `answer` committed; 'woken' (query again) if it did not. */
  settle(end: 'woken' | { answer: A }): void;
}

interface Entry<A> {
  woken: boolean;
  /** Set while the request waits. */
  finish: ((end: WaitEnd<A>) => void) | undefined;
  /** Stops the wait's timer and abort listener, so that only finish() ends it. */
  hold: (() => void) | undefined;
  readonly answer: ((tx: LedgerTx) => Promise<A | 'wait'>) | undefined;
}

export class DepositWaiters<A = never> {
  readonly #byHolder = new Map<string, Set<Entry<A>>>();
  #closed = false;

  /** Registered waiters across all holders (for metrics and tests). */
  get size(): number {
    let count = 0;
    for (const set of this.#byHolder.values()) count += set.size;
    return count;
  }

  /** `answer`, when given, lets a transfer to `holder` answer this request in its own transaction (claim). */
  register(holder: string, answer?: (tx: LedgerTx) => Promise<A | 'wait'>): DepositWaiter<A> {
    const entry: Entry<A> = { woken: this.#closed, finish: undefined, hold: undefined, answer };
    if (!this.#closed) {
      let set = this.#byHolder.get(holder);
      if (!set) {
        set = new Set();
        this.#byHolder.set(holder, set);
      }
      set.add(entry);
    }
    const remove = (): void => {
      const set = this.#byHolder.get(holder);
      if (set?.delete(entry) && set.size === 0) this.#byHolder.delete(holder);
    };
    return {
      wait: (ms, signal) => waitFor(entry, ms, signal),
      cancel: remove,
    };
  }

  /**
   * Takes the requests of `holder` that are waiting now and can be answered by a transaction.
   * Their timers and aborts no longer end them: the caller must settle each one.
   */
  claim(holder: string): Array<ClaimedWaiter<A>> {
    const set = this.#byHolder.get(holder);
    if (!set) return [];
    const claimed: Array<ClaimedWaiter<A>> = [];
    for (const entry of set) {
      const { finish, answer } = entry;
      if (entry.woken || !finish || !answer) continue;
      set.delete(entry);
      entry.hold?.();
      entry.woken = true; // a wake now changes nothing: this request is answered by its settle
      claimed.push({ answer, settle: finish });
    }
    if (set.size === 0) this.#byHolder.delete(holder);
    return claimed;
  }

  /** Wakes every waiter of `holder`; call after the commit that gave it a deposit. */
  wake(holder: string): void {
    const set = this.#byHolder.get(holder);
    if (!set) return;
    this.#byHolder.delete(holder);
    for (const entry of set) wakeEntry(entry);
  }

  /** Wakes every waiter of every holder (they query again): used when a notification may have been missed. */
  wakeAll(): void {
    const sets = [...this.#byHolder.values()];
    this.#byHolder.clear();
    for (const set of sets) for (const entry of set) wakeEntry(entry);
  }

  /** Wakes everyone; later registrations are born woken, so no request starts a new wait. */
  close(): void {
    this.#closed = true;
    this.wakeAll();
  }
}

function wakeEntry<A>(entry: Entry<A>): void {
  entry.woken = true;
  entry.finish?.('woken');
}

function waitFor<A>(entry: Entry<A>, ms: number, signal: AbortSignal | undefined): Promise<WaitEnd<A>> {
  if (entry.woken) return Promise.resolve('woken');
  if (signal?.aborted) return Promise.resolve('aborted');
  if (!(ms > 0)) return Promise.resolve('timeout');
  return new Promise<WaitEnd<A>>((resolve) => {
    const hold = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const finish = (end: WaitEnd<A>): void => {
      hold();
      entry.finish = undefined;
      entry.hold = undefined;
      resolve(end);
    };
    const onAbort = (): void => finish('aborted');
    const timer = setTimeout(() => finish('timeout'), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    entry.finish = finish;
    entry.hold = hold;
  });
}
