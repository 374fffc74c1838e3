// Long-poll waiters for getDeposits, keyed by holder. A request registers BEFORE it queries
// the store, so a deposit committed between the query and the wait still wakes it (a waiter
// woken before it waits returns at once). No polling: a commit, a timeout or an abort ends a wait.

export type WaitEnd = 'woken' | 'timeout' | 'aborted';

export interface DepositWaiter {
  /** Waits until woken, `ms` elapse or `signal` aborts; returns at once if already woken. */
  wait(ms: number, signal?: AbortSignal): Promise<WaitEnd>;
  /** Leaves the registry (always call it once the request is answered). */
  cancel(): void;
}

interface Entry {
  woken: boolean;
  notify: (() => void) | undefined;
}

export class DepositWaiters {
  readonly #byHolder = new Map<string, Set<Entry>>();
  #closed = false;

  /** Registered waiters across all holders (for metrics and tests). */
  get size(): number {
    let count = 0;
    for (const set of this.#byHolder.values()) count += set.size;
    return count;
  }

  register(holder: string): DepositWaiter {
    const entry: Entry = { woken: this.#closed, notify: undefined };
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
    const sets = [...this.#byHolder.values()];
    this.#byHolder.clear();
    for (const set of sets) for (const entry of set) wakeEntry(entry);
  }
}

function wakeEntry(entry: Entry): void {
  entry.woken = true;
  const notify = entry.notify;
  entry.notify = undefined;
  notify?.();
}

function waitFor(entry: Entry, ms: number, signal: AbortSignal | undefined): Promise<WaitEnd> {
  if (entry.woken) return Promise.resolve('woken');
  if (signal?.aborted) return Promise.resolve('aborted');
  if (!(ms > 0)) return Promise.resolve('timeout');
  return new Promise<WaitEnd>((resolve) => {
    const finish = (end: WaitEnd): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      entry.notify = undefined;
      resolve(end);
    };
    const onAbort = (): void => finish('aborted');
    const timer = setTimeout(() => finish('timeout'), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    entry.notify = () => finish('woken');
  });
}
