// The node's HTTPS API. The peer's TLS client certificate names the caller (buyer or reader):
// its Ed25519 key is its entity id, exactly as at an LCP issuer.
import type { TLSSocket } from 'node:tls';
import express from 'express';
import { entityIdFromSocket } from '@lcp/crypto';
import type { Logger } from './logger.js';
import { sendProblem, type Refusal } from './problems.js';
import type { StorageService } from './storage-service.js';
import { parseTraceparent, type TraceContext } from './trace.js';
import { objectIdSchema, PAYMENT_HEADER, RETRIEVAL_HEADER } from './wire.js';

const JSON_LIMIT = '16kb';

interface Locals {
  trace?: TraceContext;
  caller?: string;
  log: Logger;
}

const locals = (res: express.Response): Locals => res.locals as Locals;

const answer = (res: express.Response, status: number, outcome: object | Refusal): void => {
  if ('refused' in outcome) sendProblem(res, outcome.refused, outcome.detail);
  else res.status(status).json(outcome);
};

export function storageApi(service: StorageService, log: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req, res, next) => {
    const trace = parseTraceparent(req.headers.traceparent);
    const caller = entityIdFromSocket(req.socket as TLSSocket);
    res.locals.trace = trace;
    res.locals.caller = caller;
    res.locals.log = log.child({ ...(trace ? { traceparent: trace.traceparent } : {}), ...(caller ? { caller } : {}) });
    (res.locals.log as Logger).debug({ method: req.method, url: req.originalUrl }, 'request');
    next();
  });

  /** Routes that act on a contract need the buyer's certificate. */
  const buyer: express.RequestHandler = (_req, res, next) => {
    if (!locals(res).caller) sendProblem(res, 'clientCertificateRequired');
    else next();
  };
  const objectId: express.RequestHandler = (req, res, next) => {
    if (!objectIdSchema.safeParse(req.params.objectId).success) sendProblem(res, 'invalidObjectId');
    else next();
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', nodeId: service.nodeId });
  });

  app.get('/offer', (_req, res) => {
    res.json(service.currentOffer());
  });

  app.post('/contracts', buyer, express.json({ limit: JSON_LIMIT }), async (req, res) => {
    const { caller, trace } = locals(res);
    answer(res, 201, await service.formContract(caller as string, req.body, trace));
  });

  app.get('/contracts', buyer, (req, res) => {
    answer(res, 200, service.listContracts(locals(res).caller as string, req.query));
  });

  app.get('/contracts/:contractId', buyer, (req, res) => {
    answer(res, 200, service.contractStatus(locals(res).caller as string, req.params.contractId as string));
  });

  app.put('/contracts/:contractId/objects/:objectId', buyer, objectId, async (req, res) => {
    const { caller, trace } = locals(res);
    const length = req.headers['content-length'];
    const payment = req.header(PAYMENT_HEADER)?.trim();
    const outcome = await service.write(
      caller as string,
      {
        contractId: req.params.contractId as string,
        objectId: req.params.objectId as string,
        paymentTransactionId: payment || undefined,
        declaredSize: length !== undefined && /^[0-9]{1,15}$/.test(length) ? Number(length) : undefined,
        body: req,
      },
      trace,
    );
    // a refused upload may still be arriving: do not read it, close the connection after the answer
    if ('refused' in outcome && !req.readableEnded) res.setHeader('connection', 'close');
    answer(res, 201, outcome);
  });

  app.post('/contracts/:contractId/objects/:objectId/retrievals', buyer, objectId, express.json({ limit: JSON_LIMIT }), async (req, res) => {
    const { caller, trace } = locals(res);
    answer(res, 201, await service.requestRetrieval(caller as string, req.params.contractId as string, req.params.objectId as string, req.body, trace));
  });

  app.get('/retrieve', (req, res) => {
    const { caller, trace, log: requestLog } = locals(res);
    const redeemed = service.redeem(caller, req.header(RETRIEVAL_HEADER), trace);
    if ('refused' in redeemed) {
      sendProblem(res, redeemed.refused, redeemed.detail);
      return;
    }
    const { instruction, object } = redeemed;
    const { range } = instruction;
    const content = service.openContent(object, range);
    content.once('error', (error) => {
      requestLog.error({ err: error }, 'content unreadable');
      if (!res.headersSent) sendProblem(res, 'internal');
      else res.destroy();
    });
    content.once('open', () => {
      // a ranged read is a 206 with Content-Range; the digest header names the whole object only
      if (range) {
        res.writeHead(206, {
          'content-type': 'application/octet-stream',
          'content-length': range.length,
          'content-range': `bytes ${range.offset}-${range.offset + range.length - 1}/${object.size}`,
          'cache-control': 'no-store',
        });
      } else {
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': object.size,
          'lcp-content-sha256': object.sha256,
          'cache-control': 'no-store',
        });
      }
      content.pipe(res);
    });
    // recorded when the connection closes: served if every byte had been handed to it (the
    // reader may close as soon as it has them all, before 'finish' and even before end()),
    // interrupted otherwise
    const length = range ? range.length : object.size;
    let handed = 0;
    content.on('data', (chunk: Buffer) => void (handed += chunk.length));
    res.once('close', () => {
      service.trace(trace, res.writableEnded || handed === length ? 'content served' : 'content interrupted', {
        step: '7',
        peer: instruction.reader,
        detail: { contractId: object.contractId, objectId: object.objectId, size: length, ...(range ? { offset: range.offset } : {}) },
      });
      content.destroy();
    });
  });

  app.use((_req, res) => sendProblem(res, 'notFound'));
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = (error as { status?: number; type?: string }).status;
    if (status !== undefined && status >= 400 && status < 500) {
      // body-parser: unreadable JSON or a body over the limit
      if (!res.headersSent) sendProblem(res, 'badRequest', (error as Error).message);
      return;
    }
    (res.locals.log as Logger | undefined ?? log).error({ err: error }, 'request failed');
    if (!res.headersSent) sendProblem(res, 'internal');
    else res.destroy();
  });
  return app;
}
