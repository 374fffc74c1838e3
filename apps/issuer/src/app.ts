// startIssuer(config): the whole money.com issuer, in-process, returning a handle that
// closes it. main.ts, the tests and the demo all start the issuer through here.
import { readFile } from 'node:fs/promises';
import http, { type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import express from 'express';
import * as soap from 'soap';
import { loadIdentity, serverTlsOptions } from '@lcp/crypto';
import { SOAP_PATH, WSDL_PATH, renderWsdl, type EntityId, type TraceEvent, type TraceSink } from '@lcp/protocol';
import {
  createIssuerLedger,
  openPostgresStore,
  startLedgerWorker,
  type IssuerLedger,
  type IssuerSettings,
  type PostgresLedgerStore,
} from '@lcp/issuer-core';
import type { IssuerConfig } from './config.js';
import { ConnectionTracker } from './connections.js';
import { sendFault } from './faults.js';
import { createLogger, type Logger } from './logger.js';
import { requestGuard, type GuardedRequest, type Next } from './request-guard.js';
import { fastPath } from './fast-path.js';
import { referenceGuard } from './reference-guard.js';
import { lcpOperations, soapServices } from './soap-service.js';
import { shareTicketKeys, type SharedTicketKeys } from './ticket-keys.js';

export interface RunningIssuer {
  readonly ledger: IssuerLedger;
  /** The issuer's own entity id: its treasury account. */
  readonly treasury: EntityId;
  /** Plain-HTTP address of lcp.wsdl (with the actual port). */
  readonly wsdlUrl: string;
  /** HTTPS address of the SOAP endpoint (with the actual port). */
  readonly serviceUrl: string;
  readonly httpsPort: number;
  readonly httpPort: number;
  /** The PostgreSQL store when the ledger is shared by several nodes (LCP_DATABASE_URL). */
  readonly postgres?: PostgresLedgerStore;
  /** TLS handshakes accepted so far, full and resumed. */
  handshakes(): { full: number; resumed: number };
  close(): Promise<void>;
}

const HANDSHAKE_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const KEEP_ALIVE_TIMEOUT_MS = 75_000;

/** The SOAP path exactly, with or without a query: anything else is express's to route. */
const onSoapPath = (url: string | undefined): boolean => url === SOAP_PATH || url?.startsWith(`${SOAP_PATH}?`) === true;

function listen(server: http.Server | https.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server | https.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

type Health = () => Promise<{ ok: boolean } & Record<string, unknown>>;

/** /healthz: 200 while this node can serve; 503 when its database (or its notifications) is down. */
function healthz(health: Health): express.RequestHandler {
  return (_req, res) => {
    health().then(
      ({ ok, ...detail }) => res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', ...detail }),
      () => res.status(503).json({ status: 'unavailable' }),
    );
  };
}

function wsdlApp(wsdl: () => string, health: Health): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get(WSDL_PATH, (_req, res) => {
    res.type('text/xml; charset=utf-8').send(wsdl());
  });
  app.get('/healthz', healthz(health));
  return app;
}

/**
 * WS-I BP R2735: in rpc/literal, part accessors are in no namespace. node-soap's server
 * qualifies the response's (<tns:result>) while its client leaves the request's bare; zeep
 * and PHP follow the rule, so the server is made to write the parts bare as well.
 */
function unqualifyRpcResponseParts(server: soap.Server): void {
  const { wsdl } = server as unknown as {
    wsdl: { objectToRpcXML(name: string, params: unknown, nsPrefix: string, nsURI: string, isParts?: boolean): string };
  };
  const write = wsdl.objectToRpcXML.bind(wsdl);
  wsdl.objectToRpcXML = (name, params, nsPrefix, nsURI) => write(name, params, nsPrefix, nsURI, true);
}

export interface IssuerOptions {
  logger?: Logger;
  /** Receives the requests that carry a W3C traceparent, as this issuer saw them. */
  onTrace?: TraceSink;
}

export async function startIssuer(config: IssuerConfig, options: IssuerOptions = {}): Promise<RunningIssuer> {
  const log = options.logger ?? createLogger(config.logLevel);
  const identity = await loadIdentity(config.identityKeyPath);
  const [cert, key, ca] = await Promise.all([
    readFile(config.tlsCertPath, 'utf8'),
    readFile(config.tlsKeyPath, 'utf8'),
    config.tlsCaPath ? readFile(config.tlsCaPath, 'utf8') : undefined,
  ]);

  const settings: IssuerSettings = {
    treasury: identity.id as EntityId,
    scale: config.scale,
    issuanceCap: config.issuanceCap,
    fees: config.fees,
  };
  // PostgreSQL: node-postgres is asynchronous, so the ledger runs here; several nodes share it.
  // SQLite: the ledger runs on its own thread, so durable commits overlap with TLS and SOAP work.
  const postgres = config.postgres
    ? await openPostgresStore({
        connectionString: config.postgres.url,
        poolSize: config.postgres.poolSize,
        writers: config.postgres.writers,
        allowNonDurable: config.postgres.allowNonDurable,
        ...(config.postgres.nodeId ? { nodeId: config.postgres.nodeId } : {}),
        onWarning: (message, error) => log.warn({ err: error }, message),
      })
    : undefined;
  if (postgres && !postgres.durability.durable) log.warn(postgres.durability, 'PostgreSQL is not durable: answers may be lost in a crash');
  const ledger = postgres
    ? createIssuerLedger(postgres, settings)
    : await startLedgerWorker({ databasePath: config.databasePath, settings });
  const health: Health = postgres ? () => postgres.health() : async () => ({ ok: true });

  const connections = new ConnectionTracker(config.maxConnectionsPerKey);
  // without a hook (a real deployment), traced requests go to the log: the e2e suite reads them there
  const trace = { party: config.domain, sink: options.onTrace ?? ((event: TraceEvent) => log.info({ trace: event }, 'traced')) };
  const operations = lcpOperations(ledger, connections, log, trace);
  const fast = config.soapPath === 'fast' ? fastPath(operations) : undefined;
  const soapApp = express();
  soapApp.disable('x-powered-by');
  soapApp.post(SOAP_PATH, referenceGuard);
  // the last word on anything that escaped: a fault without details
  const failed = (error: unknown, res: ServerResponse): void => {
    log.error({ err: error }, 'request failed');
    if (res.headersSent) res.destroy(); // half an answer must not pass for a whole one
    else sendFault(res, 'internal', '');
  };
  // Every POST is guarded and, on the SOAP path, answered by the fast path without express;
  // express serves the rest: other methods, node-soap's reference path, 404s. Express 5 gives
  // every request and response a new prototype (Object.setPrototypeOf), and V8 then kept about
  // 12 KiB of each request alive into the old generation: 12-20 ms scavenges every ~140 ms at
  // 1,700 transfers/s (docs/performance.md).
  const onRequest = (req: GuardedRequest, res: ServerResponse): void => {
    if (connections.request(req.socket as TLSSocket)?.overLimit) res.setHeader('Connection', 'close');
    if (req.method !== 'POST') {
      soapApp(req, res);
      return;
    }
    const reference: Next = (error) => (error === undefined ? void soapApp(req, res) : failed(error, res));
    const next: Next = fast && onSoapPath(req.url) ? (error) => (error === undefined ? fast(req, res, reference) : failed(error, res)) : reference;
    try {
      requestGuard(req, res, next);
    } catch (error) {
      failed(error, res); // express caught what its handlers threw; here a throw must not end the process
    }
  };

  const tlsServer = https.createServer(
    {
      // requests a client certificate but does not verify it against a CA: holders' certificates
      // are self-signed, the key is the identity (checked per request in soap-service.ts)
      ...serverTlsOptions({ certPem: cert, keyPem: key, ...(ca ? { caPem: ca } : {}) }),
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      // Node checks headersTimeout and requestTimeout only this often (30 s by default)
      connectionsCheckingInterval: 1_000,
    },
    onRequest,
  );
  tlsServer.on('secureConnection', (socket: TLSSocket) => connections.accept(socket));
  tlsServer.headersTimeout = HEADERS_TIMEOUT_MS;
  tlsServer.requestTimeout = REQUEST_TIMEOUT_MS;
  tlsServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  tlsServer.maxConnections = config.maxConnections;
  let tickets: SharedTicketKeys | undefined;
  if (postgres && config.postgres) {
    try {
      tickets = await shareTicketKeys(tlsServer, postgres, config.postgres.ticketKeyRotationS * 1000, log);
    } catch (error) {
      await ledger.close();
      throw error;
    }
  }

  const httpServer = http.createServer({ connectionsCheckingInterval: 1_000 }, wsdlApp(() => wsdlText, health));
  httpServer.headersTimeout = HEADERS_TIMEOUT_MS;
  httpServer.requestTimeout = REQUEST_TIMEOUT_MS;

  const httpsPort = await listen(tlsServer, config.httpsPort, config.host);
  const httpPort = await listen(httpServer, config.httpPort, config.host);
  // the service address holds the real port when the configured one was 0 (tests, demo)
  const serviceUrl = config.publicUrl.replace(/:0\//, `:${httpsPort}/`);
  const wsdlText = renderWsdl(serviceUrl);

  await new Promise<void>((resolve, reject) => {
    const soapServer = soap.listen(soapApp, {
      path: SOAP_PATH,
      services: soapServices(operations),
      xml: wsdlText,
      suppressStack: true,
      callback: (error: unknown) => (error ? reject(error) : resolve()),
    });
    unqualifyRpcResponseParts(soapServer);
  });
  soapApp.get(WSDL_PATH, (_req, res) => {
    res.type('text/xml; charset=utf-8').send(wsdlText);
  });
  soapApp.get('/healthz', healthz(health));
  soapApp.use((_req: express.Request, res: express.Response) => {
    res.status(404).json({ type: 'about:blank', title: 'Not Found', status: 404 });
  });
  soapApp.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => failed(error, res));

  const store = postgres ? { store: 'postgres', nodeId: postgres.nodeId } : { store: 'sqlite' };
  log.info({ domain: config.domain, serviceUrl, httpsPort, httpPort, treasury: identity.id, ...store }, 'issuer started');

  let closing: Promise<void> | undefined;
  return {
    ledger,
    ...(postgres ? { postgres } : {}),
    treasury: identity.id as EntityId,
    wsdlUrl: `http://${config.domain}:${httpPort}${WSDL_PATH}`,
    serviceUrl,
    httpsPort,
    httpPort,
    handshakes: () => ({ ...connections.handshakes }),
    close() {
      closing ??= (async () => {
        tickets?.stop();
        const stopped = Promise.all([closeServer(tlsServer), closeServer(httpServer)]);
        await ledger.close(); // answers every waiting long-poll, then closes the database
        tlsServer.closeAllConnections();
        await stopped;
        log.info('issuer stopped');
      })();
      return closing;
    },
  };
}
