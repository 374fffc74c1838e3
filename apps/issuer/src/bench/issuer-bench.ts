// The issuer's benchmark (`pnpm bench`): durable transfers/s over SOAP/TLS against the same stack's
// bare HTTPS echo rate (also in alternating short windows) and the raw SQLite ledger rate, server
// CPU per TLS handshake, and how the issuer behaves beyond the happy path: 1, 32 and 256 holders;
// latency at half the target rate; 10 thousand vs 1 million existing accounts; deposit notification
// latency; memory of 10,000 idle long-polls; TLS resumption of returning holders; honest holders
// during a hostile flood.
// The servers run in forked processes (issuer-child.ts); this process is the load generator.
// Prints a report and writes bench-results/issuer.json under the current directory. A missed
// target never fails the process; a failed check (a wrong answer, a broken ledger) does.
// Knobs: BENCH_SECONDS (measured seconds of the two main loads, default 10) and BENCH_CPU_PROF (a
// folder that receives a V8 CPU profile of the main server process).
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { relative, resolve } from 'node:path';
import { SOAP_PATH } from '@lcp/protocol';
import { benchAccounts, type AccountsResult } from './accounts-bench.js';
import { benchFlood, hostileCost, HOSTILE_KINDS, type HostileCost } from './flood-bench.js';
import { benchHandshakes } from './handshake-bench.js';
import { newHolders, type BenchHolder } from './holders.js';
import { httpLoad, measureWindow, type HttpLoadResult, type WindowFigures } from './http-load.js';
import { benchIdlePolls } from './idle-polls.js';
import { benchLedger } from './ledger-bench.js';
import { echoRequests, median, ringTransfers } from './loads.js';
import { benchNotifications } from './notify-bench.js';
import { runPaced, type PacedResult } from './paced.js';
import { fixed, int, machine, percent, table } from './report.js';
import { benchReturning } from './returning.js';
import { forkServerProcess, type ServerProcess } from './server-process.js';
import { TlsHttpConnection } from './tls-http.js';

const HOLDERS = 32;
// A fresh server needs 3 to 10 s of the transfer load before its rate settles (JIT tiers, heap
// sizing): two per-second traces climbed from 1,400-1,700/s to 3,500-4,300/s. With 2 s, run 1
// measured part of that climb.
const WARMUP_MS = 10_000;
const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 10) * 1000;
if (!(DURATION_MS >= 1000 && DURATION_MS <= 60_000)) throw new RangeError('BENCH_SECONDS must be from 1 to 60');
/** The secondary loads (holder scaling, paced, accounts, notifications, flood) are shorter. */
const SHORT = { warmupMs: 1_000, durationMs: Math.min(5_000, DURATION_MS) };
/** Transfers and echo in alternating short windows, for the echo share (see step 3). */
const ALTERNATING = { rounds: 6, warmupMs: 500, durationMs: 2_000 };
const HANDSHAKE_CONNECTIONS = 500;
const HANDSHAKE_CONCURRENCY = 4;
const LEDGER_WARMUP_MS = 500;
const LEDGER_DURATION_MS = 3_000;
const FUNDING = 100_000_00n; // minor units per holder: far more than a run can spend
const SCALE_HOLDERS = [1, HOLDERS, 256] as const;
const POPULATIONS = [10_000, 1_000_000] as const;
const RECIPIENT_POOL = 50_000;
const NOTIFY_PAIRS = 16;
const RETURNING = { holders: 256, rounds: 4, concurrency: 16 };
// 10,000 long-polls, 50 per key (the limit is 64). Each waits 60 s from its own start, so opening
// must end well before the first of them answers: the deadline stops it short if the machine is slow.
const IDLE = { keys: 200, perKey: 50, concurrency: 64, openDeadlineMs: 50_000 };
const HOSTILE_WORKERS = 8;
const HOSTILE_COST_REQUESTS: Record<(typeof HOSTILE_KINDS)[number], number> = { charRefs: 200, invalid: 600, oversized: 200 };

const TARGETS = {
  transfersPerSecond: 10_000, // at 32 holders
  pacedP99Ms: 20, // at half of transfersPerSecond
  echoShare: 0.6,
  notifyP50Ms: 2,
  notifyP99Ms: 10,
  idlePollsBytes: 2 ** 30, // for 10,000 of them
  resumedShare: 0.99,
};
const EARLIER_TARGET_TRANSFERS_PER_SECOND = 3_000; // this benchmark's first target, kept for comparison

const WATCHDOG_MS = 420_000;
const RESULTS_FILE = 'bench-results/issuer.json';
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROF;
const KNOBS = ['BENCH_SECONDS', 'BENCH_CPU_PROF'] as const;

async function pacedTransfers(
  server: ServerProcess,
  holders: BenchHolder[],
  ratePerSecond: number,
): Promise<PacedResult & WindowFigures> {
  const { domain, issuerPort } = server.ready;
  const connections = await Promise.all(
    holders.map((h) => TlsHttpConnection.open({ host: '127.0.0.1', port: issuerPort, servername: domain, secureContext: h.context })),
  );
  try {
    const build = ringTransfers(server, issuerPort, holders, 'paced');
    const paced = runPaced(connections.map(build), { ratePerSecond, ...SHORT });
    // the window's figures (GC, the neighbours' CPU) leave the warm-up out, as the closed loops do
    await new Promise((resolve) => setTimeout(resolve, SHORT.warmupMs));
    const window = await measureWindow(server);
    const result = await paced;
    return { ...result, ...(await window()) };
  } finally {
    for (const c of connections) c.close();
  }
}

async function funded(server: ServerProcess, count: number): Promise<BenchHolder[]> {
  const holders = await newHolders(server.ready.caPem, count);
  const minted = await server.call('mint', { accounts: holders.map((h) => h.id), amount: FUNDING });
  if (minted !== count) throw new Error(`funded ${minted} of ${count} holders`);
  return holders;
}

async function main(): Promise<void> {
  const m = machine();
  const knobs = KNOBS.filter((name) => process.env[name] !== undefined).map((name) => `${name}=${process.env[name]}`);
  const script = relative(process.cwd(), process.argv[1] ?? '');
  const command = `cd ${process.cwd()} && ${[...knobs, 'node', ...process.execArgv, script].join(' ')}`;
  const began = performance.now();
  const elapsed = () => `${((performance.now() - began) / 1000).toFixed(0)} s`;
  console.log('LCP issuer benchmark: money.com over SOAP 1.1/HTTPS with client certificates, SQLite ledger (WAL, synchronous=FULL)');
  console.log(`machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}`);
  console.log(`command: ${command}`);
  console.log(
    `load:    ${HOLDERS} holders, each with its own certificate and kept-alive TLS connection, closed loop; ` +
      `${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s measured (secondary loads ${SHORT.warmupMs / 1000} s + ${SHORT.durationMs / 1000} s); servers in forked processes`,
  );
  console.log(`ledgers: SQLite files under ${tmpdir()}, one fsync per COMMIT`);
  // other processes on the machine take CPU from both the issuer and the load generator
  const loadAtStart = loadavg()[0] as number;
  console.log(`host:    load average ${fixed(loadAtStart, 2)} (1 min) at the start, on ${m.cpus} CPUs\n`);

  let server: ServerProcess | undefined;
  const watchdog = setTimeout(() => {
    console.error(`the benchmark ran longer than ${WATCHDOG_MS / 1000} s: giving up`);
    server?.kill();
    process.exit(2);
  }, WATCHDOG_MS);
  watchdog.unref();
  const steps = 15;
  let step = 0;
  const say = (what: string) => console.log(`[${++step}/${steps}] ${what} (${elapsed()})`);

  server = await forkServerProcess(CPU_PROFILE_DIR ? { cpuProfileDir: resolve(CPU_PROFILE_DIR) } : {});
  const { domain, issuerPort, echoPort } = server.ready;
  const target = { domain, port: issuerPort, path: SOAP_PATH };
  const holders = await funded(server, HOLDERS);
  const checks: Array<{ check: string; ok: boolean }> = [];
  let mints = HOLDERS;
  let successes = 0;
  const succeeded = (r: { total: number; failures: number }) => (successes += r.total - r.failures);

  // 1. durable transfers: holder i pays holder i+1 one minor unit, counters 1, 2, 3, ...
  say(`transferFunds over SOAP/TLS, ${HOLDERS} holders`);
  const timing = { warmupMs: WARMUP_MS, durationMs: DURATION_MS };
  const transfers = await httpLoad(server, issuerPort, holders, ringTransfers(server, issuerPort, holders, 'bench'), timing);
  succeeded(transfers);
  const totals = await server.call('totals');
  checks.push(
    { check: `every transferFunds answered success (${int(transfers.total)} sent)`, ok: transfers.failures === 0 },
    { check: 'ledger sum is zero, no negative account', ok: totals.sum === 0n && totals.negativeAccounts.length === 0 },
    {
      check: `ledger holds ${HOLDERS} mints + ${int(successes)} transfers (found ${int(totals.transfers)})`,
      ok: totals.transfers === mints + successes,
    },
  );

  // 2. the same TLS options and a plain request listener, no SOAP and no ledger: the transport's ceiling
  say('HTTPS echo, same TLS, plain request listener');
  const echoOperation = echoRequests(server, holders);
  const echo = await httpLoad(server, echoPort, holders, echoOperation, timing);
  checks.push({ check: `every echo answered its body (${int(echo.total)} sent)`, ok: echo.failures === 0 });

  // 3. the echo share again, in alternating short windows (transfers, echo, echo, transfers, ...):
  // a neighbour's burst then falls on both loads alike, which two long windows one after the
  // other cannot promise (their ratio has ranged from 37 % to 74 % on this machine)
  say(`transfers and echo in ${ALTERNATING.rounds * 2} alternating ${ALTERNATING.durationMs / 1000} s windows each`);
  const alternating: Array<{ transfers: number; echo: number }> = [];
  let alternatingFailures = 0;
  for (let round = 0; round < ALTERNATING.rounds; round++) {
    const running = server;
    const runTransfers = () => httpLoad(running, issuerPort, holders, ringTransfers(running, issuerPort, holders, `alt${round}`), ALTERNATING);
    const runEcho = () => httpLoad(running, echoPort, holders, echoOperation, ALTERNATING);
    let t: HttpLoadResult;
    let e: HttpLoadResult;
    if (round % 2 === 0) {
      t = await runTransfers();
      e = await runEcho();
    } else {
      e = await runEcho();
      t = await runTransfers();
    }
    succeeded(t);
    alternatingFailures += t.failures + e.failures;
    alternating.push({ transfers: t.perSecond, echo: e.perSecond });
  }
  checks.push({ check: 'every transfer and echo in the alternating windows succeeded', ok: alternatingFailures === 0 });

  // 4. server CPU per handshake
  say('TLS handshakes, full and resumed');
  const handshakes = await benchHandshakes(
    { server, port: issuerPort, contexts: holders.map((h) => h.context) },
    { domain, connections: HANDSHAKE_CONNECTIONS, concurrency: HANDSHAKE_CONCURRENCY },
  );
  checks.push({
    check: 'every handshake connection answered 200',
    ok: handshakes.full.failures === 0 && handshakes.resumed.failures === 0,
  });

  // 5. how the figures grow with the number of holders (32: the run above)
  say(`transferFunds with ${SCALE_HOLDERS.filter((n) => n !== HOLDERS).join(' and ')} holders`);
  const many = await funded(server, 256);
  mints += many.length;
  const scaling: Record<number, HttpLoadResult> = { [HOLDERS]: transfers };
  for (const count of SCALE_HOLDERS.filter((n) => n !== HOLDERS)) {
    const [group, ring] = count <= HOLDERS ? [holders.slice(0, count), holders] : [many.slice(0, count), many];
    scaling[count] = await httpLoad(server, issuerPort, group, ringTransfers(server, issuerPort, group, `scale${count}`, ring), SHORT);
    succeeded(scaling[count] as HttpLoadResult);
  }
  checks.push({
    check: 'every transferFunds answered success at 1 and 256 holders',
    ok: SCALE_HOLDERS.every((n) => (scaling[n] as HttpLoadResult).failures === 0),
  });

  // 6. latency at half of what this machine reaches, and at half the target rate if it reaches that
  const halfTarget = TARGETS.transfersPerSecond / 2;
  const pacedRates = [...new Set([Math.min(halfTarget, Math.floor(transfers.perSecond / 2)), ...(transfers.perSecond >= halfTarget ? [halfTarget] : [])])];
  say(`transferFunds paced at ${pacedRates.map((rate) => `${int(rate)}/s`).join(' and ')}, ${HOLDERS} holders`);
  const pacedRuns: Array<PacedResult & WindowFigures> = [];
  for (const rate of pacedRates) pacedRuns.push(await pacedTransfers(server, holders, rate));
  const paced = pacedRuns.at(-1) as PacedResult & WindowFigures; // the target's figure: the highest rate
  for (const run of pacedRuns) successes += run.total - run.failures;
  checks.push({
    check: `every paced transferFunds answered success (${int(pacedRuns.reduce((n, run) => n + run.total, 0))} sent)`,
    ok: pacedRuns.every((run) => run.failures === 0),
  });

  // 7. deposit notification latency
  say(`deposit notifications, ${NOTIFY_PAIRS} payer/payee pairs`);
  const payers = await funded(server, NOTIFY_PAIRS);
  mints += NOTIFY_PAIRS;
  const payees = await newHolders(server.ready.caPem, NOTIFY_PAIRS);
  const notifyWindow = await measureWindow(server);
  const notifications = {
    ...(await benchNotifications(server, payers.map((payer, i) => ({ payer, payee: payees[i] as BenchHolder })), { ...target, ...SHORT })),
    ...(await notifyWindow()),
  };
  successes += payers.reduce((sum, p) => sum + p.counter, 0);
  checks.push({ check: `every notification arrived with its deposit (${int(notifications.notifications)} in the window)`, ok: notifications.failures === 0 });

  // 8. returning holders resume their TLS sessions
  say(`returning holders: ${RETURNING.holders} holders, ${RETURNING.rounds} rounds of connect, transfer, hang up`);
  const countersBefore = many.reduce((sum, h) => sum + h.counter, 0);
  const returning = await benchReturning(server, many, { ...target, rounds: RETURNING.rounds, concurrency: RETURNING.concurrency });
  successes += many.reduce((sum, h) => sum + h.counter, 0) - countersBefore - returning.failures;
  checks.push({ check: 'every returning holder\'s transfer answered success', ok: returning.failures === 0 });

  // 9. honest holders during a flood of hostile requests, and the cost of each hostile kind
  say(`${HOLDERS} honest holders during a flood from ${HOSTILE_WORKERS} hostile connections`);
  const hostile = await newHolders(server.ready.caPem, HOSTILE_WORKERS);
  const flood = await benchFlood(server, holders, hostile, { ...target, ...SHORT });
  succeeded(flood.honest);
  const costs: HostileCost[] = [];
  for (const kind of HOSTILE_KINDS) costs.push(await hostileCost(server, hostile.slice(0, 2), kind, HOSTILE_COST_REQUESTS[kind], target));
  checks.push(
    { check: 'every honest transferFunds during the flood answered success', ok: flood.honest.failures === 0 },
    {
      check: `every hostile request got its fault (${int(flood.hostileSent.charRefs + flood.hostileSent.invalid + flood.hostileSent.oversized)} sent)`,
      ok: flood.hostileWrongAnswers === 0 && costs.every((c) => c.wrongAnswers === 0),
    },
  );
  const finalTotals = await server.call('totals');
  checks.push(
    { check: 'after every load: ledger sum is zero, no negative account', ok: finalTotals.sum === 0n && finalTotals.negativeAccounts.length === 0 },
    { check: `after every load: ${int(mints)} mints + ${int(successes)} transfers (found ${int(finalTotals.transfers)})`, ok: finalTotals.transfers === mints + successes },
  );
  await server.stop();
  server = undefined;

  // 10-11. existing accounts: a fresh issuer per population
  const accounts: AccountsResult[] = [];
  for (const population of POPULATIONS) {
    say(`transferFunds into a ledger of ${int(population)} existing accounts`);
    const result = await benchAccounts(population, { holders: HOLDERS, funding: FUNDING, recipientPool: RECIPIENT_POOL, ...SHORT });
    accounts.push(result);
    checks.push({
      check: `${int(population)} accounts: every transferFunds answered success, sum zero`,
      ok: result.transfers.failures === 0 && result.sumIsZero,
    });
  }

  // 12. memory of idle long-polls, in a fresh issuer
  say(`${int(IDLE.keys * IDLE.perKey)} idle getDeposits long-polls (${IDLE.keys} keys x ${IDLE.perKey} connections)`);
  server = await forkServerProcess({ exposeGc: true });
  const idleHolders = await newHolders(server.ready.caPem, IDLE.keys);
  const idle = await benchIdlePolls(server, idleHolders, { ...target, port: server.ready.issuerPort, ...IDLE });
  await server.stop();
  server = undefined;
  // opening fewer than all within the deadline is the machine's speed (see the target line), not a fault
  checks.push({
    check: `every opened long-poll was waiting in the ledger (${int(idle.waiting)} of ${int(idle.connections)} opened) and none answered early`,
    ok: idle.failures === 0 && idle.waiting + idle.expired === idle.connections,
  });

  // 13-14. the storage ceiling, with no server running
  say('ledger.transfer on SQLite, 1 caller');
  const ledgerOptions = { accounts: HOLDERS, warmupMs: LEDGER_WARMUP_MS, durationMs: LEDGER_DURATION_MS };
  const sequential = await benchLedger({ ...ledgerOptions, callers: 1 });
  say(`ledger.transfer on SQLite, ${HOLDERS} callers`);
  const concurrent = await benchLedger({ ...ledgerOptions, callers: HOLDERS });
  checks.push({
    check: 'SQLite runs: every transfer succeeded, sum zero',
    ok: sequential.failures + concurrent.failures === 0 && sequential.sumIsZero && concurrent.sumIsZero,
  });
  step = steps - 1;
  say('report');
  const loadAtEnd = loadavg()[0] as number;
  console.log(`host load average ${fixed(loadAtStart, 2)} at the start, ${fixed(loadAtEnd, 2)} at the end (1 min; this benchmark alone keeps it near ${m.cpus})`);
  console.log('');

  // ---- report -----------------------------------------------------------
  const httpRow = (name: string, r: HttpLoadResult): string[] => [
    name,
    int(r.perSecond),
    fixed(r.p50Ms),
    fixed(r.p99Ms),
    percent(r.serverCpu),
    percent(r.serverLoopBusy),
    fixed(r.serverCpuMsPerOp, 3),
    percent(r.clientCpu),
    `${percent(r.otherCpu)} + ${percent(r.stealCpu)}`,
    `GC paused ${percent(r.gcPaused, 1)}, longest ${fixed(r.gcLongestMs)} ms`,
  ];
  const ledgerRow = (name: string, r: typeof sequential): string[] => [
    name,
    int(r.perSecond),
    fixed(r.p50Ms),
    fixed(r.p99Ms),
    percent(r.cpuPercent / 100),
    percent(r.loopBusy),
    fixed((r.cpuPercent / 100 / r.perSecond) * 1000, 3),
    '',
    '',
    `${int(r.commits / r.seconds)} commits/s, ${fixed(r.meanBatch, 1)} per commit`,
  ];
  const HTTP_HEADER = ['throughput (closed loop)', 'ops/s', 'p50 ms', 'p99 ms', 'server CPU', 'loop busy', 'CPU ms/op', 'load-gen CPU', 'others + steal', 'GC paused / notes'];
  console.log(
    table(HTTP_HEADER, [
      httpRow(`transferFunds, SOAP/TLS, durable (${HOLDERS} holders)`, transfers),
      httpRow(`HTTPS echo, same TLS, no express (${HOLDERS} holders)`, echo),
      ledgerRow('SQLite ledger.transfer, 1 caller', sequential),
      ledgerRow(`SQLite ledger.transfer, ${HOLDERS} callers`, concurrent),
    ]),
  );
  console.log(
    '(server CPU: share of one core; loop busy: event-loop utilization, busy but not on CPU = blocked in a syscall;\n' +
      ' others + steal: CPU that other processes on this machine, and the hypervisor, took during the window, in shares of one core;\n' +
      ' the SQLite rows run in this process, so their "server" is this process)\n',
  );

  console.log(
    table(HTTP_HEADER, [
      ...SCALE_HOLDERS.map((n) => httpRow(`transferFunds, ${n} holder${n === 1 ? '' : 's'}`, scaling[n] as HttpLoadResult)),
      ...accounts.map((a) => {
        const row = httpRow(`transferFunds, ${int(a.accounts)} existing accounts`, a.transfers);
        row[9] = `${row[9]}; populated in ${fixed(a.populateSeconds, 1)} s`;
        return row;
      }),
      httpRow(`transferFunds during a hostile flood (${HOLDERS} holders)`, flood.honest),
    ]),
  );
  console.log(
    `(${SCALE_HOLDERS.filter((n) => n !== HOLDERS).join(' and ')} holders, the accounts and the flood rows: ${SHORT.warmupMs / 1000} s + ${SHORT.durationMs / 1000} s; ` +
      `accounts: ${HOLDERS} holders paying accounts drawn from ${int(RECIPIENT_POOL)} draws of the population, each account created with a balance)\n`,
  );

  console.log(
    table(
      ['paced (open loop)', 'offered/s', 'done/s', 'p50 ms', 'p99 ms', 'max ms', 'backlogged', 'others + steal', 'GC paused, longest'],
      pacedRuns.map((run) => [
        `transferFunds, ${HOLDERS} holders`,
        int(run.offeredPerSecond),
        int(run.perSecond),
        fixed(run.p50Ms),
        fixed(run.p99Ms),
        fixed(run.maxMs),
        percent(run.backlogged, 1),
        `${percent(run.otherCpu)} + ${percent(run.stealCpu)}`,
        `${percent(run.gcPaused, 1)}, ${fixed(run.gcLongestMs)} ms`,
      ]),
    ),
  );
  console.log('(latency from the scheduled start when the holder was still busy, so a backlog is counted, not hidden)\n');

  const lat = (name: string, f: { p50Ms: number; p99Ms: number; maxMs: number }, note = ''): string[] => [name, fixed(f.p50Ms), fixed(f.p99Ms), fixed(f.maxMs), note];
  console.log(
    table(
      ['deposit notification', 'p50 ms', 'p99 ms', 'max ms', 'what'],
      [
        lat('commit -> payee holds the answer', notifications.commitToReply, 'the target\'s figure (two clocks, error <= ' + fixed(notifications.clockErrorMs, 3) + ' ms)'),
        lat('commit -> answer ready in issuer', notifications.commitToAnswer, "answered in the transfer's own commit"),
        lat('payer\'s success -> payee\'s answer', notifications.paidToReply, 'client clock only; < 0 when the payee is first'),
        lat('payer sends -> payee\'s answer', notifications.sentToReply, 'client clock only'),
      ],
    ),
  );
  console.log(
    `(${NOTIFY_PAIRS} pairs, each payee long-polling, its payer paying 5 ms after each answer: ${int(notifications.notifications)} notifications, ` +
      `${int(notifications.transfersPerSecond)} transfers/s; others + steal took ${percent(notifications.otherCpu)} + ${percent(notifications.stealCpu)} of a core)\n`,
  );

  const mib = (bytes: number) => fixed(bytes / 2 ** 20, 1);
  console.log(
    `idle long-polls:   ${int(idle.waiting)} waiting over ${int(idle.connections)} TLS connections (${idle.keys} keys), opened in ${fixed(idle.secondsToOpen, 1)} s ` +
      `(${int(idle.connections / idle.secondsToOpen)}/s${idle.expired ? `, ${idle.expired} ran out their 60 s first` : ''}); ` +
      `issuer RSS ${mib(idle.before.rss)} -> ${mib(idle.after.rss)} MiB (+${mib(idle.rssDeltaBytes)} MiB, ${fixed(idle.rssPerPollKiB, 1)} KiB each), ` +
      `JS heap +${mib(idle.heapDeltaBytes)} MiB (after a full GC)`,
  );
  console.log(
    `returning holders: ${int(returning.resumedClient)} of ${int(returning.returning)} returning connections resumed ` +
      `(issuer counted ${int(returning.serverResumed)} resumed, ${int(returning.serverFull)} full); ` +
      `idle long-poll keys: ${int(idle.returningResumed)} of ${int(idle.returning)} later connections resumed\n`,
  );

  console.log(
    table(
      ['hostile flood', 'honest ops/s', 'honest p50 ms', 'honest p99 ms', 'hostile req/s', 'charRefs', 'invalid', 'oversized'],
      [
        [
          `${HOLDERS} honest + ${HOSTILE_WORKERS} hostile`,
          int(flood.honest.perSecond),
          fixed(flood.honest.p50Ms),
          fixed(flood.honest.p99Ms),
          int(flood.hostilePerSecond),
          int(flood.hostileSent.charRefs),
          int(flood.hostileSent.invalid),
          int(flood.hostileSent.oversized),
        ],
        [`${HOLDERS} honest, no flood (run 1)`, int(transfers.perSecond), fixed(transfers.p50Ms), fixed(transfers.p99Ms), '', '', '', ''],
      ],
    ),
  );
  console.log(
    table(
      ['hostile request', 'issuer CPU ms/request', 'requests'],
      costs.map((c) => [c.kind, fixed(c.serverCpuMsPerRequest, 3), int(c.requests)]),
    ),
  );
  console.log(`(oversized: a new full TLS handshake each, since the issuer closes the connection; a transfer costs ${fixed(transfers.serverCpuMsPerOp, 3)} ms)\n`);

  const hsRow = (name: string, p: typeof handshakes.full): string[] => [
    name,
    fixed(p.cpuMsPerHandshake, 3),
    fixed(p.cpuMsPerConnection, 3),
    `${p.clientReused}/${p.connections}`,
    `${p.serverFull}/${p.serverResumed}`,
    int(p.connections / p.seconds),
  ];
  console.log(
    table(
      ['TLS handshake (server CPU)', 'ms/handshake', 'ms/connection', 'resumed (client)', 'full/resumed (server)', 'conn/s'],
      [hsRow('full (no session offered)', handshakes.full), hsRow('resumed (session offered)', handshakes.resumed)],
    ),
  );
  console.log(
    `(${HANDSHAKE_CONNECTIONS} connections each, ${HANDSHAKE_CONCURRENCY} at a time, one GET /healthz each; ` +
      `ms/handshake = ms/connection - ${fixed(handshakes.requestCpuMs, 3)} ms, the same GET on a kept-alive connection)\n`,
  );

  const scale = (n: number) => scaling[n] as HttpLoadResult;
  const [smallPopulation, largePopulation] = accounts as [AccountsResult, AccountsResult];
  const alternatingShares = alternating.map((a) => a.transfers / a.echo).sort((x, y) => x - y);
  const ratios = {
    transfersVsEcho: transfers.perSecond / echo.perSecond,
    /** The median of the alternating windows' shares: the target's figure. */
    transfersVsEchoAlternating: median(alternatingShares),
    transfersVsSqliteConcurrent: transfers.perSecond / concurrent.perSecond,
    transfersVsSqliteSequential: transfers.perSecond / sequential.perSecond,
    resumedVsFullHandshakeCpu: handshakes.resumed.cpuMsPerHandshake / handshakes.full.cpuMsPerHandshake,
    resumedShare: handshakes.resumed.clientReused / handshakes.resumed.connections,
    holders32Vs1: scale(HOLDERS).perSecond / scale(1).perSecond,
    holders256Vs32: scale(256).perSecond / scale(HOLDERS).perSecond,
    p99Holders256Vs32: scale(256).p99Ms / scale(HOLDERS).p99Ms,
    accounts1MVs10k: largePopulation.transfers.perSecond / smallPopulation.transfers.perSecond,
    p99Accounts1MVs10k: largePopulation.transfers.p99Ms / smallPopulation.transfers.p99Ms,
    floodVsQuiet: flood.honest.perSecond / transfers.perSecond,
    p99FloodVsQuiet: flood.honest.p99Ms / transfers.p99Ms,
    returningResumedShare: returning.resumedClient / returning.returning,
    idlePollsBytesPerPoll: idle.rssDeltaBytes / Math.max(1, idle.waiting),
  };
  console.log(`transfers/s vs HTTPS echo:                ${percent(ratios.transfersVsEcho, 1)} (the two ${DURATION_MS / 1000} s windows)`);
  console.log(
    `transfers/s vs HTTPS echo, alternating:   ${percent(ratios.transfersVsEchoAlternating, 1)} ` +
      `(median of ${alternating.length} pairs of ${ALTERNATING.durationMs / 1000} s windows: ${alternating.map((a) => `${int(a.transfers)}/${int(a.echo)}`).join(', ')})`,
  );
  console.log(`transfers/s vs SQLite, ${HOLDERS} callers:        ${percent(ratios.transfersVsSqliteConcurrent, 1)}`);
  console.log(`transfers/s vs SQLite, 1 caller:          ${fixed(ratios.transfersVsSqliteSequential, 1)}x`);
  console.log(
    `resumed vs full handshake CPU:            ${fixed(ratios.resumedVsFullHandshakeCpu)} ` +
      `(${percent(ratios.resumedShare)} of offered sessions resumed)`,
  );
  console.log(`transfers/s, 32 vs 1 holder:              ${fixed(ratios.holders32Vs1, 2)}x`);
  console.log(`transfers/s, 256 vs 32 holders:           ${fixed(ratios.holders256Vs32, 2)}x (p99 ${fixed(ratios.p99Holders256Vs32, 2)}x)`);
  console.log(`transfers/s, 1M vs 10k accounts:          ${fixed(ratios.accounts1MVs10k, 2)}x (p99 ${fixed(ratios.p99Accounts1MVs10k, 2)}x)`);
  console.log(`honest transfers/s, flood vs quiet:       ${fixed(ratios.floodVsQuiet, 2)}x (p99 ${fixed(ratios.p99FloodVsQuiet, 2)}x)`);
  for (const { check, ok } of checks) console.log(`check: ${check}: ${ok ? 'OK' : 'FAILED'}`);

  const pacedAtTarget = paced.offeredPerSecond >= halfTarget;
  const targets = [
    {
      target: `>= ${int(TARGETS.transfersPerSecond)} durable transfers/s at ${HOLDERS} holders`,
      pass: transfers.perSecond >= TARGETS.transfersPerSecond,
      measured: `${int(transfers.perSecond)}/s (${percent(transfers.perSecond / TARGETS.transfersPerSecond)} of the target)`,
    },
    {
      target: `p99 <= ${TARGETS.pacedP99Ms} ms at ${int(TARGETS.transfersPerSecond / 2)} transfers/s (half the target rate)`,
      pass: pacedAtTarget && paced.p99Ms <= TARGETS.pacedP99Ms,
      measured: pacedAtTarget
        ? `p99 ${fixed(paced.p99Ms)} ms`
        : `not reachable here: run at ${int(paced.offeredPerSecond)}/s (half of the ${int(transfers.perSecond)}/s measured), p99 ${fixed(paced.p99Ms)} ms there`,
    },
    {
      target: `>= ${percent(TARGETS.echoShare)} of the bare HTTPS echo`,
      pass: ratios.transfersVsEchoAlternating >= TARGETS.echoShare,
      measured: `${percent(ratios.transfersVsEchoAlternating, 1)} in alternating windows (${percent(alternatingShares[0] ?? Number.NaN, 1)} to ${percent(alternatingShares.at(-1) ?? Number.NaN, 1)}); ${percent(ratios.transfersVsEcho, 1)} in the two long ones`,
    },
    {
      target: `notification p50 <= ${TARGETS.notifyP50Ms} ms and p99 <= ${TARGETS.notifyP99Ms} ms (commit -> payee holds the answer)`,
      pass: notifications.commitToReply.p50Ms <= TARGETS.notifyP50Ms && notifications.commitToReply.p99Ms <= TARGETS.notifyP99Ms,
      measured: `p50 ${fixed(notifications.commitToReply.p50Ms)} ms, p99 ${fixed(notifications.commitToReply.p99Ms)} ms`,
    },
    {
      target: `${int(IDLE.keys * IDLE.perKey)} idle long-polls < 1 GiB`,
      pass: idle.waiting === IDLE.keys * IDLE.perKey && idle.rssDeltaBytes < TARGETS.idlePollsBytes,
      measured:
        idle.waiting === IDLE.keys * IDLE.perKey
          ? `+${mib(idle.rssDeltaBytes)} MiB`
          : `only ${int(idle.waiting)} opened within ${IDLE.openDeadlineMs / 1000} s: +${mib(idle.rssDeltaBytes)} MiB, ` +
            `${mib(idle.rssPerPollKiB * 1024 * IDLE.keys * IDLE.perKey)} MiB at that rate for ${int(IDLE.keys * IDLE.perKey)}`,
    },
    {
      target: `>= ${percent(TARGETS.resumedShare)} of returning holders' connections resumed`,
      pass: ratios.returningResumedShare >= TARGETS.resumedShare,
      measured: percent(ratios.returningResumedShare, 2),
    },
  ];
  const earlierPass = transfers.perSecond >= EARLIER_TARGET_TRANSFERS_PER_SECOND;
  console.log(
    `target >= ${int(EARLIER_TARGET_TRANSFERS_PER_SECOND)} durable transfers/s (the earlier target): ${earlierPass ? 'PASS' : 'FAIL'} (${int(transfers.perSecond)}/s)`,
  );
  for (const t of targets) console.log(`target ${t.target}: ${t.pass ? 'PASS' : 'FAIL'} (${t.measured})`);

  const output = resolve(process.cwd(), RESULTS_FILE);
  await mkdir(resolve(output, '..'), { recursive: true });
  const json = {
    date: new Date().toISOString(),
    machine: m,
    command,
    seconds: (performance.now() - began) / 1000,
    hostLoadAverage: { start: loadAtStart, end: loadAtEnd },
    settings: {
      holders: HOLDERS,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      secondary: SHORT,
      handshakeConnections: HANDSHAKE_CONNECTIONS,
      handshakeConcurrency: HANDSHAKE_CONCURRENCY,
      ledgerWarmupMs: LEDGER_WARMUP_MS,
      ledgerDurationMs: LEDGER_DURATION_MS,
      scaleHolders: SCALE_HOLDERS,
      populations: POPULATIONS,
      recipientPool: RECIPIENT_POOL,
      alternating: ALTERNATING,
      notifyPairs: NOTIFY_PAIRS,
      returning: RETURNING,
      idle: IDLE,
      hostileWorkers: HOSTILE_WORKERS,
    },
    transfers,
    echo,
    alternating,
    sqlite: { sequential, concurrent },
    handshakes,
    ledgerTotals: { ...totals, sum: totals.sum.toString(), treasuryBalance: totals.treasuryBalance.toString(), feeBalance: totals.feeBalance.toString() },
    holdersScaling: Object.fromEntries(SCALE_HOLDERS.map((n) => [n, scaling[n]])),
    paced: pacedRuns,
    accounts,
    notifications,
    idlePolls: idle,
    returning,
    flood,
    hostileCosts: costs,
    ratios,
    target: { transfersPerSecond: EARLIER_TARGET_TRANSFERS_PER_SECOND, pass: earlierPass },
    targets,
    checks,
  };
  await writeFile(output, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\nwrote ${relative(process.cwd(), output)} after ${elapsed()}`);
  // a failed check is a broken issuer, unlike a missed target
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error('benchmark failed:', error);
  process.exit(1);
});
