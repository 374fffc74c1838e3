// startPublisher(config): video.com in-process, returning a handle that closes it. main.ts, the
// tests and the demo all start the publisher through here.
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo, LookupFunction } from 'node:net';
import express, { type Request, type Response } from 'express';
import { Wallet } from '@lcp/client';
import { loadOrCreateIdentity, generateIdentity, serverTlsOptions } from '@lcp/crypto';
import { formatAmount, type TraceSink } from '@lcp/protocol';
import { StorageNodeClient } from '@lcp/storage-node';
import { loadCatalog } from './catalog.js';
import type { PublisherConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { Payer } from './payer.js';
import { placeVideo, type Peer } from './placement.js';
import { Sales } from './sales.js';
import { PublisherStore, type Purchase } from './store.js';

export interface PublisherOptions {
  logger?: Logger;
  /** Name resolution override (the demo and tests run the paper's names on loopback). */
  lookup?: LookupFunction;
  onTrace?: TraceSink;
}

export interface RunningPublisher {
  readonly entityId: string;
  readonly url: string;
  /** Stores a catalog video on a peer: buys a contract and pays for the write. */
  placeVideo(videoId: string, peer: Peer): Promise<void>;
  peers(): ReturnType<PublisherStore['peers']>;
  close(): Promise<void>;
}

const MAX_WAIT_MS = 60_000;

function problem(res: Response, status: number, code: string, detail: string): void {
  res.status(status).type('application/problem+json').json({ type: `urn:lcp:publisher:${code}`, title: code, status, detail });
}

function purchaseView(p: Purchase, scale: number) {
  return {
    purchaseId: p.id,
    videoId: p.videoId,
    price: formatAmount(p.price, scale),
    currency: p.currency,
    transactionId: p.transactionId,
    status: p.status,
    expiresAt: p.expiresAt.toISOString(),
    ...(p.instruction ? { instruction: p.instruction } : {}),
    ...(p.detail ? { detail: p.detail } : {}),
  };
}

export async function startPublisher(config: PublisherConfig, options: PublisherOptions = {}): Promise<RunningPublisher> {
  const log = options.logger ?? createLogger(config.logLevel);
  const { identity } = await loadOrCreateIdentity(config.identityKeyPath, generateIdentity);
  const [certPem, keyPem, caPem] = await Promise.all([
    readFile(config.tlsCertPath, 'utf8'),
    readFile(config.tlsKeyPath, 'utf8'),
    config.caPath ? readFile(config.caPath, 'utf8') : undefined,
  ]);
  const catalog = await loadCatalog(config.catalogPath);
  const store = new PublisherStore(config.databasePath);
  // video.com's certificate names its own key, so it serves as its LCP client certificate too
  const wallet = new Wallet({
    credentials: { certPem, keyPem },
    dir: config.walletDir,
    ...(caPem ? { caPem } : {}),
    ...(options.lookup ? { lookup: options.lookup } : {}),
  });
  const payer = new Payer(wallet);
  const connect = (peer: Peer) =>
    new StorageNodeClient({ ...peer, credentials: { certPem, keyPem }, ...(options.lookup ? { lookup: options.lookup } : {}) });
  const sales = new Sales({
    party: config.domain,
    catalog,
    store,
    wallet,
    payer,
    connect,
    paymentWaitMs: config.paymentWaitMs,
    purchaseSeconds: config.purchaseSeconds,
    log,
    // without a hook (a real deployment), traced requests go to the log: the e2e suite reads them there
    onTrace: options.onTrace ?? ((event) => log.info({ trace: event }, 'traced')),
  });
  const scaleOf = (wsdl: string) => catalog.currencies.find((c) => c.wsdl === wsdl)?.scale ?? 0;

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));
  app.get('/catalog', (_req, res) => {
    res.json({
      payee: identity.id,
      videos: [...catalog.videos.values()].map((v) => ({
        id: v.id,
        title: v.title,
        size: v.size,
        sha256: v.sha256,
        prices: Object.fromEntries([...v.prices].map(([wsdl, price]) => [wsdl, formatAmount(price, scaleOf(wsdl))])),
      })),
    });
  });
  // Step 1: negotiate. The answer says what to pay, in which currency, to whom, under which transactionId.
  app.post('/purchases', (req: Request, res: Response) => {
    const body = (req.body ?? {}) as { videoId?: unknown; currency?: unknown; buyer?: unknown };
    if (typeof body.videoId !== 'string' || typeof body.currency !== 'string' || typeof body.buyer !== 'string') {
      problem(res, 400, 'badRequest', 'send { videoId, currency, buyer }');
      return;
    }
    const traceparent = req.headers.traceparent as string | undefined;
    const outcome = sales.negotiate(body.videoId, body.currency, body.buyer, traceparent);
    if (typeof outcome === 'string') {
      problem(res, outcome === 'unknownVideo' ? 404 : 400, outcome, `cannot sell: ${outcome}`);
      return;
    }
    res.status(201).json({ ...purchaseView(outcome, scaleOf(outcome.currency)), payee: identity.id });
  });
  app.get('/purchases/:id', async (req: Request, res: Response) => {
    const wait = Math.min(Math.max(Number(req.query.wait ?? 0) || 0, 0), MAX_WAIT_MS);
    const purchase = await sales.awaitPurchase(String(req.params.id), wait);
    if (!purchase) {
      problem(res, 404, 'unknownPurchase', 'no such purchase');
      return;
    }
    res.json(purchaseView(purchase, scaleOf(purchase.currency)));
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: express.NextFunction) => {
    const type = (error as { type?: string }).type;
    if (type === 'entity.parse.failed') return problem(res, 400, 'badRequest', 'the body is not JSON');
    if (type === 'entity.too.large') return problem(res, 413, 'tooLarge', 'the body is larger than 16 KiB');
    log.error({ err: error }, 'request failed');
    if (!res.headersSent) problem(res, 500, 'internal', 'the publisher failed');
  });

  const server = https.createServer(
    { ...serverTlsOptions({ certPem, keyPem, ...(caPem ? { caPem } : {}) }), requestCert: false },
    app,
  );
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = config.publicUrl.replace(/:0$/, `:${port}`);
  log.info({ url, entityId: identity.id }, 'publisher started');

  // the catalog's placements, in the background: a peer that is down now is tried at the next start
  const placing = (async () => {
    for (const video of catalog.videos.values()) {
      const placed = new Set(store.placements(video.id).map((p) => p.nodeId as string));
      for (const peer of video.peers.filter((p) => !placed.has(p.nodeId))) {
        await placeVideo(video, peer, { payer, store, connect }).then(
          () => log.info({ videoId: video.id, nodeId: peer.nodeId, url: peer.url }, 'video placed'),
          (error: unknown) => log.error({ err: error, videoId: video.id, url: peer.url }, 'video not placed'),
        );
      }
    }
    log.info('catalog placements done');
  })().catch((error: unknown) => log.error({ err: error }, 'catalog placements stopped'));

  let closing: Promise<void> | undefined;
  return {
    entityId: identity.id,
    url,
    async placeVideo(videoId, peer) {
      const video = catalog.videos.get(videoId);
      if (!video) throw new Error(`no video ${videoId} in the catalog`);
      await placeVideo(video, peer, { payer, store, connect });
    },
    peers: () => store.peers(),
    close() {
      closing ??= (async () => {
        await placing;
        await sales.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await wallet.close();
        store.close();
      })();
      return closing;
    },
  };
}
