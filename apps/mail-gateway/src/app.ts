// startMailGateway(config): the pay-to-send SMTP gateway in-process, returning a handle that
// closes it. main.ts, the tests and the benchmark (and later the container) start it here.
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { LcpNetworkError, Wallet } from '@lcp/client';
import { createHolderCertificate, generateIdentity, loadOrCreateIdentity, privateKeyPem, type Identity } from '@lcp/crypto';
import { formatAmount } from '@lcp/protocol';
import type { MailGatewayConfig } from './config.js';
import { DepositCollector } from './deposit-collector.js';
import { recipientsApi, type RefundOutcome } from './http-api.js';
import { createLogger, type Logger } from './logger.js';
import { readPolicy } from './policy.js';
import { PostageBook } from './postage-book.js';
import { PostageDesk } from './postage-desk.js';
import { Relay } from './relay.js';
import { createSmtpGateway } from './smtp-gateway.js';

export interface MailGatewayOptions {
  logger?: Logger;
  /** Name resolution override for issuers (tests use loopback). */
  lookup?: LookupFunction;
  now?: () => number;
}

export interface RunningMailGateway {
  /** The gateway's entity id: postage is paid to it. */
  readonly entityId: string;
  readonly port: number;
  /** The recipients' interface, e.g. http://127.0.0.1:7470 */
  readonly apiUrl: string;
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

  const book = new PostageBook(config.databasePath);
  const wallet = new Wallet({ credentials, dir: config.walletDir, ...(caPem ? { caPem } : {}), ...(options.lookup ? { lookup: options.lookup } : {}) });
  const clientFor = (currency: string) => wallet.issuer(currency, { scale: policy.currencies.get(currency)?.scale ?? 2 });
  const collector = new DepositCollector(book, log, now);
  for (const currency of policy.currencies.keys()) collector.start(currency, () => clientFor(currency));

  const desk = new PostageDesk({ policy, book, collector, payee: identity.id, quoteSeconds: config.quoteSeconds, paymentWaitMs: config.paymentWaitMs, now });
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

  const refundOnce = async (ref: string, recipient: string): Promise<RefundOutcome> => {
    const quote = book.quote(ref);
    const currency = quote?.paidCurrency;
    const share = currency ? quote?.shares[recipient]?.[currency] : undefined;
    if (!quote || quote.state !== 'delivered' || !currency || share === undefined) {
      return { status: 404, body: { code: 'notPaid', status: 404, title: 'no paid message with this reference for this recipient' } };
    }
    if (!quote.refundTo) return { status: 409, body: { code: 'noRefundAddress', status: 409, title: 'the sender gave no X-LCP-Refund-To' } };
    const tag = createHash('sha256').update(recipient).digest('hex').slice(0, 12);
    const row = book.beginRefund({ ref, recipient, currency, amount: share, refundTo: quote.refundTo, transactionId: `refund_${ref}_${tag}` }, now());
    const scale = policy.currencies.get(currency)?.scale ?? 2;
    const answer = { reference: ref, recipient, to: row.refundTo, amount: formatAmount(row.amount, scale), currency };
    if (row.state === 'paid') return { status: 200, body: { ...answer, result: 'success', repeated: true } };
    try {
      const client = await clientFor(currency);
      const { result } = await client.transferFunds({ recipient: row.refundTo, amount: row.amount, transactionId: row.transactionId });
      book.finishRefund(ref, recipient, result === 'success' ? 'paid' : 'failed', result);
      return { status: result === 'success' ? 200 : 502, body: { ...answer, result } };
    } catch (error) {
      if (error instanceof LcpNetworkError) {
        // still pending in the client: asking again sends the same order with its counter, never twice
        return { status: 504, body: { code: 'refundOutcomeUnknown', status: 504, title: 'no answer from the issuer yet: ask again' } };
      }
      book.finishRefund(ref, recipient, 'failed', 'refused');
      log.warn({ err: (error as Error).message }, 'refund refused by the issuer');
      return { status: 502, body: { code: 'issuerRefused', status: 502, title: 'the issuer refused the refund' } };
    }
  };

  // two requests for one refund at once share the first one's transfer: a second transfer
  // would get a new counter and pay again
  const refunding = new Map<string, Promise<RefundOutcome>>();
  const refund = (ref: string, recipient: string): Promise<RefundOutcome> => {
    const key = `${ref}\n${recipient}`;
    let running = refunding.get(key);
    if (!running) {
      running = refundOnce(ref, recipient).finally(() => refunding.delete(key));
      refunding.set(key, running);
    }
    return running;
  };

  const api = http.createServer(
    recipientsApi({ policy, book, refund, scaleOf: (c) => policy.currencies.get(c)?.scale ?? 2, log }),
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

  let closing: Promise<void> | undefined;
  return {
    entityId: identity.id,
    port,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    close() {
      closing ??= (async () => {
        await Promise.all([
          new Promise<void>((resolve) => smtp.close(() => resolve())),
          new Promise<void>((resolve) => {
            api.close(() => resolve());
            api.closeAllConnections();
          }),
        ]);
        await collector.close(() => wallet.close());
        relay.close();
        await book.close();
        log.info('mail gateway stopped');
      })();
      return closing;
    },
  };
}
