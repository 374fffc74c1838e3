// Sign-in attempts per (IP, name): after `attempts` failures within `windowMs`, further tries
// are refused until the oldest failure leaves the window. In memory: a restart forgets, which
// only ever helps the customer.
export class LoginLimiter {
  readonly #failures = new Map<string, number[]>();

  constructor(
    readonly attempts: number,
    readonly windowMs: number,
  ) {}

  /** 0 when a try is allowed now, else how many ms to wait. */
  retryAfter(key: string, now = Date.now()): number {
    const recent = this.#recent(key, now);
    if (recent.length < this.attempts) return 0;
    return (recent[0] ?? now) + this.windowMs - now;
  }

  fail(key: string, now = Date.now()): void {
    const recent = this.#recent(key, now);
    recent.push(now);
    this.#failures.set(key, recent);
    if (this.#failures.size > 100_000) this.prune(now);
  }

  succeed(key: string): void {
    this.#failures.delete(key);
  }

  prune(now = Date.now()): void {
    for (const [key] of this.#failures) if (this.#recent(key, now).length === 0) this.#failures.delete(key);
  }

  #recent(key: string, now: number): number[] {
    const list = (this.#failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (list.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, list);
    return list;
  }
}
