// Is a change faster? `node dist/bench/ab-bench.js` runs two issuer server processes side by side,
// A and B, and measures transfers and the echo on both in alternating 2 s windows, the order turned
// every round. On this shared machine the same load moves by up to 30 % between windows a minute
// apart, so two benchmark runs one after the other cannot compare two builds; windows side by side
// come closer, as a slow minute falls on A and B alike. Still, two null runs (the same build on
// both sides) gave B/A of 109 % and 100 %: run a change with the sides swapped too, and trust only
// what points the same way. Prints each round, the medians of B/A, and the CPU per transfer of
// each server's main thread, ledger worker and other threads (from /proc: Linux).
// Knobs:
//   AB_A_DIST, AB_B_DIST   a built dist folder of this app for each side (default: this one). A copy
//                          of dist inside apps/issuer resolves the same packages; to compare a change
//                          in a package, build it in a second git worktree and name that dist. Each
//                          side runs its own build's echo: against a build from before 2026-11-27
//                          (echo on express), the echo's B/A and shares do not compare like for like.
//   AB_A_NODE_OPTIONS, AB_B_NODE_OPTIONS   Node options of each server process
//   AB_ROUNDS              rounds of four windows (default 8)
import { readdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { newHolders, type BenchHolder } from './holders.js';
import { httpLoad, type HttpLoadResult } from './http-load.js';
import { echoRequests, median, ringTransfers } from './loads.js';
import { fixed, int, percent, table } from './report.js';
import type { ServerProcess } from './server-process.js';

const HOLDERS = 32;
const ROUNDS = Number(process.env.AB_ROUNDS ?? 8);
if (!(Number.isInteger(ROUNDS) && ROUNDS >= 1 && ROUNDS <= 50)) throw new RangeError('AB_ROUNDS must be from 1 to 50');
const WINDOW = { warmupMs: 500, durationMs: 2_000 };
const WARMUP = { warmupMs: 8_000, durationMs: 1_000 }; // a fresh server's rate climbs for 3 to 10 s
// each round runs the four windows in one of these orders, so no side or load is always first
const ORDERS = [
  ['At', 'Bt', 'Ae', 'Be'],
  ['Be', 'Ae', 'Bt', 'At'],
  ['Ae', 'Be', 'At', 'Bt'],
  ['Bt', 'At', 'Be', 'Ae'],
] as const;

/** CPU ms (user + system) of each thread of a process, from /proc's ticks of 1/100 s. */
async function threadCpuMs(pid: number): Promise<Map<string, number>> {
  const ms = new Map<string, number>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const fields = (await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
    ms.set(tid, (Number(fields[11]) + Number(fields[12])) * 10);
  }
  return ms;
}

interface Side {
  name: 'A' | 'B';
  server: ServerProcess;
  transfers(): Promise<HttpLoadResult>;
  echo(): Promise<HttpLoadResult>;
  /** ms of CPU per transfer in the measured transfer windows */
  cpu: { main: number; worker: number; other: number; transfers: number };
}

async function startSide(name: 'A' | 'B', dist: string, nodeOptions: string | undefined): Promise<Side> {
  const module = pathToFileURL(resolve(dist, 'bench/server-process.js')).href;
  const { forkServerProcess } = (await import(module)) as typeof import('./server-process.js');
  const saved = process.env.NODE_OPTIONS;
  if (nodeOptions === undefined) delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = nodeOptions;
  const server = await forkServerProcess();
  if (saved === undefined) delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = saved;
  const holders: BenchHolder[] = await newHolders(server.ready.caPem, HOLDERS);
  const funded = await server.call('mint', { accounts: holders.map((h) => h.id), amount: 100_000_00n });
  if (funded !== HOLDERS) throw new Error(`${name}: funded ${funded} of ${HOLDERS} holders`);
  const cpu = { main: 0, worker: 0, other: 0, transfers: 0 };
  let round = 0;
  const checked = (result: HttpLoadResult): HttpLoadResult => {
    if (result.failures > 0) throw new Error(`${name}: ${result.failures} requests failed`);
    return result;
  };
  /** `counted`: add the window's CPU to `cpu` (the measured windows, not the warm-up) */
  const transfers = async (timing: typeof WINDOW, counted: boolean): Promise<HttpLoadResult> => {
    const before = await threadCpuMs(server.pid);
    const result = checked(await httpLoad(server, server.ready.issuerPort, holders, ringTransfers(server, server.ready.issuerPort, holders, `ab${round++}`), timing));
    const after = await threadCpuMs(server.pid);
    const used = [...after].map(([tid, t]) => [tid, t - (before.get(tid) ?? 0)] as const);
    const main = used.find(([tid]) => tid === String(server.pid))?.[1] ?? 0;
    // the ledger worker is the busiest thread after the main one; the rest are GC and libuv helpers
    const worker = Math.max(0, ...used.filter(([tid]) => tid !== String(server.pid)).map(([, t]) => t));
    const all = used.reduce((sum, [, t]) => sum + t, 0);
    if (counted) {
      cpu.main += main;
      cpu.worker += worker;
      cpu.other += all - main - worker;
      cpu.transfers += result.completed;
    }
    return result;
  };
  const echoOperation = echoRequests(server, holders);
  const echo = async (timing: typeof WINDOW): Promise<HttpLoadResult> =>
    checked(await httpLoad(server, server.ready.echoPort, holders, echoOperation, timing));
  await transfers(WARMUP, false);
  await echo({ warmupMs: 2_000, durationMs: 500 });
  return { name, server, transfers: () => transfers(WINDOW, true), echo: () => echo(WINDOW), cpu };
}

async function main(): Promise<void> {
  const here = fileURLToPath(new URL('..', import.meta.url));
  const dists = { A: resolve(process.env.AB_A_DIST ?? here), B: resolve(process.env.AB_B_DIST ?? here) };
  const options = { A: process.env.AB_A_NODE_OPTIONS, B: process.env.AB_B_NODE_OPTIONS };
  for (const side of ['A', 'B'] as const) console.log(`${side}: ${dists[side]}${options[side] ? `, NODE_OPTIONS=${options[side]}` : ''}`);
  console.log(`${ROUNDS} rounds of 4 windows (${WINDOW.warmupMs / 1000} s + ${WINDOW.durationMs / 1000} s each), ${HOLDERS} holders\n`);
  const a = await startSide('A', dists.A, options.A);
  try {
    const b = await startSide('B', dists.B, options.B);
    try {
      const rates = { At: [] as number[], Bt: [] as number[], Ae: [] as number[], Be: [] as number[] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const key of ORDERS[round % ORDERS.length] as (typeof ORDERS)[number]) {
          const side = key[0] === 'A' ? a : b;
          const result = key[1] === 't' ? await side.transfers() : await side.echo();
          rates[key].push(result.perSecond);
        }
      }
      const rows = rates.At.map((_, i) => {
        const [at, bt, ae, be] = [rates.At, rates.Bt, rates.Ae, rates.Be].map((r) => r[i] as number) as [number, number, number, number];
        return [String(i + 1), int(at), int(bt), percent(bt / at, 1), int(ae), int(be), percent(be / ae, 1), percent(at / ae, 1), percent(bt / be, 1)];
      });
      console.log(table(['round', 'A transfers/s', 'B transfers/s', 'B/A', 'A echo/s', 'B echo/s', 'B/A', 'A share', 'B share'], rows));
      const ratio = (x: number[], y: number[]) => median(x.map((v, i) => v / (y[i] as number)));
      console.log(`\nB/A, median of ${ROUNDS} rounds: transfers ${percent(ratio(rates.Bt, rates.At), 1)}, echo ${percent(ratio(rates.Be, rates.Ae), 1)}`);
      console.log(`echo share, median: A ${percent(ratio(rates.At, rates.Ae), 1)}, B ${percent(ratio(rates.Bt, rates.Be), 1)}`);
      for (const side of [a, b]) {
        const per = (ms: number) => fixed(ms / side.cpu.transfers, 3);
        console.log(`${side.name}: CPU ms per transfer: main thread ${per(side.cpu.main)}, ledger worker ${per(side.cpu.worker)}, other threads ${per(side.cpu.other)}`);
      }
    } finally {
      await b.server.stop();
    }
  } finally {
    await a.server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
