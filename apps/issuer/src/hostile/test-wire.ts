// Wire helpers for hostile.test.ts: envelopes built by hand (so any element can be wrong),
// HTTPS requests with or without a client certificate, raw bytes over TLS, and the checks
// every refusal must pass (a stable code, nothing changed, no stack or path in the body).
import https from 'node:https';
import tls from 'node:tls';
import { expect } from 'vitest';
import { LCP_NAMESPACE, SOAP_PATH } from '@lcp/protocol';
import type { IssuerLedger } from '@lcp/issuer-core';
import { loopback, type TestHolder } from '../test-support.js';

/** Where requests go: an in-process test issuer, or a spawned `lcp-issuer serve`. */
export interface Target {
  issuer: { httpsPort: number };
  ca: { certPem: string };
}

export const SOAP_11 = 'http://schemas.xmlsoap.org/soap/envelope/';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

/** A SOAP 1.1 envelope around `inner`, with the LCP namespace bound to `lcp:`. */
export function envelope(inner: string, options: { prolog?: string; header?: string; attributes?: string } = {}): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?>${options.prolog ?? ''}` +
    `<soap:Envelope xmlns:soap="${SOAP_11}" xmlns:lcp="${LCP_NAMESPACE}"${options.attributes ?? ''}>` +
    `${options.header !== undefined ? `<soap:Header>${options.header}</soap:Header>` : ''}` +
    `<soap:Body>${inner}</soap:Body></soap:Envelope>`
  );
}

export const elements = (fields: Record<string, string>): string =>
  Object.entries(fields)
    .map(([name, value]) => `<${name}>${value}</${name}>`)
    .join('');

export const transferEnvelope = (inner: string, options?: Parameters<typeof envelope>[1]): string =>
  envelope(`<lcp:transferFunds>${inner}</lcp:transferFunds>`, options);

export const getDepositsEnvelope = (inner: string, options?: Parameters<typeof envelope>[1]): string =>
  envelope(`<lcp:getDeposits>${inner}</lcp:getDeposits>`, options);

export const action = (operation: string): Record<string, string> => ({ soapaction: `"${LCP_NAMESPACE}#${operation}"` });

/**
 * POSTs `body` to the issuer's SOAP endpoint (or `path`) as `as` (null: no client certificate). Without an
 * agent each request is its own TLS connection, so a refusal that closes it disturbs nothing else.
 */
export function post(
  t: Target,
  body: string | Buffer,
  options: { headers?: Record<string, string>; as?: TestHolder | null; agent?: https.Agent; path?: string } = {},
): Promise<Answer> {
  const as = options.as === undefined ? undefined : options.as;
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const req = https.request(
      {
        host: 'money.com',
        port: t.issuer.httpsPort,
        path: options.path ?? SOAP_PATH,
        method: 'POST',
        lookup: loopback,
        ca: t.ca.certPem,
        ...(as ? { cert: as.certPem, key: as.keyPem } : {}),
        agent: options.agent ?? false,
        headers: { 'content-type': 'text/xml; charset=utf-8', ...action('transferFunds'), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - began,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Writes raw bytes on a new TLS connection and collects what comes back until the server closes
 * the connection or `waitMs` pass (then the client closes it).
 */
export function exchange(
  t: Target,
  holder: TestHolder,
  bytes: string,
  waitMs = 3_000,
): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const socket = tls.connect(
      { host: '127.0.0.1', port: t.issuer.httpsPort, servername: 'money.com', ca: t.ca.certPem, cert: holder.certPem, key: holder.keyPem },
      () => {
        socket.write(bytes);
        timer = setTimeout(() => {
          socket.destroy();
          resolve({ text, closedByServer: false });
        }, waitMs);
      },
    );
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ text, closedByServer: true });
    });
    socket.once('error', (error) => (text === '' && timer === undefined ? reject(error) : undefined));
  });
}

/** Stack frames, file paths, source positions: nothing of the sort may leave the server. */
export function expectNoLeak(body: string): void {
  expect(body).not.toMatch(/\n\s*at\s|\bat\s+(?:async\s+)?[\w$.<>[\]]+\s+\(|\bat\s+(?:file|node):/);
  for (const needle of ['/work', 'node_modules', '.ts:', '.js:']) expect(body).not.toContain(needle);
}

export interface LedgerView {
  totals: Awaited<ReturnType<IssuerLedger['totals']>>;
  balances: bigint[];
}

export async function ledgerView(ledger: IssuerLedger, accounts: readonly string[]): Promise<LedgerView> {
  const [totals, ...balances] = await Promise.all([ledger.totals(), ...accounts.map((account) => ledger.balance(account))]);
  return { totals: totals as LedgerView['totals'], balances: balances as bigint[] };
}

/** Our SOAP 1.1 fault with this code and HTTP status, and nothing else in the body. */
export function expectFault(answer: Answer, faultcode: string, status: number): void {
  expect(answer.body, answer.body.slice(0, 400)).toContain(`<faultcode>${faultcode}</faultcode>`);
  expect(answer.status).toBe(status);
  expect(String(answer.headers['content-type'])).toMatch(/xml/);
  expect(answer.body).toMatch(/^<\?xml version="1\.0" encoding="utf-8"\?><soap:Envelope xmlns:soap="http:\/\/schemas\.xmlsoap\.org\/soap\/envelope\/"[^>]*><soap:Body><soap:Fault><faultcode>[^<]+<\/faultcode><faultstring>[^<]*<\/faultstring><\/soap:Fault><\/soap:Body><\/soap:Envelope>$/);
  expect(answer.body.length).toBeLessThan(1024); // the fault never echoes the request
  expectNoLeak(answer.body);
}
