// The customers' and the operator's web pages: sessions in a cookie, a CSRF token in every form,
// Post/Redirect/Get, and Server-Sent Events for incoming payments.
import type { ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Bank } from '../bank.js';
import { parsePositive } from '../currencies.js';
import type { Customer } from '../customers.js';
import { isProblem, problem, PROBLEMS, type Problem } from '../problems.js';
import { csrfMatches, SESSION_COOKIE, type Session } from '../sessions.js';
import { isScope, type Scope } from '../tokens.js';
import { APP_JS, STYLE_CSS } from './assets.js';
import * as pages from './pages.js';
import { statementCsv } from '../statement.js';

interface WebLocals {
  /** Made on first need: a visitor who only fetches a file leaves no row behind. */
  session?: Session;
  customer?: Customer;
}

const locals = (res: Response): WebLocals => res.locals as WebLocals;

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

const field = (body: unknown, name: string): string => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
};

const fields = (body: unknown, name: string): string[] => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
};

export function webRoutes(bank: Bank, streams: Set<ServerResponse>): express.Router {
  const router = express.Router();
  const secureCookie = (value: string, maxAgeMs: number) =>
    `${SESSION_COOKIE}=${value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeMs / 1000)}`;

  const startSession = (res: Response, customerId: bigint | null): Session => {
    const { cookie, session } = bank.sessions.create(customerId);
    res.setHeader('Set-Cookie', secureCookie(cookie, customerId === null ? 3_600_000 : bank.sessions.ttlMs));
    return session;
  };

  const sessionOf = (res: Response): Session => (locals(res).session ??= startSession(res, null));

  const context = (req: Request, res: Response, flash?: string): pages.PageContext => {
    const { customer } = locals(res);
    return { bank, csrf: sessionOf(res).csrf, path: req.path, ...(customer ? { customer } : {}), ...(flash ? { flash } : {}) };
  };

  const page = (res: Response, body: string, status = 200) => {
    res.status(status).type('html').setHeader('Cache-Control', 'no-store');
    res.send(body);
  };

  const fail = (req: Request, res: Response, p: Problem) => {
    const { status, title } = PROBLEMS[p.problem];
    page(res, pages.errorPage(context(req, res), status, title, p.detail), status);
  };

  const redirect = (res: Response, to: string, flash?: string) => {
    if (flash) bank.sessions.setFlash(sessionOf(res), flash);
    res.redirect(303, to);
  };

  router.use('/static/style.css', (_req, res) => void res.type('css').setHeader('Cache-Control', 'max-age=3600').send(STYLE_CSS));
  router.use('/static/app.js', (_req, res) => void res.type('js').setHeader('Cache-Control', 'max-age=3600').send(APP_JS));

  // every page has a session (signed in or not), so every form can carry a CSRF token
  router.use((_req, res, next) => {
    const session = bank.sessions.find(readCookie(_req, SESSION_COOKIE));
    const customer = session?.customerId ? bank.customers.byId(session.customerId) : undefined;
    if (session && customer?.closedAt) bank.sessions.destroy(session);
    else if (session) res.locals.session = session;
    if (customer && !customer.closedAt) res.locals.customer = customer;
    next();
  });

  router.post(/.*/, express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 }), (req, res, next) => {
    const { session } = locals(res);
    if (!session || !csrfMatches(session, field(req.body, '_csrf'))) {
      fail(req, res, problem('csrf-failed', 'Open the page again and send the form from there.'));
      return;
    }
    next();
  });

  const signedIn = (req: Request, res: Response, next: NextFunction) => {
    if (locals(res).customer) return next();
    if (req.method === 'GET') return res.redirect(303, '/signin');
    fail(req, res, problem('unauthorized', 'Sign in first.'));
  };
  const asCustomer = (req: Request, res: Response, next: NextFunction) => {
    if (locals(res).customer?.kind === 'operator') return res.redirect(303, '/operator');
    next();
  };
  const asOperator = (req: Request, res: Response, next: NextFunction) => {
    if (locals(res).customer?.kind === 'operator') return next();
    fail(req, res, problem('not-found', 'There is no such page.'));
  };
  const me = (res: Response): Customer => locals(res).customer as Customer;
  const flash = (res: Response) => {
    const { session } = locals(res);
    return session ? bank.sessions.takeFlash(session) : undefined;
  };

  router.get('/', (_req, res) => {
    const c = locals(res).customer;
    res.redirect(303, !c ? '/signin' : c.kind === 'operator' ? '/operator' : '/dashboard');
  });

  router.get('/signin', (req, res) => {
    if (locals(res).customer) return res.redirect(303, '/');
    page(res, pages.signInPage(context(req, res, flash(res))));
  });

  router.post('/signin', async (req, res) => {
    const name = field(req.body, 'name').trim().toLowerCase().slice(0, 64);
    const password = field(req.body, 'password');
    const key = `${req.ip ?? req.socket.remoteAddress}|${name}`;
    const wait = bank.limiter.retryAfter(key);
    if (wait > 0) {
      res.setHeader('Retry-After', String(Math.ceil(wait / 1000)));
      const minutes = Math.ceil(wait / 60_000);
      page(res, pages.signInPage(context(req, res), { name, problem: problem('too-many-attempts', `Too many wrong passwords for ${name}. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`) }), 429);
      return;
    }
    const customer = name && password ? await bank.customers.authenticate(name, password) : undefined;
    if (!customer) {
      bank.limiter.fail(key);
      page(res, pages.signInPage(context(req, res), { name, problem: problem('unauthorized', 'That name and password do not match.', { field: 'password' }) }), 401);
      return;
    }
    bank.limiter.succeed(key);
    bank.sessions.destroy(sessionOf(res)); // a new session id at sign-in: no fixation
    locals(res).session = startSession(res, customer.id);
    redirect(res, customer.kind === 'operator' ? '/operator' : '/dashboard');
  });

  router.get('/signup', (req, res) => {
    if (locals(res).customer) return res.redirect(303, '/');
    page(res, pages.signUpPage(context(req, res)));
  });

  router.post('/signup', async (req, res) => {
    const name = field(req.body, 'name').trim().toLowerCase();
    const kind = field(req.body, 'kind') === 'transparent' ? 'transparent' : 'opaque';
    const password = field(req.body, 'password');
    if (password !== field(req.body, 'confirm')) {
      page(res, pages.signUpPage(context(req, res), { name, kind, problem: problem('invalid-request', 'The two passwords differ.', { field: 'confirm' }) }), 400);
      return;
    }
    const created = await bank.customers.signUp({ name, password, kind });
    if (isProblem(created)) {
      page(res, pages.signUpPage(context(req, res), { name, kind, problem: created }), PROBLEMS[created.problem].status);
      return;
    }
    if (created.kind === 'transparent') await bank.startTransparent(created);
    bank.sessions.destroy(sessionOf(res));
    locals(res).session = startSession(res, created.id);
    redirect(res, '/dashboard', `Welcome. People can pay you at ${bank.nameFor(created.name)}.`);
  });

  router.post('/signout', (_req, res) => {
    bank.sessions.destroy(sessionOf(res));
    locals(res).session = startSession(res, null);
    redirect(res, '/signin', 'You are signed out.');
  });

  router.get('/dashboard', signedIn, asCustomer, (req, res) => page(res, pages.dashboardPage(context(req, res, flash(res)), me(res))));

  router.get('/events', signedIn, (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write('retry: 3000\n\n');
    const unsubscribe = bank.events.subscribe(me(res).id, (event) => {
      res.write(`event: payment\nid: ${event.paymentId}\ndata: ${JSON.stringify(event)}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': still here\n\n'), 15_000);
    streams.add(res);
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    });
  });

  router.get('/send', signedIn, asCustomer, (req, res) => page(res, pages.sendPage(context(req, res, flash(res)), me(res))));

  router.post('/send', signedIn, asCustomer, async (req, res) => {
    const values = Object.fromEntries(['to', 'currency', 'amount', 'transactionId', 'userid'].map((k) => [k, field(req.body, k).trim()]));
    const outcome = await bank.payments.send({
      customer: me(res),
      currency: values.currency ?? '',
      to: values.to ?? '',
      amount: values.amount,
      ...(values.transactionId ? { transactionId: values.transactionId } : {}),
      ...(values.userid ? { userid: values.userid } : {}),
    });
    if (isProblem(outcome)) {
      const fieldOf: Partial<Record<string, string>> = {
        'invalid-amount': 'amount',
        'insufficient-funds': 'amount',
        'invalid-recipient': 'to',
        'name-not-found': 'to',
        'name-unresolvable': 'to',
        'currency-not-accepted': 'to',
        'invalid-transaction-id': 'transactionId',
        'invalid-userid': 'userid',
      };
      const withField = fieldOf[outcome.problem] ? { ...outcome, extra: { ...outcome.extra, field: fieldOf[outcome.problem] } } : outcome;
      page(res, pages.sendPage(context(req, res), me(res), { problem: withField, values }), PROBLEMS[outcome.problem].status);
      return;
    }
    const c = outcome.currency;
    const text =
      outcome.status === 'completed'
        ? `Sent ${values.amount} ${c.name}.`
        : outcome.status === 'failed'
          ? `Not paid: the issuer answered ${outcome.result}. Nothing left your account.`
          : 'The issuer has not answered yet; the bank keeps asking. The money is set aside until then.';
    redirect(res, `/payments/${outcome.paymentId}`, text);
  });

  router.get('/payments/:id', signedIn, asCustomer, (req, res) => {
    const id = /^[0-9]{1,18}$/.test(req.params.id as string) ? BigInt(req.params.id as string) : undefined;
    const row = id === undefined ? undefined : bank.payment(id);
    // another customer's payment is "not found", not "forbidden": ids reveal nothing
    if (!row || row.customer_id !== me(res).id) return fail(req, res, problem('not-found', 'You have no payment with that number.'));
    page(res, pages.receiptPage(context(req, res, flash(res)), row));
  });

  router.get('/history', signedIn, asCustomer, (req, res) => {
    const id = typeof req.query.currency === 'string' && /^[0-9]{1,9}$/.test(req.query.currency) ? BigInt(req.query.currency) : undefined;
    const currency = id === undefined ? undefined : bank.currencies.list.find((c) => c.id === id);
    page(res, pages.historyPage(context(req, res, flash(res)), me(res), currency));
  });

  router.get('/statement.csv', signedIn, asCustomer, (req, res) => {
    const id = typeof req.query.currency === 'string' && /^[0-9]{1,9}$/.test(req.query.currency) ? BigInt(req.query.currency) : undefined;
    const currency = id === undefined ? undefined : bank.currencies.list.find((c) => c.id === id);
    if (!currency) return fail(req, res, problem('unknown-currency', 'Choose a currency from the history page.'));
    res
      .type('text/csv; charset=utf-8')
      .setHeader('Cache-Control', 'no-store')
      .setHeader('Content-Disposition', `attachment; filename="${me(res).name}-${currency.name.replace(/[^A-Za-z0-9._-]/g, '_')}-statement.csv"`)
      .send(statementCsv(bank, me(res), currency));
  });

  router.get('/tokens', signedIn, (req, res) => page(res, pages.tokensPage(context(req, res, flash(res)), me(res))));

  router.post('/tokens', signedIn, (req, res) => {
    const customer = me(res);
    const label = field(req.body, 'label').trim();
    const scopes = [...new Set(fields(req.body, 'scope'))];
    const limitText = field(req.body, 'limit').trim();
    const limitCurrency = field(req.body, 'limitCurrency');
    const values = { label, scopes: scopes.join(' '), limit: limitText, limitCurrency };
    const again = (p: Problem) => page(res, pages.tokensPage(context(req, res), customer, { problem: p, values }), PROBLEMS[p.problem].status);
    if (!label || label.length > 60) return again(problem('invalid-request', 'Name the application (up to 60 characters).', { field: 'label' }));
    if (scopes.length === 0 || !scopes.every(isScope)) return again(problem('invalid-scope', 'Choose at least one right.'));
    if (scopes.includes('operator') && customer.kind !== 'operator') return again(problem('invalid-scope', 'Only the operator can give operator rights.'));
    if (customer.kind === 'operator' && scopes.some((s) => s !== 'operator')) return again(problem('invalid-scope', 'The operator has no account: only operator rights can be given.'));
    const limits: { currencyId: bigint; dailyMax: bigint }[] = [];
    if (scopes.includes('spend')) {
      const currency = bank.currencies.find(limitCurrency);
      if (!currency) return again(problem('unknown-currency', 'Choose the currency of the limit.', { field: 'limit' }));
      const max = parsePositive(limitText, currency);
      if (!max.ok) return again(problem('invalid-amount', `A token that sends payments needs a daily limit: ${max.reason}.`, { field: 'limit' }));
      limits.push({ currencyId: currency.id, dailyMax: max.value });
    }
    const created = bank.tokens.create(customer.id, label, scopes as Scope[], limits);
    page(res, pages.tokensPage(context(req, res), customer, { created }), 201);
  });

  router.post('/tokens/:id/revoke', signedIn, (req, res) => {
    const id = /^[0-9]{1,18}$/.test(req.params.id as string) ? BigInt(req.params.id as string) : undefined;
    if (id === undefined || !bank.tokens.revoke(me(res).id, id)) return fail(req, res, problem('not-found', 'You have no token with that number.'));
    redirect(res, '/tokens', 'The token is revoked: the application can no longer use it.');
  });

  const transparentOnly = (req: Request, res: Response, next: NextFunction) => {
    if (me(res).kind === 'transparent') return next();
    fail(req, res, problem('not-found', 'Only transparent accounts have a key of their own.'));
  };

  router.get('/key', signedIn, transparentOnly, (req, res) => page(res, pages.keyPage(context(req, res, flash(res)), me(res))));

  const passwordOk = async (req: Request, res: Response): Promise<boolean> => {
    const customer = me(res);
    const key = `${req.ip ?? req.socket.remoteAddress}|${customer.name}`;
    if (bank.limiter.retryAfter(key) > 0) {
      page(res, pages.keyPage(context(req, res), customer, { problem: problem('too-many-attempts', 'Too many wrong passwords; wait a while.') }), 429);
      return false;
    }
    if (await bank.customers.authenticate(customer.name, field(req.body, 'password'))) return true;
    bank.limiter.fail(key);
    page(res, pages.keyPage(context(req, res), customer, { problem: problem('unauthorized', 'That password is not right.') }), 401);
    return false;
  };

  router.post('/key/export', signedIn, transparentOnly, async (req, res) => {
    if (!(await passwordOk(req, res))) return;
    const customer = me(res);
    const pem = bank.customers.identity(customer).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    bank.log.info({ customer: customer.name }, 'customer exported their key');
    res
      .type('application/x-pem-file')
      .setHeader('Cache-Control', 'no-store')
      .setHeader('Content-Disposition', `attachment; filename="${customer.name}@${bank.config.domain}.key.pem"`)
      .send(pem);
  });

  router.post('/key/leave', signedIn, transparentOnly, async (req, res) => {
    if (field(req.body, 'confirm') !== 'yes') {
      page(res, pages.keyPage(context(req, res), me(res), { problem: problem('invalid-request', 'Tick the box to confirm that you have your key.') }), 400);
      return;
    }
    if (!(await passwordOk(req, res))) return;
    const customer = me(res);
    await bank.stopTransparent(customer);
    bank.customers.close(customer);
    bank.log.info({ customer: customer.name }, 'transparent customer left with their key');
    locals(res).session = startSession(res, null);
    delete locals(res).customer;
    page(res, pages.goodbyePage(context(req, res), customer.entityId as string));
  });

  router.get('/operator', signedIn, asOperator, (req, res) => page(res, pages.operatorPage(context(req, res, flash(res)), bank.reconciler.report())));

  router.post('/operator/check', signedIn, asOperator, async (_req, res) => {
    const report = await bank.reconciler.checkAll();
    const bad = report.holders.filter((h) => h.status !== 'ok').length;
    redirect(res, '/operator', bad === 0 && report.ledger.balanced ? 'Every issuer reconciles with the books.' : `${bad} key(s) do not reconcile; see below.`);
  });

  router.post('/operator/held/:id/:action', signedIn, asOperator, (req, res) => {
    const id = /^[0-9]{1,18}$/.test(req.params.id as string) ? BigInt(req.params.id as string) : undefined;
    const action = req.params.action;
    if (id === undefined || (action !== 'assign' && action !== 'take')) return fail(req, res, problem('not-found', 'No such held deposit.'));
    const done = action === 'assign' ? bank.assignHeld(id, field(req.body, 'name').trim().toLowerCase()) : bank.takeHeld(id);
    if (done !== true) {
      page(res, pages.operatorPage(context(req, res), bank.reconciler.report(), { problem: problem('invalid-request', done) }), 400);
      return;
    }
    redirect(res, '/operator', action === 'assign' ? 'The deposit is credited.' : 'The deposit is booked as the bank\u2019s funds.');
  });

  return router;
}
