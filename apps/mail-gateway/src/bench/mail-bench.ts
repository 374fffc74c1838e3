// The gateway's benchmark (`pnpm --filter @lcp/mail-gateway bench`): messages/s accepted with
// payment verification (each message carries its paid reference; the gateway checks the quote's
// binding, the deposit taken from the issuer, marks the payment used in SQLite, and relays),
// against a bare smtp-server relay that accepts anything and relays with nodemailer, both in
// this process, both relaying to the same sink on loopback, driven by the same nodemailer pool.
// Also the whole pay-to-send cycle (price reply, payment at the issuer, paid send) per second.
// The machine is shared, so the two are measured in alternating short runs (pairs) and the ratio
// is the median of the pairs' ratios; CPU time per message (this whole process: client, relays,
// sink) is reported too, as it depends less on what else the machine is doing.
// Prints the figures and the ratio, writes bench-results/mail-gateway.json. Knobs: BENCH_MESSAGES
// (paid messages in all, default 1200), BENCH_PAIRS (default 6), BENCH_CONNECTIONS (default 8).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import { loopbackLookup } from '@lcp/client';
import { issueServerCertificate } from '@lcp/crypto';
import { connectHolder, newHolder, startTestIssuer } from '@lcp/issuer/testing';
import { startMailGateway } from '../app.js';
import { parseConfig } from '../config.js';
import { PAYMENT_HEADER, REFUND_HEADER } from '../message.js';
import { readPostageReply } from '../postage-reply.js';
import { Relay } from '../relay.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1200);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const PER_RUN = Math.floor(MESSAGES / PAIRS);
const TARGET_RATIO = 0.7;
const silent = pino({ level: 'silent' });
const BODY = 'A message of ordinary size.\n'.repeat(30);

function listen(server: SMTPServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port)));
}

/** The final MTA: accepts and discards, counting. */
async function startSink(): Promise<{ port: number; count: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        count++;
        callback();
      });
    },
  });
  const port = await listen(sink);
  return { port, count: () => count, close: () => new Promise((r) => sink.close(() => r())) };
}

/** The baseline: smtp-server relaying everything with nodemailer, no checks. */
async function startBareRelay(downstreamPort: number): Promise<{ port: number; close: () => Promise<void> }> {
  const relay = new Relay({ host: '127.0.0.1', port: downstreamPort, connections: 5, name: 'bare.test' });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const envelope = { sender: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', recipients: session.envelope.rcptTo.map((r) => r.address) };
        relay.send(envelope, Buffer.concat(chunks)).then(() => callback(), (e: Error) => callback(e));
      });
    },
  });
  const port = await listen(server);
  return { port, close: async () => { await new Promise<void>((r) => server.close(() => r())); relay.close(); } };
}

interface Mail {
  messageId: string;
  headers?: Record<string, string>;
}

/** Sends every message through a pool of `CONNECTIONS` connections; messages/s. */
async function blast(port: number, mails: Mail[]): Promise<{ perSecond: number; seconds: number; failed: number; cpuMicros: number }> {
  const cpu = process.cpuUsage();
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: CONNECTIONS, maxMessages: Infinity });
  let next = 0;
  let failed = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONNECTIONS * 2 }, async () => {
      while (next < mails.length) {
        const mail = mails[next++] as Mail;
        try {
          await transport.sendMail({ from: 'sender@outside.test', to: 'bench@example.org', subject: 'bench', text: BODY, messageId: mail.messageId, headers: mail.headers ?? {} });
        } catch {
          failed++;
        }
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  transport.close();
  return { perSecond: mails.length / seconds, seconds, failed, cpuMicros: (used.user + used.system) / mails.length };
}

const round = (n: number) => Math.round(n * 10) / 10;

async function main(): Promise<void> {
  const t = await startTestIssuer({ LCP_FEE_RATE_PPM: '0', LCP_FEE_RESUMED_RATE_PPM: '0' });
  const home = await mkdtemp(join(tmpdir(), 'lcp-mail-bench-'));
  const sink = await startSink();
  const bare = await startBareRelay(sink.port);
  const wsdl = t.issuer.wsdlUrl;
  const tls = await issueServerCertificate(t.ca, { hostnames: ['mx.example.org'] });
  await writeFile(join(home, 'cert.pem'), tls.certPem);
  await writeFile(join(home, 'key.pem'), tls.keyPem);
  await writeFile(join(home, 'policy.json'), JSON.stringify({ currencies: { [wsdl]: { scale: 2 } }, recipients: { 'bench@example.org': { prices: { [wsdl]: '0.01' } } } }));
  const gateway = await startMailGateway(
    parseConfig({
      LCP_MAIL_HOME: home, LCP_MAIL_HOST: '127.0.0.1', LCP_MAIL_PORT: '0', LCP_MAIL_API_PORT: '0', LCP_MAIL_HOSTNAME: 'mx.example.org',
      LCP_MAIL_DOMAINS: 'example.org', LCP_MAIL_DOWNSTREAM: `127.0.0.1:${sink.port}`, LCP_MAIL_TLS_CERT: 'cert.pem', LCP_MAIL_TLS_KEY: 'key.pem',
      LCP_MAIL_ISSUER_CA: t.caPath, LCP_MAIL_MAX_CLIENTS: '1000', LCP_MAIL_LOG_LEVEL: 'silent',
    }),
    { logger: silent, lookup: loopbackLookup },
  );
  const holder = await newHolder();
  await t.issuer.ledger.mint(holder.id, BigInt(MESSAGES) * 100n, 'bench-funds');
  const payer = await connectHolder(t, holder);
  try {
    console.log(`mail gateway benchmark: ${PAIRS} pairs of ${PER_RUN} messages, ${CONNECTIONS} client connections, ${cpus().length} CPUs, load ${loadavg()[0]?.toFixed(2)}`);

    /** Quotes and pays `count` messages (price reply over SMTP, transfer at the issuer); the paid mails. */
    const prepay = async (tag: string, count: number): Promise<{ mails: Mail[]; seconds: number }> => {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: gateway.port, secure: false, ignoreTLS: true, pool: true, maxConnections: CONNECTIONS, maxMessages: Infinity });
      const started = process.hrtime.bigint();
      const mails: Mail[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (next < count) {
            const messageId = `<${tag}-${next++}@outside.test>`;
            const reply = await transport.sendMail({ from: 'sender@outside.test', to: 'bench@example.org', subject: 'bench', text: BODY, messageId }).then(
              () => '',
              (e: { response?: string }) => e.response ?? '',
            );
            const [offer] = readPostageReply(reply);
            if (!offer) throw new Error(`no postage asked: ${reply}`);
            const { result } = await payer.transferFunds({ recipient: offer.payee, amount: 1n, transactionId: offer.ref });
            if (result !== 'success') throw new Error(`payment failed: ${result}`);
            mails.push({ messageId, headers: { [PAYMENT_HEADER]: offer.ref, [REFUND_HEADER]: holder.id } });
          }
        }),
      );
      transport.close();
      return { mails, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
    };

    const paid = await prepay('paid', PER_RUN * PAIRS);
    const cycle = paid.mails.length / paid.seconds;
    console.log(`  quoted and paid ${paid.mails.length} messages in ${paid.seconds.toFixed(1)} s (price reply + transfer at the issuer)`);
    await new Promise((res) => setTimeout(res, 1000)); // the collector's long-poll takes the last deposits
    const runs: { bare: number; gateway: number; ratio: number; bareCpuMicros: number; gatewayCpuMicros: number }[] = [];
    for (let pair = 0; pair < PAIRS; pair++) {
      const mails = paid.mails.slice(pair * PER_RUN, (pair + 1) * PER_RUN);
      const plain = Array.from({ length: PER_RUN }, (_, i) => ({ messageId: `<bare-${pair}-${i}@outside.test>` }));
      const sinkBefore = sink.count();
      // alternate which goes first, so a change in the machine's load hits both alike
      const [bareRun, gatewayRun] =
        pair % 2 === 0
          ? [await blast(bare.port, plain), await blast(gateway.port, mails)]
          : await blast(gateway.port, mails).then(async (g) => [await blast(bare.port, plain), g] as const);
      if (gatewayRun.failed > 0 || bareRun.failed > 0) throw new Error(`messages failed: gateway ${gatewayRun.failed}, bare ${bareRun.failed}`);
      if (sink.count() - sinkBefore !== 2 * PER_RUN) throw new Error(`the sink got ${sink.count() - sinkBefore} of ${2 * PER_RUN} messages`);
      runs.push({ bare: bareRun.perSecond, gateway: gatewayRun.perSecond, ratio: gatewayRun.perSecond / bareRun.perSecond, bareCpuMicros: bareRun.cpuMicros, gatewayCpuMicros: gatewayRun.cpuMicros });
      console.log(
        `  pair ${pair + 1}: bare relay ${round(bareRun.perSecond)} msg/s, gateway with payment verification ${round(gatewayRun.perSecond)} msg/s, ratio ${(gatewayRun.perSecond / bareRun.perSecond * 100).toFixed(1)}%`,
      );
    }
    // the same paid messages again: each payment passes one message only (duplicates not relayed)
    const sinkBefore = sink.count();
    const again = await blast(gateway.port, paid.mails.slice(0, 50));
    if (again.failed > 0 || sink.count() !== sinkBefore) throw new Error('a paid message was relayed twice');
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const ratio = median(runs.map((r) => r.ratio));
    const bareRate = median(runs.map((r) => r.bare));
    const gatewayRate = median(runs.map((r) => r.gateway));
    const bareCpu = median(runs.map((r) => r.bareCpuMicros));
    const gatewayCpu = median(runs.map((r) => r.gatewayCpuMicros));
    const totals = await t.issuer.ledger.totals();
    if (totals.sum !== 0n) throw new Error(`the ledger does not sum to zero: ${totals.sum}`);
    console.log('');
    console.log(`bare smtp-server relay:                   ${round(bareRate)} messages/s (median), ${Math.round(bareCpu)} µs CPU a message`);
    console.log(`gateway, paid messages verified:          ${round(gatewayRate)} messages/s (median), ${Math.round(gatewayCpu)} µs CPU a message`);
    console.log(`ratio gateway / bare (median of pairs):   ${(ratio * 100).toFixed(1)}% (target >= ${TARGET_RATIO * 100}%: ${ratio >= TARGET_RATIO ? 'met' : 'MISSED'}); CPU ratio bare / gateway ${((bareCpu / gatewayCpu) * 100).toFixed(1)}%`);
    console.log(`whole cycle (reply, pay, send):           ${round(1 / (1 / cycle + 1 / gatewayRate))} messages/s (the issuer's transfers, one at a time per holder, dominate)`);
    console.log(`machine: ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    const out = resolve('bench-results');
    await mkdir(out, { recursive: true });
    await writeFile(
      join(out, 'mail-gateway.json'),
      JSON.stringify(
        { date: new Date().toISOString(), pairs: PAIRS, perRun: PER_RUN, connections: CONNECTIONS, cpus: cpus().length, loadavg: loadavg(), runs, bare: bareRate, gateway: gatewayRate, ratio, bareCpuMicros: bareCpu, gatewayCpuMicros: gatewayCpu, prepaidPerSecond: cycle, target: TARGET_RATIO },
        null,
        2,
      ),
    );
    console.log(`written: ${join(out, 'mail-gateway.json')}`);
  } finally {
    payer.close();
    await gateway.close();
    await bare.close();
    await sink.close();
    await t.stop();
    await rm(home, { recursive: true, force: true });
  }
}

await main();
