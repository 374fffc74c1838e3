// An open-loop load at a fixed offered rate: request slots are scheduled at rate/second, dealt to
// the workers in turn (one request at a time each, as a holder on one connection sends them).
// Latency counts from the slot's scheduled time whenever the worker was still busy with an
// earlier request (no coordinated omission), and from the actual send otherwise (so the load
// generator's own timer jitter is not charged to the server).
import { quantile, type Operation } from './closed-loop.js';

export interface PacedResult {
  workers: number;
  offeredPerSecond: number;
  seconds: number;
  /** Slots scheduled inside the window whose request completed. */
  completed: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Share of the window's slots that could not start on time because their worker was busy. */
  backlogged: number;
  total: number;
  failures: number;
  firstFailure: string | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runPaced(
  workers: Operation[],
  options: { ratePerSecond: number; warmupMs: number; durationMs: number },
): Promise<PacedResult> {
  const { ratePerSecond, warmupMs, durationMs } = options;
  const interval = 1000 / ratePerSecond;
  const began = performance.now() + 20;
  const windowStart = began + warmupMs;
  const windowEnd = windowStart + durationMs;
  const latencies: number[] = [];
  let total = 0;
  let failures = 0;
  let backlogged = 0;
  let inWindow = 0;
  let firstFailure: string | undefined;

  const loop = async (operation: Operation, index: number): Promise<void> => {
    let previousEnd = 0;
    for (let k = 0; ; k++) {
      const scheduled = began + (k * workers.length + index) * interval;
      if (scheduled >= windowEnd) return;
      const wait = scheduled - performance.now();
      if (wait > 0) await sleep(wait);
      const sent = performance.now();
      const late = previousEnd > scheduled; // busy with the previous request when this slot came
      let problem: string | undefined;
      try {
        problem = await operation();
      } catch (error) {
        problem = String((error as Error)?.message ?? error);
      }
      const ended = performance.now();
      previousEnd = ended;
      total++;
      if (problem !== undefined) {
        failures++;
        firstFailure ??= problem;
      }
      if (scheduled >= windowStart) {
        inWindow++;
        if (late) backlogged++;
        if (problem === undefined) latencies.push(ended - (late ? scheduled : sent));
      }
    }
  };

  await Promise.all(workers.map(loop));
  const sorted = Float64Array.from(latencies).sort();
  const seconds = durationMs / 1000;
  return {
    workers: workers.length,
    offeredPerSecond: ratePerSecond,
    seconds,
    completed: latencies.length,
    perSecond: latencies.length / seconds,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
    backlogged: inWindow > 0 ? backlogged / inWindow : 0,
    total,
    failures,
    firstFailure,
  };
}
