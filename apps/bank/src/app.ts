// startBank(config): the whole of bank.com in-process (HTTPS web pages, the agents' API, name
// documents, deposits collected at every issuer, reconciliation), returning a handle that
// closes it. main.ts, the tests and the demo all start the bank through here.
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { NAME_DOCUMENT_PATH } from '@lcp/client';
import { apiRoutes } from './api/routes.js';
import { Bank, type BankOptions } from './bank.js';
import type { BankConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { problem, sendProblem } from './problems.js';
import type { ReconciliationReport } from './reconciliation.js';
import { webRoutes } from './web/routes.js';

export interface StartBankOptions {
  logger?: Logger;
  lookup?: BankOptions['lookup'];
  namePort?: BankOptions['namePort'];
}

export interface RunningBank {
  /** Where the bank is reached, with the real port (https://bank.com:PORT). */
  readonly url: string;
  readonly port: number;
  readonly domain: string;
  /** The core, for tests and tools: books, customers, payments. */
  readonly bank: Bank;
  /** `bob` → `bob@bank.com` */
  nameFor(userid: string): string;
  /** The bank's own key at the issuer with this WSDL URL. */
  entityIdAt(wsdl: string): string;
  /** Sends again what waits for an answer, checks every key against its issuer, runs the sum checks. */
  reconcile(): Promise<ReconciliationReport>;
  close(): Promise<void>;
}

const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

function securityHeaders(_req: express.Request, res: express.Response, next: express.NextFunction): void {
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Strict-Transport-Security', 'max-age=31536000');
  next();
}

export async function startBank(config: Readonly<BankConfig>, options: StartBankOptions = {}): Promise<RunningBank> {
  const log = options.logger ?? createLogger(config.logLevel);
  const [cert, key] = await Promise.all([readFile(config.tlsCertPath, 'utf8'), readFile(config.tlsKeyPath, 'utf8')]);
  const bank = await Bank.open(config, {
    logger: log,
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(options.namePort ? { namePort: options.namePort } : {}),
  });

  const streams = new Set<ServerResponse>();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(securityHeaders);
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  // paper 5.1: name@bank.com → the bank's key and the userid (or the customer's own key)
  app.get(`${NAME_DOCUMENT_PATH}:name`, (req, res) => {
    const name = req.params.name.toLowerCase();
    const local = name.endsWith(`@${config.domain}`) ? name.slice(0, -config.domain.length - 1) : name;
    const document = bank.nameDocument(local);
    if (!document) return sendProblem(res, problem('name-not-found', `${local}@${config.domain} is not a customer here.`));
    res.setHeader('Cache-Control', 'max-age=60');
    res.json(document);
  });
  app.use('/api', apiRoutes(bank));
  app.use(webRoutes(bank, streams));
  app.use((req: express.Request, res: express.Response) => {
    if (req.path.startsWith('/api/') || req.accepts(['html', 'json']) === 'json') return sendProblem(res, problem('not-found', 'There is nothing here.'));
    res.status(404).type('text').send('Not found. Start at /');
  });
  // the last word on anything that escaped: a problem document without details
  app.use((error: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = (error as { status?: number }).status;
    if (status === 400 || status === 413 || status === 415) {
      return sendProblem(res, problem('invalid-request', status === 413 ? 'The request body is too large.' : 'The request body could not be read.'));
    }
    log.error({ err: error, path: req.path }, 'request failed');
    if (!res.headersSent) sendProblem(res, problem('internal', 'The bank could not handle this request. Nothing was changed by the failure itself.'));
  });

  const server = https.createServer({ cert, key, minVersion: 'TLSv1.2' }, app);
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  }).catch(async (error: unknown) => {
    await bank.close();
    throw error;
  });
  const url = config.publicUrl.replace(/:0$/, `:${port}`);
  const pruner = setInterval(() => {
    bank.sessions.prune();
    bank.limiter.prune();
  }, 10 * 60_000);
  pruner.unref();
  log.info({ url, domain: config.domain, currencies: bank.currencies.list.map((c) => ({ wsdl: c.wsdl, entityId: bank.bankEntity(c) })) }, 'bank started');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    domain: config.domain,
    bank,
    nameFor: (userid) => bank.nameFor(userid),
    entityIdAt(wsdl) {
      const currency = bank.currencies.find(wsdl);
      if (!currency) throw new Error(`the bank does not deal in ${wsdl}`);
      return bank.bankEntity(currency);
    },
    reconcile: () => bank.reconciler.checkAll(),
    close() {
      closing ??= (async () => {
        clearInterval(pruner);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const stream of streams) stream.end();
        server.closeIdleConnections();
        await bank.close();
        server.closeAllConnections();
        await stopped;
        log.info('bank stopped');
      })();
      return closing;
    },
  };
}
