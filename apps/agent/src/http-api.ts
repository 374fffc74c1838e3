// The local interface (section 5: "the local LCP agent must expose a local interface through
// which local application software can communicate"): HTTP on 127.0.0.1, one bearer token per
// application, JSON in and out, refusals as problem documents.
import express from 'express';
import { parseTraceparent, type TraceContext } from '@lcp/protocol';
import type { AgentService } from './agent-service.js';
import type { Logger } from './logger.js';
import type { ApplicationPolicy } from './policy.js';
import { sendProblem, type Refusal } from './problems.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

const answer = (res: express.Response, outcome: object | Refusal): void => {
  if ('refused' in outcome) sendProblem(res, (outcome as Refusal).refused, (outcome as Refusal).detail);
  else res.json(outcome);
};

export function agentApi(service: AgentService, log: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // a web page the user visits must not reach the agent through a name that points here
  app.use((req, res, next) => {
    const host = (req.headers.host ?? '').replace(/:[0-9]+$/, '').toLowerCase();
    if (!LOOPBACK_HOSTS.has(host)) sendProblem(res, 'forbiddenHost');
    else next();
  });

  // the one route without a token: is the agent up (the container's healthcheck)
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));

  app.use((req, res, next) => {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    const application = service.authenticate(token);
    if (!application) {
      log.warn({ method: req.method, url: req.path }, 'request without a valid application token');
      sendProblem(res, 'unauthorized');
      return;
    }
    res.locals.application = application;
    res.locals.trace = parseTraceparent(req.header('traceparent'));
    next();
  });

  const application = (res: express.Response): ApplicationPolicy => res.locals.application as ApplicationPolicy;
  const trace = (res: express.Response): TraceContext | undefined => res.locals.trace as TraceContext | undefined;

  app.get('/v1/identity', (_req, res) => {
    res.json({ entityId: service.entityId });
  });

  app.post('/v1/payments', express.json({ limit: '16kb' }), async (req, res) => {
    answer(res, await service.pay(application(res), req.body, trace(res)));
  });

  app.get('/v1/deposits/:transactionId', async (req, res) => {
    const { currency, wait } = req.query;
    const waitMs = typeof wait === 'string' && /^[0-9]{1,9}$/.test(wait) ? Number(wait) : 0;
    answer(res, await service.deposit(req.params.transactionId as string, typeof currency === 'string' ? currency : undefined, waitMs, trace(res)));
  });

  app.get('/v1/balances', async (_req, res) => {
    res.json(await service.balances());
  });

  app.get('/v1/limits', (_req, res) => {
    res.json(service.limits(application(res)));
  });

  app.use((_req, res) => sendProblem(res, 'notFound'));
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const status = (error as { status?: number }).status;
    if (status !== undefined && status >= 400 && status < 500) {
      if (!res.headersSent) sendProblem(res, 'badRequest', (error as Error).message);
      return;
    }
    log.error({ err: error }, 'request failed');
    if (!res.headersSent) sendProblem(res, 'internal');
  });
  return app;
}
