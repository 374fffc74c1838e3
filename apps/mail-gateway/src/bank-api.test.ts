// BankApi against a scripted bank on loopback: the answers a real bank gives only in rare cases
// (an issuer's refusal behind a 502, a token check that fails first and works later).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BankApi, BankApiError, BankTokenError } from './bank-api.js';

const wsdl = 'http://money.com/lcp.wsdl';
const servers: http.Server[] = [];

/** A bank whose answers `answer` scripts; every request is recorded. */
async function scriptedBank(answer: (req: http.IncomingMessage) => { status: number; body: unknown }) {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
    req.resume();
    req.on('end', () => {
      const { status, body } = answer(req);
      res.writeHead(status, { 'content-type': status < 300 ? 'application/json' : 'application/problem+json' });
      res.end(JSON.stringify(body));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

const order = { to: 'alice@bank.com', amount: '0.05', currency: wsdl, transactionId: 'refund_x' };

describe('BankApi', () => {
  it('takes a 502 payment-refused (the issuer refused, nothing moved) as refused, and other 5xx as unknown', async () => {
    let status = 502;
    let code = 'payment-refused';
    const bank = await scriptedBank(() => ({ status, body: { type: 'about:blank', code, status, title: 'The issuer refused the payment', detail: 'invalidRecipient' } }));
    const api = new BankApi({ url: bank.url, token: 't' });
    expect(await api.pay(order, 'k.1')).toEqual({ kind: 'refused', status: 502, code: 'payment-refused', detail: 'invalidRecipient' });
    code = 'issuer-unavailable';
    status = 503;
    await expect(api.pay(order, 'k.1')).rejects.toThrow(BankApiError);
  });

  it('checks the token is the expected customer once, before the first use, with the payment name normalised', async () => {
    const token: { customer?: string } = {};
    const bank = await scriptedBank((req) => {
      if (req.url === '/api/v1/token') return token.customer ? { status: 200, body: { customer: token.customer, scopes: ['payments:read'] } } : { status: 503, body: { code: 'unavailable' } };
      return { status: 404, body: { code: 'payment-not-found' } };
    });
    // the local part keeps its case (Bob); the domain's case does not matter
    const api = new BankApi({ url: bank.url, token: 't', customer: 'Bob@bank.com' });
    // the bank does not answer the check: nothing else is asked, and the check is made again next time
    await expect(api.received('pst_a', { wsdl, scale: 2 }, 0)).rejects.toThrow(BankApiError);
    expect(bank.requests).toEqual(['GET /api/v1/token']);
    token.customer = 'Bob@Bank.COM';
    expect(await api.received('pst_a', { wsdl, scale: 2 }, 0)).toBeUndefined();
    expect(await api.received('pst_b', { wsdl, scale: 2 }, 0)).toBeUndefined();
    expect(bank.requests.filter((r) => r === 'GET /api/v1/token')).toHaveLength(2);
  });

  it('does not use an account whose token is another customer\'s', async () => {
    const bank = await scriptedBank((req) =>
      req.url === '/api/v1/token' ? { status: 200, body: { customer: 'alice@bank.com' } } : { status: 200, body: { result: 'success', fee: '0', bankFee: '0' } },
    );
    const api = new BankApi({ url: bank.url, token: 't', customer: 'bob@bank.com' });
    await expect(api.pay(order, 'k.1')).rejects.toThrow(BankTokenError);
    await expect(api.received('pst_a', { wsdl, scale: 2 }, 0)).rejects.toThrow('the bank token given for bob@bank.com is for the customer alice@bank.com');
    // asked once, and never paid from
    expect(bank.requests).toEqual(['GET /api/v1/token']);
  });
});
