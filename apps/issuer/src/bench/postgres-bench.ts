// The issuer on PostgreSQL: durable transfers/s and p99 with one and two issuer nodes (each an
// `lcp-issuer serve` process, holders over TLS), 10,000 accounts and 10 hot accounts, beside
// PostgreSQL's own rate for a pgbench transfer transaction measured in the same run, the
// ledger alone on PostgreSQL (no TLS, no SOAP), NOTIFY batched after COMMIT against NOTIFY
// inside every transfer, and the latency of a deposit notification across nodes.
// Run alone after a build: node dist/bench/postgres-bench.js   (BENCH_SECONDS=5 by default)
// Needs a Docker engine (sh docker/engine.sh) and pgbench on the PATH (Debian: postgresql-client).
import { execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { createIssuerLedger, isRefusal, openPostgresStore, type PostgresLedgerStore } from '@lcp/issuer-core';
import type { EntityId } from '@lcp/protocol';
import { initCurrency, loadCurrency } from '../currency.js';
import { demoCa } from '../testing.js';
import { quantile, runClosedLoop, type Operation } from './closed-loop.js';
import { newHolders, type BenchHolder } from './holders.js';
import { createDatabase, startPostgres, type RunningPostgres } from '@lcp/issuer-core/postgres-container';
import { fixed, int, machine, percent, table } from './report.js';
import { getDepositsRequest, transferRequestsTo } from './requests.js';
import { serveIssuer, type ServedIssuer } from './serve-process.js';
import { TlsHttpConnection } from './tls-http.js';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_MS = 1500;
const CALLERS = 32;
const ACCOUNTS = 10_000;
const HOT = 10;
const RESULTS = fileURLToPath(new URL('../../bench-results/', import.meta.url));

const fakeEntity = (name: string): EntityId => createHash('sha256').update(name).digest('hex') as EntityId;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface LoadFigures {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  firstFailure: string | undefined;
  deadlocks?: number;
}

async function sql(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined); // a dropped connection fails the query below instead
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** PostgreSQL's own rate: a pgbench script that moves an amount between two of 10,000 rows. */
async function pgbench(adminUrl: string): Promise<{ tps: number; latencyMs: number }> {
  const url = await createDatabase(adminUrl, 'pgbench');
  await sql(
    url,
    `CREATE TABLE acct (id int PRIMARY KEY, balance bigint NOT NULL);
     CREATE TABLE hist (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a int, b int, amount bigint, at timestamptz DEFAULT now());
     INSERT INTO acct SELECT g, 1000000 FROM generate_series(1, ${ACCOUNTS}) g;`,
  );
  await settle(url);
  const dir = await mkdtemp(join(tmpdir(), 'lcp-pgbench-'));
  const script = join(dir, 'transfer.sql');
  // the two rows in ascending order, as the issuer locks them
  await writeFile(
    script,
    `\\set x random(1, ${ACCOUNTS})\n\\set y random(1, ${ACCOUNTS})\n\\set a least(:x, :y)\n\\set b greatest(:x, :y) + (case when :x = :y then 1 else 0 end)\n` +
      'BEGIN;\nUPDATE acct SET balance = balance - 1 WHERE id = :a;\nUPDATE acct SET balance = balance + 1 WHERE id = :b;\n' +
      'INSERT INTO hist (a, b, amount) VALUES (:a, :b, 1);\nEND;\n',
  );
  try {
    const { stdout } = await run('pgbench', ['-n', '-c', String(CALLERS), '-j', '2', '-T', String(SECONDS + 3), '-f', script, url], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const tps = Number(/tps = ([0-9.]+)/.exec(stdout)?.[1] ?? Number.NaN);
    const latencyMs = Number(/latency average = ([0-9.]+) ms/.exec(stdout)?.[1] ?? Number.NaN);
    return { tps, latencyMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Gives `count` accounts 1.00 each from the treasury, straight in SQL (the sum stays zero). */
async function populate(url: string, treasury: string, ids: string[]): Promise<void> {
  await sql(
    url,
    `WITH new AS (
       INSERT INTO accounts (id, balance, created_at) SELECT unnest($1::text[]), 100, 0 ON CONFLICT (id) DO NOTHING RETURNING balance)
     INSERT INTO accounts (id, balance, created_at) VALUES ($2, -(SELECT coalesce(sum(balance), 0) FROM new), 0)
     ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + EXCLUDED.balance`,
    [ids, treasury],
  );
  await settle(url);
}

/**
 * Before a measured load: the tables' statistics fresh and the WAL written so far checkpointed,
 * so that no load pays for the bulk writes before it (the first row used to run 25 to 40 %
 * below the same load later in the run).
 */
async function settle(url: string): Promise<void> {
  await sql(url, 'VACUUM ANALYZE');
  await sql(url, 'CHECKPOINT');
}

/** The ledger alone on PostgreSQL: ledger.transfer in-process, 32 callers. */
async function ledgerLoad(
  url: string,
  recipients: string[],
  options: { notifyInTransaction?: boolean; hotSenders?: string[]; writers?: number } = {},
): Promise<LoadFigures & { sumIsZero: boolean }> {
  const store = await openPostgresStore({
    connectionString: url,
    poolSize: CALLERS + 4,
    notifyInTransaction: options.notifyInTransaction ?? false,
    ...(options.writers !== undefined ? { writers: options.writers } : {}),
  });
  const treasury = fakeEntity('treasury');
  const ledger = createIssuerLedger(store, {
    treasury,
    scale: 2,
    issuanceCap: 10n ** 15n,
    fees: { transfer: { fixed: 0n, ratePpm: 15_000n }, resumedTransfer: { fixed: 0n, ratePpm: 12_000n }, getDeposits: 0n },
  });
  const tag = Math.random().toString(36).slice(2, 8);
  const senders = [...(options.hotSenders ?? []), ...Array.from({ length: CALLERS - (options.hotSenders?.length ?? 0) }, (_, i) => fakeEntity(`sender-${tag}-${i}`))];
  for (const [i, sender] of senders.entries()) await ledger.mint(sender as EntityId, 10n ** 12n, `fund-${tag}-${i}`);
  const workers: Operation[] = senders.map((sender, i) => {
    let counter = 0n;
    let pick = i;
    return async () => {
      pick = (pick * 1103515245 + 12345) % 2147483648;
      let recipient = recipients[pick % recipients.length] as string;
      if (recipient === sender) recipient = recipients[(pick + 1) % recipients.length] as string;
      counter += 1n;
      const outcome = await ledger.transfer({
        sender: sender as EntityId,
        request: { recipient: recipient as EntityId, amount: 1n, transactionId: `t${counter}`, messageCounter: counter + 1_000_000n },
        resumed: true,
      });
      if (isRefusal(outcome)) return outcome.fault;
      return outcome.response.result === 'success' ? undefined : outcome.response.result;
    };
  });
  const result = await runClosedLoop(workers, { warmupMs: WARMUP_MS, durationMs: SECONDS * 1000, sample: () => 0 });
  const totals = await ledger.totals();
  const deadlocks = store.stats().deadlocks;
  await ledger.close();
  return { ...pick(result), deadlocks, sumIsZero: totals.sum === 0n };
}

function pick(r: LoadFigures): LoadFigures {
  return { perSecond: r.perSecond, p50Ms: r.p50Ms, p99Ms: r.p99Ms, failures: r.failures, firstFailure: r.firstFailure };
}

type Node = ServedIssuer;

/** Holders over TLS, holder i on node i % nodes, each paying recipients drawn from `recipients`. */
async function issuerLoad(nodes: Node[], holders: BenchHolder[], recipients: string[]): Promise<LoadFigures> {
  const connections = await Promise.all(
    holders.map((holder, i) =>
      TlsHttpConnection.open({ host: '127.0.0.1', servername: 'money.com', port: (nodes[i % nodes.length] as Node).httpsPort, secureContext: holder.context }),
    ),
  );
  const workers: Operation[] = holders.map((holder, i) => {
    const port = (nodes[i % nodes.length] as Node).httpsPort;
    const requestFor = transferRequestsTo({ domain: 'money.com', port, path: '/lcp', amount: '0.01', transactionPrefix: `b${i}-` });
    let pickState = i + 7;
    return async () => {
      pickState = (pickState * 1103515245 + 12345) % 2147483648;
      let recipient = recipients[pickState % recipients.length] as string;
      if (recipient === holder.id) recipient = recipients[(pickState + 1) % recipients.length] as string;
      holder.counter += 1;
      const response = await (connections[i] as TlsHttpConnection).request(requestFor(holder.counter, recipient));
      if (response.status !== 200) return `HTTP ${response.status}: ${response.body.toString().slice(0, 200)}`;
      return response.body.includes('>success<') ? undefined : response.body.toString().slice(0, 200);
    };
  });
  try {
    return pick(await runClosedLoop(workers, { warmupMs: WARMUP_MS, durationMs: SECONDS * 1000, sample: () => 0 }));
  } finally {
    for (const connection of connections) connection.close();
  }
}

/** Payees long-poll on node B; their payers pay them through node A. Client-side: payer's success -> payee's answer. */
async function notifyLatency(
  a: Node,
  b: Node,
  payers: BenchHolder[],
  payees: BenchHolder[],
  rounds: number,
): Promise<{ p50Ms: number; p99Ms: number; maxMs: number; samples: number; failures: number; firstFailure: string | undefined }> {
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  await Promise.all(
    payees.map(async (payee, i) => {
      const payer = payers[i] as BenchHolder;
      const pay = await TlsHttpConnection.open({ host: '127.0.0.1', servername: 'money.com', port: a.httpsPort, secureContext: payer.context });
      const poll = await TlsHttpConnection.open({ host: '127.0.0.1', servername: 'money.com', port: b.httpsPort, secureContext: payee.context });
      const requestFor = transferRequestsTo({ domain: 'money.com', port: a.httpsPort, path: '/lcp', amount: '0.01', transactionPrefix: `n${i}-` });
      // a long-poll that is not woken ends after 5 s and counts as a failure
      const waitRequest = getDepositsRequest({ domain: 'money.com', port: b.httpsPort, path: '/lcp', millisecondsWait: 5_000 });
      try {
        // drain what is already there
        await poll.request(getDepositsRequest({ domain: 'money.com', port: b.httpsPort, path: '/lcp', millisecondsWait: 0 }));
        for (let round = 0; round < rounds; round += 1) {
          const answer = poll.request(waitRequest);
          await sleep(5);
          payer.counter += 1;
          const paid = await pay.request(requestFor(payer.counter, payee.id));
          const paidAt = performance.now();
          const got = await answer;
          const answeredAt = performance.now();
          if (!paid.body.includes('>success<') || !got.body.includes(`<transactionId>n${i}-${payer.counter}<`)) {
            failures += 1;
            firstFailure ??= `paid: ${paid.body.toString().slice(-160)} got: ${got.body.toString().slice(-200)}`;
          } else latencies.push(Math.max(0, answeredAt - paidAt));
        }
      } finally {
        pay.close();
        poll.close();
      }
    }),
  );
  const sorted = Float64Array.from(latencies).sort();
  const maxMs = sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN;
  return { p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), maxMs, samples: latencies.length, failures, firstFailure };
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`PostgreSQL benchmark: ${SECONDS} s windows, ${CALLERS} callers, ${int(ACCOUNTS)} accounts, ${HOT} hot accounts`);
  let postgres: RunningPostgres | undefined;
  const children: ChildProcess[] = [];
  try {
    postgres = await startPostgres();
    const running = postgres;
    // an interrupted or crashed run still removes its container and nodes
    const abandon = (code: number) => () => {
      for (const child of children) child.kill('SIGTERM');
      void running.stop().finally(() => process.exit(code));
    };
    process.once('SIGINT', abandon(130));
    process.once('SIGTERM', abandon(143));
    process.once('uncaughtException', (error) => {
      console.error(error);
      abandon(1)();
    });
    const admin = postgres.directUrl();
    const version = String((await sql(admin, 'SHOW server_version')).rows[0]?.server_version);

    console.log('1/6 pgbench transfer transaction');
    const bench = await pgbench(admin);
    console.log(`    ${int(bench.tps)} tps, latency ${fixed(bench.latencyMs)} ms`);

    console.log('2/6 the ledger alone on PostgreSQL');
    const population = Array.from({ length: ACCOUNTS }, (_, i) => fakeEntity(`account-${i}`));
    const hot = Array.from({ length: HOT }, (_, i) => fakeEntity(`hot-${i}`));
    const ledgerUrl = await createDatabase(admin, 'ledger');
    await (await openPostgresStore({ connectionString: ledgerUrl })).close();
    await populate(ledgerUrl, fakeEntity('treasury'), [...population, ...hot]);
    const ledgerAccounts = await ledgerLoad(ledgerUrl, population);
    const ledgerAlone = await ledgerLoad(ledgerUrl, population, { writers: 0 });
    const ledgerHot = await ledgerLoad(ledgerUrl, hot, { hotSenders: hot });
    const notifyInside = await ledgerLoad(ledgerUrl, population, { notifyInTransaction: true });
    for (const [name, f] of [['10k', ledgerAccounts], ['10k, no group commit', ledgerAlone], ['hot', ledgerHot], ['notify inside', notifyInside]] as const) {
      console.log(`    ${name}: ${int(f.perSecond)}/s p99 ${fixed(f.p99Ms)} ms, ${f.failures} failed ${f.firstFailure ?? ''}`);
    }

    console.log('3/6 one issuer node');
    const ca = await demoCa();
    const issuerUrl = await createDatabase(admin, 'issuer');
    const dir = await mkdtemp(join(tmpdir(), 'lcp-pg-bench-'));
    const { treasury } = await initCurrency({
      dir,
      domain: 'money.com',
      ca,
      settings: {
        LCP_HOST: '127.0.0.1',
        LCP_HTTPS_PORT: '0',
        LCP_HTTP_PORT: '0',
        LCP_PUBLIC_URL: 'https://money.com:0/lcp',
        LCP_DATABASE_URL: issuerUrl,
        LCP_DATABASE_POOL_SIZE: String(CALLERS),
        LCP_LOG_LEVEL: 'warn',
      },
    });
    const holders = await newHolders(ca.certPem, CALLERS);
    {
      const store: PostgresLedgerStore = await openPostgresStore({ connectionString: issuerUrl });
      await store.close();
      await populate(issuerUrl, treasury, [...population, ...hot]);
      const config = await loadCurrency(dir);
      const { openCurrencyLedger } = await import('../currency.js');
      const minting = await openCurrencyLedger(config);
      // 1,000,000.00 each: 32 of them stay under the default issuance cap
      for (const [i, h] of holders.entries()) await minting.mint(h.id as EntityId, 10n ** 8n, `fund-${i}`);
      await minting.close();
    }
    const nodeA = await serveIssuer(dir, { env: { LCP_NODE_ID: 'bench-a' } });
    children.push(nodeA.child);
    const oneNode = await issuerLoad([nodeA], holders, population);
    const oneNodeHot = await issuerLoad([nodeA], holders, hot);
    for (const f of [oneNode, oneNodeHot]) console.log(`    ${int(f.perSecond)}/s p99 ${fixed(f.p99Ms)} ms, ${f.failures} failed ${f.firstFailure ?? ''}`);

    console.log('4/6 two issuer nodes');
    const nodeB = await serveIssuer(dir, { env: { LCP_NODE_ID: 'bench-b' } });
    children.push(nodeB.child);
    const twoNodes = await issuerLoad([nodeA, nodeB], holders, population);
    const twoNodesHot = await issuerLoad([nodeA, nodeB], holders, hot);
    for (const f of [twoNodes, twoNodesHot]) console.log(`    ${int(f.perSecond)}/s p99 ${fixed(f.p99Ms)} ms, ${f.failures} failed ${f.firstFailure ?? ''}`);

    console.log('5/6 deposit notifications across nodes');
    const notify = await notifyLatency(nodeA, nodeB, holders.slice(0, 16), holders.slice(16, 32), 25);
    // the same with a quarter of the pairs: how much of the latency is queueing at 16
    const notifyFour = await notifyLatency(nodeA, nodeB, holders.slice(0, 4), holders.slice(16, 20), 50);
    for (const n of [notify, notifyFour]) if (n.firstFailure) console.log(`    first failure: ${n.firstFailure}`);

    console.log('6/6 checks');
    const [totals] = (
      await sql(
        issuerUrl,
        `SELECT ((SELECT sum(balance) FROM accounts) + (SELECT sum(balance) FROM fee_shards))::text AS sum,
                (SELECT count(*) FROM accounts WHERE balance < 0 AND id <> $1)::int AS negative`,
        [treasury],
      )
    ).rows as Array<{ sum: string; negative: number }>;
    const issuerSumZero = totals?.sum === '0' && totals.negative === 0;

    const row = (name: string, f: LoadFigures, base: number): string[] => [
      name, int(f.perSecond), fixed(f.p50Ms), fixed(f.p99Ms), percent(f.perSecond / base), String(f.failures), f.deadlocks === undefined ? '-' : String(f.deadlocks),
    ];
    console.log('');
    console.log(`PostgreSQL ${version}, synchronous_commit=on; ${machine().cpus} CPUs; load average ${loadavg().map((n) => fixed(n, 1)).join(' ')} (others share the machine)`);
    console.log(
      table(
        ['load (32 callers)', 'transfers/s', 'p50 ms', 'p99 ms', 'of pgbench', 'failed', 'deadlocks'],
        [
          ['pgbench transfer transaction (2 UPDATEs + INSERT)', int(bench.tps), fixed(bench.latencyMs), '-', '100 %', '-', '-'],
          row('ledger alone, 10k accounts', ledgerAccounts, bench.tps),
          row('ledger alone, 10k, a transaction per transfer', ledgerAlone, bench.tps),
          row('ledger alone, 10 hot accounts (hot senders too)', ledgerHot, bench.tps),
          row('ledger alone, NOTIFY inside each transfer', notifyInside, bench.tps),
          row('issuer, 1 node, 10k accounts (TLS + SOAP)', oneNode, bench.tps),
          row('issuer, 1 node, 10 hot accounts', oneNodeHot, bench.tps),
          row('issuer, 2 nodes, 10k accounts', twoNodes, bench.tps),
          row('issuer, 2 nodes, 10 hot accounts', twoNodesHot, bench.tps),
        ],
      ),
    );
    const ratios = {
      twoNodesOverOne: twoNodes.perSecond / oneNode.perSecond,
      issuerOverPgbench: oneNode.perSecond / bench.tps,
      ledgerOverPgbench: ledgerAccounts.perSecond / bench.tps,
      notifyInsideCost: 1 - notifyInside.perSecond / ledgerAccounts.perSecond,
      groupCommitGain: ledgerAccounts.perSecond / ledgerAlone.perSecond,
    };
    console.log('');
    console.log(`2 nodes / 1 node: ${fixed(ratios.twoNodesOverOne)}x; issuer / pgbench: ${percent(ratios.issuerOverPgbench)}; ledger / pgbench: ${percent(ratios.ledgerOverPgbench)}`);
    console.log(`group commit: ${fixed(ratios.groupCommitGain)}x the rate of a transaction per transfer`);
    console.log(`NOTIFY inside every transfer costs ${percent(ratios.notifyInsideCost)} of the ledger's rate (batched after COMMIT instead)`);
    for (const [pairs, n] of [[16, notify], [4, notifyFour]] as const) {
      console.log(
        `deposit notification across nodes, ${pairs} pairs (payer's success on A -> payee's answer on B): ` +
          `p50 ${fixed(n.p50Ms)} ms, p99 ${fixed(n.p99Ms)} ms (max ${fixed(n.maxMs)}) over ${n.samples} deposits, ${n.failures} failed`,
      );
    }
    const targets = [
      ['>= 5,000 durable transfers/s, 10k accounts (best of the rows)', Math.max(ledgerAccounts.perSecond, oneNode.perSecond, twoNodes.perSecond) >= 5000],
      ['no deadlock and no failed request with hot accounts', [ledgerHot, oneNodeHot, twoNodesHot].every((f) => f.failures === 0) && (ledgerHot.deadlocks ?? 0) === 0],
      ['notification p99 <= 20 ms across nodes', notify.p99Ms <= 20],
    ] as const;
    for (const [name, met] of targets) console.log(`target ${met ? 'met   ' : 'MISSED'} ${name}`);
    const checks = { ledgerSumZero: ledgerAccounts.sumIsZero && ledgerAlone.sumIsZero && ledgerHot.sumIsZero && notifyInside.sumIsZero, issuerSumZero, notificationsDelivered: notify.failures + notifyFour.failures === 0 };
    console.log(`checks: ${JSON.stringify(checks)}`);

    await mkdir(RESULTS, { recursive: true });
    const file = join(RESULTS, 'postgres.json');
    await writeFile(
      file,
      `${JSON.stringify(
        {
          at: new Date().toISOString(),
          seconds: SECONDS,
          callers: CALLERS,
          accounts: ACCOUNTS,
          hot: HOT,
          postgres: version,
          machine: machine(),
          pgbench: bench,
          ledger: { accounts: ledgerAccounts, transactionPerTransfer: ledgerAlone, hot: ledgerHot, notifyInside },
          issuer: { oneNode, oneNodeHot, twoNodes, twoNodesHot },
          notify,
          notifyFourPairs: notifyFour,
          ratios,
          targets: Object.fromEntries(targets),
          checks,
          elapsedSeconds: (performance.now() - started) / 1000,
          loadAverage: loadavg(),
        },
        null,
        2,
      )}\n`,
    );
    console.log(`results: ${file} (${fixed((performance.now() - started) / 1000, 0)} s)`);
    await rm(dir, { recursive: true, force: true });
    if (!Object.values(checks).every(Boolean)) process.exitCode = 1;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await postgres?.stop();
  }
}

await main();
