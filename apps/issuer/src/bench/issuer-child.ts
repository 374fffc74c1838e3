// Forked by issuer-bench.ts: the real money.com issuer (startIssuer on a fresh currency) and a
// bare HTTPS echo server with the same TLS options, in a process of their own so that the
// load generator does not share their event loop. Driven over IPC (see ipc.ts).
// BENCH_CHILD_OPTIONS (JSON, ChildOptions) may pre-populate the ledger and add LCP_* settings.
// The ledger object the SOAP operations call is wrapped, so that this process can count the
// long-polls in flight and, while tracing, time commits and long-poll answers per transactionId.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { createCertificateAuthority, loadIdentity, serverTlsOptions } from '@lcp/crypto';
import { isRefusal, type IssuerLedger } from '@lcp/issuer-core';
import type { EntityId } from '@lcp/protocol';
import { startIssuer } from '../app.js';
import type { IssuerConfig } from '../config.js';
import { initCurrency, loadCurrency } from '../currency.js';
import type { ChildOp, ChildOps, ChildOptions, ChildReady, ChildReply, ChildRequest, TraceRecord } from './ipc.js';
import { populateAccounts } from './populate.js';

const DOMAIN = 'money.com';
const ECHO_PATH = '/echo';
// The size of a real transferFundsResponse, so both servers write the same bytes per answer.
const ECHO_BODY =
  '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"  ' +
  'xmlns:tns="urn:lcp:v1"><soap:Body><tns:transferFundsResponse><result>success</result><fee>0.01</fee>' +
  '</tns:transferFundsResponse></soap:Body></soap:Envelope>';

/**
 * TLS (same options and timeouts as app.ts) and a plain request listener, as the issuer's SOAP
 * POSTs have (express only behind them, for the reference path), answering POST /echo with a
 * fixed body.
 */
async function startEchoServer(config: IssuerConfig): Promise<{ port: number; close(): Promise<void> }> {
  const [certPem, keyPem] = await Promise.all([readFile(config.tlsCertPath, 'utf8'), readFile(config.tlsKeyPath, 'utf8')]);
  const echo = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'POST' || req.url !== ECHO_PATH) {
      res.statusCode = 404;
      res.end();
      return;
    }
    req.resume();
    req.once('end', () => {
      res.setHeader('Content-Type', 'text/xml; charset=utf-8');
      res.end(ECHO_BODY);
    });
  };
  const server = https.createServer({ ...serverTlsOptions({ certPem, keyPem }), handshakeTimeout: 10_000 }, echo);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 75_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function main(): Promise<void> {
  const send = (message: ChildReady | ChildReply, then?: () => void): void => {
    if (!process.send) throw new Error('issuer-child.js must be started by issuer-bench.js (fork with IPC)');
    process.send(message, undefined, {}, () => then?.());
  };

  const options = JSON.parse(process.env.BENCH_CHILD_OPTIONS ?? '{}') as ChildOptions;
  const ca = await createCertificateAuthority('LCP bench CA');
  const dir = await mkdtemp(join(tmpdir(), 'lcp-bench-issuer-'));
  await initCurrency({
    dir,
    domain: DOMAIN,
    ca,
    settings: {
      LCP_HTTPS_PORT: '0',
      LCP_HTTP_PORT: '0',
      LCP_HOST: '127.0.0.1',
      LCP_PUBLIC_URL: `https://${DOMAIN}:0/lcp`,
      ...options.settings,
    },
  });
  const config = await loadCurrency(dir, { LCP_LOG_LEVEL: process.env.LCP_LOG_LEVEL ?? 'silent' });
  const population = { accounts: options.accounts ?? 0, ms: 0 };
  if (population.accounts > 0) {
    const treasury = (await loadIdentity(config.identityKeyPath)).id;
    population.ms = (await populateAccounts(config.databasePath, treasury, population.accounts)).ms;
  }
  const issuer = await startIssuer(config);
  const echo = await startEchoServer(config);
  const probe = instrument(issuer.ledger);
  const gc = { pausedMs: 0, longestMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.pausedMs += entry.duration;
      gc.longestMs = Math.max(gc.longestMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await Promise.all([issuer.close(), echo.close()]);
      await rm(dir, { recursive: true, force: true });
    })());

  const ops: { [K in ChildOp]: (args: ChildOps[K]['args']) => Promise<ChildOps[K]['result']> } = {
    async mint({ accounts, amount }) {
      const outcomes = await Promise.all(
        accounts.map((account, i) => issuer.ledger.mint(account as EntityId, amount, `bench-fund-${i}`)),
      );
      return outcomes.filter((o) => !isRefusal(o) && o.response.result === 'success').length;
    },
    async usage() {
      const usage = { cpu: process.cpuUsage(), elu: performance.eventLoopUtilization(), gc: { ...gc } };
      gc.longestMs = 0;
      return usage;
    },
    totals: () => issuer.ledger.totals(),
    handshakes: async () => issuer.handshakes(),
    clock: async () => performance.now(),
    async memory({ gc }) {
      if (gc) (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage();
    },
    polls: async () => probe.polls,
    trace: async ({ on }) => probe.trace(on),
    stop,
  };

  process.on('message', (message: ChildRequest) => {
    const run = ops[message.op] as (args: unknown) => Promise<unknown>;
    run(message.args).then(
      (value) => send({ id: message.id, ok: true, value }, message.op === 'stop' ? () => process.exit(0) : undefined),
      (error: unknown) => send({ id: message.id, ok: false, error: String((error as Error)?.stack ?? error) }),
    );
  });
  // the parent died or hung up: do not outlive it
  process.once('disconnect', () => void stop().finally(() => process.exit(0)));

  send({
    ready: true,
    domain: DOMAIN,
    issuerPort: issuer.httpsPort,
    echoPort: echo.port,
    caPem: ca.certPem,
    echoPath: ECHO_PATH,
    echoBody: ECHO_BODY,
    population,
  });
}

/**
 * Wraps the ledger the SOAP operations call (soap-service.ts looks its methods up per call): counts
 * long-polls in flight, and while tracing records when each successful transfer's commit reached
 * this thread and when a long-poll answer carrying it was ready. The wrappers cost one extra
 * promise per request.
 */
function instrument(ledger: IssuerLedger) {
  const transfer = ledger.transfer.bind(ledger);
  const getDeposits = ledger.getDeposits.bind(ledger);
  let tracing = false;
  let record: TraceRecord = { committed: new Map(), answered: new Map() };
  const probe = {
    polls: 0,
    trace(on: boolean): TraceRecord {
      const done = record;
      record = { committed: new Map(), answered: new Map() };
      tracing = on;
      return done;
    },
  };
  ledger.transfer = async (command) => {
    const outcome = await transfer(command);
    if (tracing && !isRefusal(outcome) && outcome.response.result === 'success') {
      record.committed.set(command.request.transactionId, performance.now());
    }
    return outcome;
  };
  ledger.getDeposits = async (holder, request, signal) => {
    probe.polls++;
    try {
      const outcome = await getDeposits(holder, request, signal);
      if (tracing && !isRefusal(outcome)) {
        const at = performance.now();
        for (const deposit of outcome.deposits) record.answered.set(deposit.transactionId, at);
      }
      return outcome;
    } finally {
      probe.polls--;
    }
  };
  return probe;
}

main().catch((error: unknown) => {
  console.error('bench server process failed:', error);
  process.exit(1);
});
