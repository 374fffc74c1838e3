// Where the issuer's time goes under the main load: `node dist/bench/profile.js [seconds]` runs the
// 32-holder transferFunds load against a server process started with --cpu-prof, then sums the
// V8 CPU profiles of its main thread (TLS, HTTP, envelopes) and its ledger worker thread (SQLite,
// group commit) over the measured window, by category and by function (self time). The profiler
// samples wall time: native work shows under the JS function that called it (SQLite statements,
// COMMIT's fsync included, under the store functions; TLS encryption under writev) and time
// blocked in a system call counts as busy, not idle.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { newHolders } from './holders.js';
import { httpLoad } from './http-load.js';
import { ringTransfers } from './loads.js';
import { fixed, int, percent, table } from './report.js';
import { forkServerProcess } from './server-process.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds of CLOCK_MONOTONIC (V8's TimeTicks on Linux), as process.hrtime in any process. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const NATIVE_WRITES = new Set(['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString', 'shutdown']);

const CATEGORIES: Array<[string, (name: string, url: string) => boolean]> = [
  ['idle (waiting for events)', (name) => name === '(idle)'],
  ['socket writes (native: TLS encrypt, send)', (name, url) => url === '' && NATIVE_WRITES.has(name)],
  ['worker messages (postMessage, structured clone)', (name, url) => url === '' && name === 'postMessage'],
  ['SQLite statements (native, in the store functions)', (name, url) => url.includes('sqlite-store')],
  ['garbage collection', (name) => name === '(garbage collector)'],
  ['native, not attributed (program)', (name) => name === '(program)'],
  ['SQLite (better-sqlite3, native included)', (_, url) => url.includes('better-sqlite3')],
  ['ledger rules and store (issuer-core)', (_, url) => url.includes('issuer-core')],
  ['LCP envelope and codecs (protocol)', (_, url) => url.includes('/protocol/')],
  ['node-soap and sax', (_, url) => url.includes('/soap/') || url.includes('/sax/')],
  ['express, router, body-parser', (_, url) => /\/(express|router|body-parser|raw-body|iconv-lite|type-is|finalhandler|send|on-finished|content-type|mime)/.test(url)],
  ['issuer app (guard, fast path, operations)', (_, url) => url.includes('/apps/issuer/')],
  ['TLS (node:tls, OpenSSL under it)', (_, url) => /node:(_tls|tls|internal\/tls)/.test(url)],
  ['HTTP (node:http)', (_, url) => /node:(_http|http|internal\/http)/.test(url)],
  ['net, streams, buffers, timers', (_, url) => /node:(net|stream|internal\/(streams|stream_base|buffer|timers|net)|buffer|timers|events)/.test(url)],
  ['worker messages (postMessage, structured clone)', (_, url) => /node:internal\/(worker|per_context\/messageport)/.test(url)],
  ['crypto (sha256 body hash)', (_, url) => /node:(crypto|internal\/crypto)/.test(url)],
];

function categoryOf(name: string, url: string): string {
  for (const [category, test] of CATEGORIES) if (test(name, url)) return category;
  if (name.startsWith('(')) return name;
  if (url === '') return 'other native bindings';
  return url.startsWith('node:') ? 'other node: internals' : 'other JavaScript';
}

interface Summary {
  totalMs: number;
  categories: Map<string, number>;
  functions: Map<string, number>;
  /** category to its functions' self time */
  members: Map<string, Map<string, number>>;
}

/** Self time of the samples taken between `from` and `to` (microseconds, CLOCK_MONOTONIC). */
function summarize(profile: CpuProfile, from: number, to: number): Summary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  const members = new Map<string, Map<string, number>>();
  let totalMs = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    const ms = delta / 1000;
    const frame = byId.get(id)?.callFrame;
    if (!frame || at < from || at > to) return;
    totalMs += ms;
    const category = categoryOf(frame.functionName, frame.url);
    categories.set(category, (categories.get(category) ?? 0) + ms);
    const where = frame.url ? `${basename(frame.url)}:${frame.lineNumber + 1}` : '[native]';
    const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    functions.set(key, (functions.get(key) ?? 0) + ms);
    const inCategory = members.get(category) ?? new Map<string, number>();
    inCategory.set(key, (inCategory.get(key) ?? 0) + ms);
    members.set(category, inCategory);
  });
  return { totalMs, categories, functions, members };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 8);
  const dir = await mkdtemp(join(tmpdir(), 'lcp-profile-'));
  const server = await forkServerProcess({ cpuProfileDir: dir });
  const { issuerPort, caPem } = server.ready;
  const holders = await newHolders(caPem, 32);
  await server.call('mint', { accounts: holders.map((h) => h.id), amount: 100_000_00n });
  const load = await httpLoad(
    server,
    issuerPort,
    holders,
    ringTransfers(server, issuerPort, holders, 'prof'),
    { warmupMs: 1_000, durationMs: seconds * 1000 },
  );
  // the measured window, on the clock the profiles use (the connections closed just after it)
  const windowEnd = Number(process.hrtime.bigint() / 1000n) - 20_000;
  const windowStart = windowEnd - seconds * 1e6;
  await server.stop();
  console.log(
    `transferFunds, 32 holders, ${seconds} s under --cpu-prof: ${int(load.perSecond)}/s, p50 ${fixed(load.p50Ms)} ms, p99 ${fixed(load.p99Ms)} ms, ` +
      `server CPU ${percent(load.serverCpu)} of a core (profiling slows it)\n`,
  );
  // one profile per thread: the main thread's is the largest (it also holds startup)
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  const profiles = await Promise.all(files.map(async (f) => ({ file: f, profile: JSON.parse(await readFile(join(dir, f), 'utf8')) as CpuProfile })));
  for (const { file, profile } of profiles) {
    const { totalMs, categories, functions, members } = summarize(profile, windowStart, windowEnd);
    const leaders = (category: string): string =>
      [...(members.get(category) ?? new Map<string, number>()).entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([name]) => name.replace(/ \[native\]$/, '').slice(0, 40))
        .join(', ');
    const isWorker = profile.nodes.some((n) => n.callFrame.url.includes('ledger-worker'));
    console.log(`${isWorker ? 'ledger worker thread' : 'main thread'} (${file}): ${fixed(totalMs / 1000, 1)} s of the measured window`);
    const rows = [...categories.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, ms]) => [name, fixed(ms / 1000, 2), percent(ms / totalMs, 1), name.startsWith('(') || name.startsWith('idle') ? '' : leaders(name)]);
    console.log(table(['category (self time)', 's', 'share', 'chiefly'], rows));
    const top = [...functions.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([name, ms]) => [name.slice(0, 90), fixed(ms / 1000, 2), percent(ms / totalMs, 1)]);
    console.log(table(['top functions (self time)', 's', 'share'], top));
    console.log('');
  }
  await rm(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error('profile failed:', error);
  process.exit(1);
});
