// The issuer's benchmark (`pnpm bench`): durable transfers/s over SOAP/TLS against the same
// stack's bare HTTPS echo rate and the raw SQLite ledger rate, and server CPU per TLS handshake.
// The servers run in a forked process (issuer-child.ts); this process is the load generator.
// Prints a report and writes bench-results/issuer.json under the current directory.
// Knobs: BENCH_SECONDS (measured seconds per HTTP load, default 10) and BENCH_CPU_PROF (a folder
// that receives a V8 CPU profile of the server process).
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { relative, resolve } from 'node:path';
import type { SecureContext } from 'node:tls';
import { clientSecureContext, createHolderCertificate, generateIdentity, privateKeyPem } from '@lcp/crypto';
import { SOAP_PATH } from '@lcp/protocol';
import { runClosedLoop, type ClosedLoopResult, type Operation } from './closed-loop.js';
import { benchHandshakes } from './handshake-bench.js';
import type { ProcessUsage } from './ipc.js';
import { benchLedger } from './ledger-bench.js';
import { fixed, int, machine, percent, table } from './report.js';
import { transferRequests } from './requests.js';
import { forkServerProcess, type ServerProcess } from './server-process.js';
import { TlsHttpConnection, type HttpResponse } from './tls-http.js';

const HOLDERS = 32;
const WARMUP_MS = 2_000;
const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 10) * 1000;
if (!(DURATION_MS >= 1000 && DURATION_MS <= 60_000)) throw new RangeError('BENCH_SECONDS must be from 1 to 60');
const HANDSHAKE_CONNECTIONS = 500;
const HANDSHAKE_CONCURRENCY = 4;
const LEDGER_WARMUP_MS = 500;
const LEDGER_DURATION_MS = 3_000;
const TARGET_TRANSFERS_PER_SECOND = 3_000;
const FUNDING = 100_000_00n; // minor units per holder: far more than a run can spend
const WATCHDOG_MS = 150_000;
const RESULTS_FILE = 'bench-results/issuer.json';
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROF;
const KNOBS = ['BENCH_SECONDS', 'BENCH_CPU_PROF'] as const;

interface Holder {
  id: string;
  context: SecureContext;
}

interface CpuSample {
  server: ProcessUsage;
  client: NodeJS.CpuUsage;
}

interface HttpLoadResult extends Omit<ClosedLoopResult<CpuSample>, 'start' | 'end'> {
  /** Share of one core the server process used in the window. */
  serverCpu: number;
  serverCpuMsPerOp: number;
  /**
   * Share of the window the server's event loop was not waiting for events. Well above
   * serverCpu means the loop was blocked without using CPU (e.g. a synchronous fsync).
   */
  serverLoopBusy: number;
  /** Share of one core this load generator used in the window. */
  clientCpu: number;
}

const micros = (usage: NodeJS.CpuUsage): number => usage.user + usage.system;

async function newHolder(caPem: string): Promise<Holder> {
  const identity = generateIdentity();
  const certPem = await createHolderCertificate(identity);
  return { id: identity.id, context: clientSecureContext({ certPem, keyPem: privateKeyPem(identity), caPem }) };
}

/** Every holder opens its own kept-alive connection; `operation` builds each holder's worker. */
async function httpLoad(
  server: ServerProcess,
  port: number,
  holders: Holder[],
  operation: (connection: TlsHttpConnection, index: number) => Operation,
): Promise<HttpLoadResult> {
  const { domain } = server.ready;
  const connections = await Promise.all(
    holders.map((holder) =>
      TlsHttpConnection.open({ host: '127.0.0.1', port, servername: domain, secureContext: holder.context }),
    ),
  );
  try {
    const result = await runClosedLoop(
      connections.map((connection, index) => operation(connection, index)),
      {
        warmupMs: WARMUP_MS,
        durationMs: DURATION_MS,
        sample: async (): Promise<CpuSample> => {
          const client = process.cpuUsage();
          return { client, server: await server.call('usage') };
        },
      },
    );
    const { start, end, ...rest } = result;
    const serverMicros = micros(end.server.cpu) - micros(start.server.cpu);
    return {
      ...rest,
      serverCpu: serverMicros / 1e6 / result.seconds,
      serverCpuMsPerOp: serverMicros / 1000 / result.completed,
      serverLoopBusy: performance.eventLoopUtilization(end.server.elu, start.server.elu).utilization,
      clientCpu: (micros(end.client) - micros(start.client)) / 1e6 / result.seconds,
    };
  } finally {
    for (const connection of connections) connection.close();
  }
}

function problemOf(response: HttpResponse, expected: (body: string) => boolean): string | undefined {
  if (response.status === 200 && !response.close && expected(response.body)) return undefined;
  return `HTTP ${response.status}${response.close ? ' (Connection: close)' : ''}: ${response.body.slice(0, 300)}`;
}

async function main(): Promise<void> {
  const m = machine();
  const knobs = KNOBS.filter((name) => process.env[name] !== undefined).map((name) => `${name}=${process.env[name]}`);
  const script = relative(process.cwd(), process.argv[1] ?? '');
  const command = `cd ${process.cwd()} && ${[...knobs, 'node', ...process.execArgv, script].join(' ')}`;
  console.log('LCP issuer benchmark: money.com over SOAP 1.1/HTTPS with client certificates, SQLite ledger (WAL, synchronous=FULL)');
  console.log(`machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}`);
  console.log(`command: ${command}`);
  console.log(
    `load:    ${HOLDERS} holders, each with its own certificate and kept-alive TLS connection, closed loop; ` +
      `${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s measured; servers in a forked process`,
  );
  console.log(`ledgers: SQLite files under ${tmpdir()}, one fsync per COMMIT\n`);

  let server: ServerProcess | undefined;
  const watchdog = setTimeout(() => {
    console.error(`the benchmark ran longer than ${WATCHDOG_MS / 1000} s: giving up`);
    server?.kill();
    process.exit(2);
  }, WATCHDOG_MS);
  watchdog.unref();

  server = await forkServerProcess(CPU_PROFILE_DIR ? { cpuProfileDir: resolve(CPU_PROFILE_DIR) } : {});
  const { domain, caPem, issuerPort, echoPort, echoPath, echoBody } = server.ready;
  const holders = await Promise.all(Array.from({ length: HOLDERS }, () => newHolder(caPem)));
  const funded = await server.call('mint', { accounts: holders.map((h) => h.id), amount: FUNDING });
  if (funded !== HOLDERS) throw new Error(`funded ${funded} of ${HOLDERS} holders`);
  const checks: Array<{ check: string; ok: boolean }> = [];

  // 1. durable transfers: holder i pays holder i+1 one minor unit, counters 1, 2, 3, ...
  console.log('[1/5] transferFunds over SOAP/TLS ...');
  const transfers = await httpLoad(server, issuerPort, holders, (connection, i) => {
    const request = transferRequests({
      domain,
      port: issuerPort,
      path: SOAP_PATH,
      recipient: (holders[(i + 1) % HOLDERS] as Holder).id,
      amount: '0.01',
      transactionPrefix: `bench-${i}-`,
    });
    let counter = 0;
    return async () => problemOf(await connection.request(request(++counter)), (b) => b.includes('<result>success</result>'));
  });
  const totals = await server.call('totals');
  const succeeded = transfers.total - transfers.failures;
  checks.push(
    { check: `every transferFunds answered success (${int(transfers.total)} sent)`, ok: transfers.failures === 0 },
    { check: 'ledger sum is zero, no negative account', ok: totals.sum === 0n && totals.negativeAccounts.length === 0 },
    {
      check: `ledger holds ${HOLDERS} mints + ${int(succeeded)} transfers (found ${int(totals.transfers)})`,
      ok: totals.transfers === HOLDERS + succeeded,
    },
  );

  // 2. the same TLS options and express, no SOAP and no ledger: the transport's ceiling
  console.log('[2/5] HTTPS echo, same TLS and express ...');
  const echo = await httpLoad(server, echoPort, holders, (connection, i) => {
    const request = transferRequests({
      domain,
      port: echoPort,
      path: echoPath,
      recipient: (holders[(i + 1) % HOLDERS] as Holder).id,
      amount: '0.01',
      transactionPrefix: `echo-${i}-`,
    })(1);
    return async () => problemOf(await connection.request(request), (b) => b === echoBody);
  });
  checks.push({ check: `every echo answered its body (${int(echo.total)} sent)`, ok: echo.failures === 0 });

  // 4. server CPU per handshake, while the server process is still up
  console.log('[3/5] TLS handshakes, full and resumed ...');
  const handshakes = await benchHandshakes(
    { server, port: issuerPort, contexts: holders.map((h) => h.context) },
    { domain, connections: HANDSHAKE_CONNECTIONS, concurrency: HANDSHAKE_CONCURRENCY },
  );
  checks.push({
    check: 'every handshake connection answered 200',
    ok: handshakes.full.failures === 0 && handshakes.resumed.failures === 0,
  });
  await server.stop();
  server = undefined;

  // 3. the storage ceiling, with no other process running
  console.log('[4/5] ledger.transfer on SQLite, 1 caller ...');
  const ledgerOptions = { accounts: HOLDERS, warmupMs: LEDGER_WARMUP_MS, durationMs: LEDGER_DURATION_MS };
  const sequential = await benchLedger({ ...ledgerOptions, callers: 1 });
  console.log(`[5/5] ledger.transfer on SQLite, ${HOLDERS} callers ...\n`);
  const concurrent = await benchLedger({ ...ledgerOptions, callers: HOLDERS });
  checks.push({
    check: 'SQLite runs: every transfer succeeded, sum zero',
    ok: sequential.failures + concurrent.failures === 0 && sequential.sumIsZero && concurrent.sumIsZero,
  });

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
    '',
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
    `${int(r.commits / r.seconds)} commits/s, ${fixed(r.meanBatch, 1)} per commit`,
  ];
  console.log(
    table(
      ['throughput (closed loop)', 'ops/s', 'p50 ms', 'p99 ms', 'server CPU', 'loop busy', 'CPU ms/op', 'load-gen CPU', 'notes'],
      [
        httpRow(`transferFunds, SOAP/TLS, durable (${HOLDERS} holders)`, transfers),
        httpRow(`HTTPS echo, same TLS + express (${HOLDERS} holders)`, echo),
        ledgerRow('SQLite ledger.transfer, 1 caller', sequential),
        ledgerRow(`SQLite ledger.transfer, ${HOLDERS} callers`, concurrent),
      ],
    ),
  );
  console.log(
    '(server CPU: share of one core; loop busy: event-loop utilization, busy but not on CPU = blocked in a syscall;\n' +
      ' the SQLite rows run in this process, so their "server" is this process)\n',
  );

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

  const ratios = {
    transfersVsEcho: transfers.perSecond / echo.perSecond,
    transfersVsSqliteConcurrent: transfers.perSecond / concurrent.perSecond,
    transfersVsSqliteSequential: transfers.perSecond / sequential.perSecond,
    resumedVsFullHandshakeCpu: handshakes.resumed.cpuMsPerHandshake / handshakes.full.cpuMsPerHandshake,
    resumedShare: handshakes.resumed.clientReused / handshakes.resumed.connections,
  };
  const pass = transfers.perSecond >= TARGET_TRANSFERS_PER_SECOND;
  console.log(`transfers/s vs HTTPS echo:                ${percent(ratios.transfersVsEcho, 1)}`);
  console.log(`transfers/s vs SQLite, ${HOLDERS} callers:        ${percent(ratios.transfersVsSqliteConcurrent, 1)}`);
  console.log(`transfers/s vs SQLite, 1 caller:          ${fixed(ratios.transfersVsSqliteSequential, 1)}x`);
  console.log(
    `resumed vs full handshake CPU:            ${fixed(ratios.resumedVsFullHandshakeCpu)} ` +
      `(${percent(ratios.resumedShare)} of offered sessions resumed)`,
  );
  for (const { check, ok } of checks) console.log(`check: ${check}: ${ok ? 'OK' : 'FAILED'}`);
  console.log(
    `target ≥ ${int(TARGET_TRANSFERS_PER_SECOND)} durable transfers/s: ${pass ? 'PASS' : 'FAIL'} (${int(transfers.perSecond)}/s)`,
  );

  const output = resolve(process.cwd(), RESULTS_FILE);
  await mkdir(resolve(output, '..'), { recursive: true });
  const json = {
    date: new Date().toISOString(),
    machine: m,
    command,
    settings: {
      holders: HOLDERS,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      handshakeConnections: HANDSHAKE_CONNECTIONS,
      handshakeConcurrency: HANDSHAKE_CONCURRENCY,
      ledgerWarmupMs: LEDGER_WARMUP_MS,
      ledgerDurationMs: LEDGER_DURATION_MS,
    },
    transfers,
    echo,
    sqlite: { sequential, concurrent },
    handshakes,
    ledgerTotals: { ...totals, sum: totals.sum.toString(), treasuryBalance: totals.treasuryBalance.toString(), feeBalance: totals.feeBalance.toString() },
    ratios,
    target: { transfersPerSecond: TARGET_TRANSFERS_PER_SECOND, pass },
    checks,
  };
  await writeFile(output, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\nwrote ${relative(process.cwd(), output)}`);
  // a failed check is a broken issuer, unlike a missed target
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error('benchmark failed:', error);
  process.exit(1);
});
