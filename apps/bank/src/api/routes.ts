// The agents' HTTP API (documented in ../../openapi.json): bearer tokens with scopes, JSON in
// and out, every error an RFC 7807 problem document with a stable type.
import { readFileSync } from 'node:fs';
import express, { type NextFunction, type Request, type Response } from 'express';
import { childTraceparent, isTransactionId, parseTraceparent } from '@lcp/protocol';
import type { Bank, PaymentRow } from '../bank.js';
import { format, type Currency } from '../currencies.js';
import type { Customer } from '../customers.js';
import { nowIso } from '../db.js';
import { reason } from '../logger.js';
import { isProblem, problem, sendProblem, type Problem } from '../problems.js';
import type { Scope, Token } from '../tokens.js';

/** The longest a payments long-poll waits, whatever `wait` asks for. */
export const MAX_WAIT_MS = 30_000;

export const OPENAPI_DOCUMENT: unknown = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8'));

interface ApiLocals {
  token: Token;
  customer: Customer;
  detail?: string;
}

const locals = (res: Response): ApiLocals => res.locals as ApiLocals;

function paymentJson(row: PaymentRow, currency: Currency): Record<string, string> {
  return {
    transactionId: row.transaction_id,
    amount: format(row.amount, currency),
    currency: currency.wsdl,
    receivedAt: row.completed_at ?? row.created_at,
    paymentId: String(row.id),
  };
}

export function apiRoutes(bank: Bank): express.Router {
  const router = express.Router();
  const fail = (req: Request, res: Response, p: Problem) => {
    locals(res).detail = p.problem;
    sendProblem(res, p, req.originalUrl.split('?')[0]);
  };

  router.get('/openapi.json', (_req, res) => void res.json(OPENAPI_DOCUMENT));

  // bearer tokens only: the API never looks at cookies, so it needs no CSRF defence
  router.use('/v1', (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer ([A-Za-z0-9_-]{1,100})$/.exec(header);
    const token = match?.[1] ? bank.tokens.authenticate(match[1]) : undefined;
    const customer = token && bank.customers.byId(token.customerId);
    if (!token || !customer || customer.closedAt) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="lcp-bank"');
      return sendProblem(res, problem('unauthorized', header ? 'The token is unknown or revoked.' : 'Send Authorization: Bearer <token>; customers make tokens on the Agents page.'));
    }
    res.locals.token = token;
    res.locals.customer = customer;
    res.setHeader('Cache-Control', 'no-store');
    res.on('finish', () => {
      if (!bank.closed) bank.tokens.recordUse(token.id, { method: req.method, path: req.originalUrl.split('?')[0] ?? '', status: res.statusCode, ...(locals(res).detail ? { detail: locals(res).detail } : {}) });
    });
    next();
  });

  const need = (scope: Scope) => (req: Request, res: Response, next: NextFunction) => {
    if (locals(res).token.scopes.includes(scope)) return next();
    fail(req, res, problem('insufficient-scope', `This needs the scope ${scope}; the token has ${locals(res).token.scopes.join(', ') || 'none'}.`, { scope }));
  };

  const currencyParam = (req: Request, res: Response): Currency | undefined => {
    const text = req.query.currency;
    const currency = typeof text === 'string' ? bank.currencies.find(text) : undefined;
    if (!currency) fail(req, res, problem('unknown-currency', `Give ?currency=<the issuer's WSDL URL>, one of: ${bank.currencies.list.map((c) => c.wsdl).join(', ')}.`));
    return currency;
  };

  router.get('/v1/token', (_req, res) => {
    const { token } = locals(res);
    res.json({
      label: token.label,
      customer: bank.nameFor(locals(res).customer.name),
      scopes: token.scopes,
      limits: token.limits.map((l) => {
        const c = bank.currencies.byId(l.currencyId);
        return { currency: c.wsdl, dailyMax: format(l.dailyMax, c), spentToday: format(bank.tokens.spentToday(token.id, c.id), c) };
      }),
    });
  });

  router.get('/v1/balances', need('balances:read'), (_req, res) => {
    res.json({
      balances: bank.balances(locals(res).customer).map(({ currency, balance }) => ({
        currency: currency.wsdl,
        name: currency.name,
        scale: currency.scale,
        balance: format(balance, currency),
      })),
    });
  });

  router.get('/v1/payments', need('payments:read'), (req, res) => {
    const currency = req.query.currency === undefined ? undefined : currencyParam(req, res);
    if (req.query.currency !== undefined && !currency) return;
    const limitText = typeof req.query.limit === 'string' ? req.query.limit : '50';
    if (!/^[0-9]{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 1000) {
      return fail(req, res, problem('invalid-request', 'limit must be a whole number from 1 to 1000.'));
    }
    const rows = bank
      .history(locals(res).customer, { ...(currency ? { currencyId: currency.id } : {}), direction: 'in', limit: Number(limitText) })
      .filter((r) => r.status === 'completed');
    res.json({ payments: rows.map((r) => paymentJson(r, bank.currencies.byId(r.currency_id))) });
  });

  // Figure 2, step 5: Bob's storage node asks whether video.com's payment has arrived
  router.get('/v1/payments/:transactionId', need('payments:read'), async (req, res) => {
    const transactionId = req.params.transactionId as string;
    if (!isTransactionId(transactionId)) {
      return fail(req, res, problem('invalid-transaction-id', 'A transactionId is 1 to 128 printable ASCII characters, without <, > or &.'));
    }
    const currency = currencyParam(req, res);
    if (!currency) return;
    const waitText = typeof req.query.wait === 'string' ? req.query.wait : '0';
    if (!/^[0-9]{1,9}$/.test(waitText)) return fail(req, res, problem('invalid-request', 'wait is a number of milliseconds.'));
    const wait = Math.min(Number(waitText), MAX_WAIT_MS);
    const { customer } = locals(res);
    let row = bank.incoming(customer, currency, transactionId);
    if (!row && wait > 0) {
      const deadline = Date.now() + wait;
      let waiting = true;
      await new Promise<void>((done) => {
        const finish = () => {
          waiting = false;
          clearTimeout(timer);
          unsubscribe();
          req.off('close', finish);
          done();
        };
        const timer = setTimeout(finish, wait);
        const unsubscribe = bank.events.subscribe(customer.id, (event) => {
          if (event.direction === 'in' && event.currency === currency.wsdl && event.transactionId === transactionId) finish();
        });
        req.on('close', finish);
        // step 6: ask the issuer now, rather than waiting for the background long-poll, in the
        // asker's trace when it sent one; an issuer that cannot be reached (restarting) is asked
        // again until the wait is over
        const traceparent = req.header('traceparent');
        const link = bank.linkFor(customer, currency);
        void (async () => {
          for (let delay = 250; link && waiting && !bank.closed; delay = Math.min(delay * 2, 2_000)) {
            try {
              await link.collectNow(parseTraceparent(traceparent) ? { traceparent: childTraceparent(traceparent) } : {});
              return;
            } catch (error) {
              bank.log.warn({ reason: reason(error) }, 'immediate collection failed');
              if (Date.now() + delay >= deadline) return;
              await new Promise((resolve) => setTimeout(resolve, delay));
            }
          }
        })();
        // it may have been booked between the first look and the subscription
        if (bank.incoming(customer, currency, transactionId)) finish();
      });
      if (bank.closed || res.writableEnded || req.destroyed) return;
      row = bank.incoming(customer, currency, transactionId);
    }
    if (!row) {
      return fail(req, res, problem('payment-not-found', `No payment with transactionId ${transactionId} in ${currency.name} has been credited to ${bank.nameFor(customer.name)}${wait > 0 ? ` (waited ${wait} ms)` : ''}.`));
    }
    res.json(paymentJson(row, currency));
  });

  router.post('/v1/payments', need('spend'), express.json({ limit: '16kb' }), async (req, res) => {
    const { token, customer } = locals(res);
    const body = req.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail(req, res, problem('invalid-request', 'Send a JSON object.'));
    for (const name of ['to', 'amount', 'currency', 'transactionId'] as const) {
      if (typeof body[name] !== 'string') return fail(req, res, problem(name === 'amount' ? 'invalid-amount' : 'invalid-request', `${name} is required, as a string${name === 'amount' ? ' such as "1.5"' : ''}.`));
    }
    if (body.userid !== undefined && typeof body.userid !== 'string') return fail(req, res, problem('invalid-userid', 'userid is a string.'));

    const key = req.get('idempotency-key');
    const request = JSON.stringify([body.to, body.amount, body.currency, body.transactionId, body.userid ?? null]);
    if (key !== undefined) {
      if (!/^[\x21-\x7e]{1,100}$/.test(key)) return fail(req, res, problem('invalid-request', 'Idempotency-Key is 1 to 100 printable characters.'));
      const seen = bank.db.prepare('SELECT request, status, body FROM idempotency WHERE token_id = ? AND key = ?').get(token.id, key) as
        | { request: string; status: bigint | null; body: string | null }
        | undefined;
      if (seen) {
        if (seen.request !== request || seen.status === null) {
          return fail(req, res, problem('idempotency-conflict', seen.status === null ? 'The first request with this key is still running.' : 'This key was used for a different payment.'));
        }
        res.setHeader('Idempotent-Replayed', 'true');
        return void res.status(Number(seen.status)).type('json').send(seen.body);
      }
      bank.db.prepare('INSERT INTO idempotency (token_id, key, request, created_at) VALUES (?, ?, ?, ?)').run(token.id, key, request, nowIso());
    }
    const outcome = await bank.payments.send({
      customer,
      currency: body.currency as string,
      to: body.to as string,
      amount: body.amount,
      transactionId: body.transactionId as string,
      ...(typeof body.userid === 'string' && body.userid !== '' ? { userid: body.userid } : {}),
      tokenId: token.id,
    });
    if (bank.closed) return;
    if (isProblem(outcome)) {
      // a refused request moved nothing: the same key may be used again
      if (key !== undefined) bank.db.prepare('DELETE FROM idempotency WHERE token_id = ? AND key = ?').run(token.id, key);
      return fail(req, res, outcome);
    }
    const c = outcome.currency;
    const status = outcome.status === 'sending' || outcome.status === 'unknown' ? 202 : 200;
    const json = JSON.stringify({
      result: outcome.result,
      fee: format(outcome.fee, c),
      bankFee: format(outcome.bankFee, c),
      status: outcome.status,
      paymentId: String(outcome.paymentId),
      transactionId: outcome.transactionId,
      currency: c.wsdl,
    });
    locals(res).detail = `${outcome.result}: ${body.amount as string} to ${(body.to as string).slice(0, 24)}`;
    if (key !== undefined) bank.db.prepare('UPDATE idempotency SET status = ?, body = ? WHERE token_id = ? AND key = ?').run(status, json, token.id, key);
    res.status(status).type('json').send(json);
  });

  router.get('/v1/operator/reconciliation', need('operator'), (_req, res) => {
    const report = bank.reconciler.report();
    res.json({
      at: report.at,
      ledger: report.ledger,
      held: report.held,
      unknownPayments: report.unknownPayments,
      pendingPayments: report.pendingPayments,
      holders: report.holders.map((h) => ({
        holder: h.holder,
        owner: h.owner,
        ...(h.customerName ? { customer: h.customerName } : {}),
        currency: h.currency.wsdl,
        status: h.status,
        checkedAt: h.checkedAt ?? null,
        issuerBalance: h.issuerBalance === undefined ? null : format(h.issuerBalance, h.currency),
        books: format(-h.books.issuer, h.currency),
        customers: format(h.books.customer, h.currency),
        held: format(h.books.held, h.currency),
        income: format(h.books.income, h.currency),
        inFlight: format(h.books.inFlight, h.currency),
        uncredited: format(h.uncredited, h.currency),
        difference: h.difference === undefined ? null : format(h.difference, h.currency),
        ...(h.detail ? { detail: h.detail } : {}),
      })),
    });
  });

  router.get('/v1/operator/held', need('operator'), (_req, res) => {
    res.json({
      held: bank.held().map((r) => {
        const c = bank.currencies.byId(r.currency_id);
        return { id: String(r.id), transactionId: r.transaction_id, amount: format(r.amount, c), currency: c.wsdl, userid: r.userid, reason: r.note, receivedAt: r.created_at };
      }),
    });
  });

  router.use('/v1', (req, res) => fail(req, res, problem('not-found', 'No such API route; see /api/openapi.json.')));

  return router;
}
