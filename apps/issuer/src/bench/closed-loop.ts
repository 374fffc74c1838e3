// A closed-loop load: each worker starts its next operation when its previous one has finished.
// After a warm-up, a measurement window of fixed length counts the operations completed in it
// and the latency of those that both started and ended in it.

/** One operation; resolves to undefined when it succeeded, or to what was wrong. */
export type Operation = () => Promise<string | undefined>;

export interface WindowSample<S> {
  at: number;
  value: S;
}

export interface ClosedLoopResult<S> {
  workers: number;
  seconds: number;
  /** Operations completed inside the window. */
  completed: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Every operation run, warm-up and drain included, and how many of them failed. */
  total: number;
  failures: number;
  firstFailure: string | undefined;
  start: S;
  end: S;
}

/** The q-quantile (0..1) of ascending `sorted`, nearest rank. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export async function runClosedLoop<S>(
  workers: Operation[],
  options: { warmupMs: number; durationMs: number; sample: () => Promise<S> | S },
): Promise<ClosedLoopResult<S>> {
  const latencies: number[] = [];
  let measuring = false;
  let stopped = false;
  let completed = 0;
  let total = 0;
  let failures = 0;
  let firstFailure: string | undefined;
  let windowStart = 0;
  let windowEnd = 0;

  const takeSample = async (): Promise<S> => options.sample(); // a sample that throws rejects the run
  let startSample: Promise<S> | undefined;
  let endSample: Promise<S> | undefined;
  const opened = new Promise<void>((resolve) =>
    setTimeout(() => {
      startSample = takeSample();
      windowStart = performance.now();
      measuring = true;
      resolve();
    }, options.warmupMs),
  );
  const closed = opened.then(
    () =>
      new Promise<void>((resolve) =>
        setTimeout(() => {
          measuring = false;
          stopped = true;
          windowEnd = performance.now();
          endSample = takeSample();
          resolve();
        }, options.durationMs),
      ),
  );

  const loop = async (operation: Operation): Promise<void> => {
    while (!stopped) {
      const startedInWindow = measuring;
      const began = performance.now();
      let problem: string | undefined;
      try {
        problem = await operation();
      } catch (error) {
        problem = String((error as Error)?.message ?? error);
      }
      const ended = performance.now();
      total++;
      if (problem !== undefined) {
        failures++;
        firstFailure ??= problem;
        // a broken connection fails at once: do not spin on it
        if (!stopped) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      if (measuring) {
        completed++;
        if (startedInWindow) latencies.push(ended - began);
      }
    }
  };

  await Promise.all([...workers.map(loop), closed]);
  const sorted = Float64Array.from(latencies).sort();
  const seconds = (windowEnd - windowStart) / 1000;
  return {
    workers: workers.length,
    seconds,
    completed,
    perSecond: completed / seconds,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
    total,
    failures,
    firstFailure,
    start: await (startSample as Promise<S>),
    end: await (endSample as Promise<S>),
  };
}
