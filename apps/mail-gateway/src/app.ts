// startMailGateway(config): the pay-to-send SMTP gateway in-process, returning a handle that
// closes it. main.ts, the tests and the benchmark (and later the container) start it here.
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { LcpNetworkError, Wallet } from '@lcp/client';
import { createHolderCertificate, generateIdentity, loadOrCreateIdentity, privateKeyPem, type Identity } from '@lcp/crypto';
import { formatAmount } from '@lcp/protocol';
import { BankApi, BankTokenError } from './bank-api.js';
import { BankPayments } from './bank-payments.js';
import type { MailGatewayConfig } from './config.js';
import { DepositCollector } from './deposit-collector.js';
import { ExpirySweep, type SweepReport } from './expiry-sweep.js';
import { recipientsApi, type RefundOutcome } from './http-api.js';
import { createLogger, type Logger } from './logger.js';
import { PolicyError, readPolicy } from './policy.js';
import { PostageBook } from './postage-book.js';
import { PostageDesk } from './postage-desk.js';
import { refundTransactionId, Refunds } from './refunds.js';
import { Relay } from './relay.js';
import { createSmtpGateway } from './smtp-gateway.js';

export interface MailGatewayOptions {
  logger?: Logger;
  /** Name resolution override for issuers (tests use loopback). */
  lookup?: LookupFunction;
  now?: () => number;
  /** HTTPS port of a bank's domain for its name documents (tests; 443 otherwise). */
  namePort?: (domain: string) => number | undefined;
}

export interface RunningMailGateway {
  /** The gateway's entity id: postage is paid to it. */
  readonly entityId: string;
  readonly port: number;
  /** The recipients' interface, e.g. http://127.0.0.1:7470 */
  readonly apiUrl: string;
  /** One sweep of expired quotes now (refunds postage paid but never used); the timer runs it too. */
  sweep(): Promise<SweepReport>;
  close(): Promise<void>;
}

async function holderCertificate(path: string, identity: Identity): Promise<string> {
  try {
    const pem = await readFile(path, 'utf8');
    if (new Date(new X509Certificate(pem).validTo) > new Date(Date.now() + 24 * 3600 * 1000)) return pem;
  } catch {
    // none yet, or unreadable: make a new one
  }
  const pem = await createHolderCertificate(identity);
  await writeFile(path, pem, { mode: 0o644 });
  return pem;
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startMailGateway(config: Readonly<MailGatewayConfig>, options: MailGatewayOptions = {}): Promise<RunningMailGateway> {
  const log = options.logger ?? createLogger(config.logLevel);
  const now = options.now ?? Date.now;
  await mkdir(config.home, { recursive: true, mode: 0o700 });
  const policy = readPolicy(config.policyPath);
  const [key, cert] = await Promise.all([readFile(config.tls.keyPath, 'utf8'), readFile(config.tls.certPath, 'utf8')]);
  const { identity, created } = await loadOrCreateIdentity(config.identityKeyPath, generateIdentity);
  if (created) log.info({ entityId: identity.id }, 'new identity created');
  const credentials = { certPem: await holderCertificate(config.certificatePath, identity), keyPem: privateKeyPem(identity) };
  const caPem = config.issuerCaPath ? await readFile(config.issuerCaPath, 'utf8') : undefined;

  const bankCaPem = config.bankCaPath ? await readFile(config.bankCaPath, 'utf8') : undefined;
  const banks = new Map<string, BankApi>();
  for (const account of config.bankAccounts) {
    const token = account.token ?? (await readFile(account.tokenPath as string, 'utf8')).trim();
    banks.set(account.name, new BankApi({ url: account.url, token, customer: account.name, ...(bankCaPem ? { caPem: bankCaPem } : {}), ...(options.lookup ? { lookup: options.lookup } : {}) }));
  }
  // A token for another customer would credit postage to, and refund from, the wrong account.
  // A bank that does not answer yet is not a reason to stay down: BankApi checks the token
  // before its first use of the account, and refuses to use it for another customer.
  for (const [name, api] of banks) {
    try {
      await api.verify();
    } catch (error) {
      if (error instanceof BankTokenError) throw new PolicyError(error.message);
      log.warn({ err: (error as Error).message, payee: name }, 'could not check the bank token now; it is checked before the account is used');
    }
  }
  for (const rule of policy.recipients.values()) {
    if (rule.payee && !banks.has(rule.payee)) {
      throw new PolicyError(`the policy names the payee ${rule.payee} for ${rule.owner}: give its bank token in LCP_MAIL_BANK_ACCOUNTS`);
    }
  }
  const scaleOf = (currency: string) => policy.currencies.get(currency)?.scale ?? 2;

  const book = new PostageBook(config.databasePath);
  const wallet = new Wallet({ credentials, dir: config.walletDir, ...(caPem ? { caPem } : {}), ...(options.lookup ? { lookup: options.lookup } : {}) });
  // no retries inside the client: the collector asks again by itself, a refund answers "ask again",
  // and a closing gateway is not kept waiting by a long-poll sent again after its sockets closed
  const clientFor = (currency: string) => wallet.issuer(currency, { scale: policy.currencies.get(currency)?.scale ?? 2, retries: 0 });
  const collector = new DepositCollector(book, log, now);
  for (const currency of policy.currencies.keys()) collector.start(currency, () => clientFor(currency));

  const bankPayments = new Map([...banks].map(([name, api]) => [name, new BankPayments(api, scaleOf)] as const));
  const desk = new PostageDesk({ policy, book, collector, payee: identity.id, banks: bankPayments, quoteSeconds: config.quoteSeconds, paymentWaitMs: config.paymentWaitMs, now });
  const relay = new Relay({ ...config.downstream, name: config.hostname });
  const smtp = createSmtpGateway({
    hostname: config.hostname,
    domains: config.domains,
    tls: { key, cert },
    maxBytes: config.maxBytes,
    maxRecipients: config.maxRecipients,
    maxClients: config.maxClients,
    desk,
    relay,
    log,
  });
  smtp.on('error', (error) => log.warn({ err: error.message }, 'smtp connection error'));

  const refunds = new Refunds({
    book,
    clientFor,
    banks,
    names: { ...(bankCaPem ? { caPem: bankCaPem } : {}), ...(options.lookup ? { lookup: options.lookup } : {}), ...(options.namePort ? { port: options.namePort } : {}) },
    scaleOf,
    log,
    now,
  });
  const sweeper = new ExpirySweep({ book, desk, collector, refunds, banks, scaleOf, graceSeconds: config.refundGraceSeconds, log, now });

  // "I wanted this": the recipient's share goes back to the sender
  const refund = async (ref: string, recipient: string): Promise<RefundOutcome> => {
    const quote = book.quote(ref);
    const currency = quote?.paidCurrency;
    const share = currency ? quote?.shares[recipient]?.[currency] : undefined;
    // relayed but "delivered" not written (a crash, a failed write): paid, and maybe delivered, so refundable here
    const relayed = quote?.state === 'delivered' || quote?.relayingAt !== undefined;
    if (!quote || !relayed || !currency || share === undefined) {
      return { status: 404, body: { code: 'notPaid', status: 404, title: 'no paid message with this reference for this recipient' } };
    }
    if (!quote.refundTo) return { status: 409, body: { code: 'noRefundAddress', status: 409, title: 'the sender gave no X-LCP-Refund-To' } };
    const order = { ref, recipient, currency, amount: share, refundTo: quote.refundTo, transactionId: refundTransactionId(ref, recipient), ...(quote.payee ? { payee: quote.payee } : {}) };
    let outcome;
    try {
      outcome = await refunds.refund(order);
    } catch (error) {
      if (!(error instanceof LcpNetworkError)) throw error;
      return { status: 504, body: { code: 'refundOutcomeUnknown', status: 504, title: 'no answer from the issuer yet: ask again' } };
    }
    const { row, repeated } = outcome;
    const answer = { reference: ref, recipient, to: row.refundTo, amount: formatAmount(row.amount, scaleOf(currency)), currency, ...(quote.payee ? { from: quote.payee } : {}) };
    switch (row.state) {
      case 'paid':
        return { status: 200, body: { ...answer, result: 'success', ...(repeated ? { repeated: true } : {}) } };
      case 'failed':
        return { status: 502, body: { ...answer, code: 'refundFailed', status: 502, title: 'the refund was refused', result: row.result } };
      case 'sending':
        return { status: 504, body: { code: 'refundOutcomeUnknown', status: 504, title: `no answer from ${quote.payee ? 'the bank' : 'the issuer'} yet: ask again` } };
      case 'unknown':
        return {
          status: 409,
          body: { code: 'refundOutcomeLost', status: 409, title: `a transfer of this refund has no known outcome (an answer lost, or a restart); it is not sent again: look for transactionId ${row.transactionId} in the statement` },
        };
    }
  };

  const api = http.createServer(
    recipientsApi({ policy, book, refund, scaleOf, log }),
  );
  api.headersTimeout = 10_000;
  api.requestTimeout = 30_000;

  let port: number;
  let apiPort: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      smtp.server.once('error', reject);
      smtp.listen(config.port, config.host, () => {
        smtp.server.off('error', reject);
        resolve((smtp.server.address() as AddressInfo).port);
      });
    });
    apiPort = await listen(api, config.apiPort, '127.0.0.1');
  } catch (error) {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    api.close();
    await collector.close(() => wallet.close());
    relay.close();
    await book.close();
    throw error;
  }
  log.info({ port, apiPort, entityId: identity.id, domains: config.domains }, 'mail gateway started');

  const sweep = () => sweeper.run();
  const sweepNow = () => void sweep().catch((error: unknown) => log.error({ err: error }, 'sweep failed'));
  const sweepTimer = config.sweepSeconds > 0 ? setInterval(sweepNow, config.sweepSeconds * 1000) : undefined;
  sweepTimer?.unref();
  // refunds a crash left unsettled, and what expired while stopped
  const firstSweep = sweepTimer ? setImmediate(sweepNow) : undefined;

  let closing: Promise<void> | undefined;
  return {
    entityId: identity.id,
    port,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    sweep,
    close() {
      closing ??= (async () => {
        clearInterval(sweepTimer);
        clearImmediate(firstSweep);
        await sweeper.idle();
        await Promise.all([
          new Promise<void>((resolve) => smtp.close(() => resolve())),
          new Promise<void>((resolve) => {
            api.close(() => resolve());
            api.closeAllConnections();
          }),
        ]);
        // refunds asked for through the interface before it closed: their answers are written down
        await refunds.idle();
        await sweeper.idle();
        await collector.close(() => wallet.close());
        relay.close();
        await book.close();
        log.info('mail gateway stopped');
      })();
      return closing;
    },
  };
}
