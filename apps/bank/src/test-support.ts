// Shared by the bank's tests (not built): the issuer's test pattern (a demo CA, a currency in a
// temp folder on loopback ports, names resolved to 127.0.0.1) plus a bank.com in front of it,
// an HTTPS client that verifies the bank's certificate, and a browser-less web session.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueServerCertificate, type CertificateAuthority } from '@lcp/crypto';
import { initCurrency, loadCurrency, startIssuer, type RunningIssuer } from '@lcp/issuer';
import { connectHolder, demoCa, loopback, newHolder, startTestIssuer, type TestHolder, type TestIssuer } from '@lcp/issuer/testing';

export { connectHolder, demoCa, loopback, newHolder, startTestIssuer, type TestHolder, type TestIssuer };
import { startBank, type RunningBank } from './app.js';
import { parseConfig } from './config.js';
import { createLogger } from './logger.js';
import { hashPassword } from './passwords.js';

/** A port nobody listens on right now (for an issuer that must come back on the same address). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** An issuer on fixed ports in `dir`, so that it can be stopped and started again with its ledger. */
export async function startIssuerAt(dir: string, domain: string, settings: Record<string, string> = {}): Promise<RunningIssuer> {
  const existing = await loadCurrency(dir).catch(() => undefined);
  if (!existing) {
    const [https, http] = [await freePort(), await freePort()];
    await initCurrency({
      dir,
      domain,
      ca: await demoCa(),
      settings: { LCP_HTTPS_PORT: String(https), LCP_HTTP_PORT: String(http), LCP_HOST: '127.0.0.1', LCP_LOG_LEVEL: 'silent', ...settings },
    });
  }
  return startIssuer(await loadCurrency(dir), { logger: createLogger('silent', 'issuer') });
}

export const OPERATOR_PASSWORD = 'operator password 1';

export interface TestBank {
  running: RunningBank;
  ca: CertificateAuthority;
  dir: string;
  domain: string;
  stop(): Promise<void>;
}

/** Other banks' HTTPS ports by domain, for name resolution between test banks. */
export const bankPorts = new Map<string, number>();

/** A bank on loopback with a CA-signed certificate for its domain, dealing in the issuers given. */
export async function startTestBank(
  issuers: { t: TestIssuer; scale?: number; extra?: Record<string, unknown> }[],
  settings: Record<string, string> = {},
  domain = 'bank.com',
  dir?: string,
): Promise<TestBank> {
  const ca = await demoCa();
  const folder = dir ?? (await mkdtemp(join(tmpdir(), 'lcp-bank-')));
  const issued = await issueServerCertificate(ca, { hostnames: [domain] });
  await writeFile(join(folder, 'cert.pem'), issued.certPem);
  await writeFile(join(folder, 'key.pem'), issued.keyPem, { mode: 0o600 });
  await writeFile(join(folder, 'ca.pem'), ca.certPem);
  const config = parseConfig({
    LCP_BANK_DOMAIN: domain,
    LCP_BANK_HOST: '127.0.0.1',
    LCP_BANK_PORT: '0',
    LCP_BANK_DATA_DIR: join(folder, 'data'),
    LCP_BANK_TLS_CERT: join(folder, 'cert.pem'),
    LCP_BANK_TLS_KEY: join(folder, 'key.pem'),
    LCP_BANK_CA: join(folder, 'ca.pem'),
    LCP_BANK_CURRENCIES: JSON.stringify(issuers.map((i) => ({ wsdl: i.t.issuer.wsdlUrl, scale: i.scale ?? 2, ...i.extra }))),
    LCP_BANK_SECRET: 'a test secret that is long enough to pass',
    LCP_BANK_OPERATOR_PASSWORD_HASH: await hashPassword(OPERATOR_PASSWORD, 10),
    LCP_BANK_SCRYPT_LOG_N: '10',
    LCP_BANK_RECONCILE_INTERVAL_MS: '600000',
    LCP_BANK_LOG_LEVEL: 'silent',
    ...settings,
  });
  const running = await startBank(config, { logger: createLogger('silent'), lookup: loopback, namePort: (d) => bankPorts.get(d) });
  bankPorts.set(domain, running.port);
  return {
    running,
    ca,
    dir: folder,
    domain,
    async stop() {
      await running.close();
      bankPorts.delete(domain);
      if (!dir) await rm(folder, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/** An HTTPS request to the bank, verifying its certificate against the demo CA. */
export function request(
  b: TestBank,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; form?: Record<string, string | string[]> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | undefined;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) {
    payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  if (options.form) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(options.form)) for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
    payload = params.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: b.domain, servername: b.domain, port: b.running.port, path, method, headers, ca: b.ca.certPem, lookup: loopback, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A browser-less visitor: keeps the session cookie and sends each form with the CSRF token of the last page. */
export class WebVisitor {
  cookie = '';
  csrf = '';
  last: Reply | undefined;

  constructor(readonly b: TestBank) {}

  async #send(method: string, path: string, form?: Record<string, string | string[]>): Promise<Reply> {
    const reply = await request(this.b, method, path, { ...(form ? { form } : {}), headers: this.cookie ? { cookie: this.cookie } : {} });
    const set = reply.headers['set-cookie'];
    if (set) this.cookie = (Array.isArray(set) ? set : [set]).map((c) => c.split(';')[0]).join('; ');
    const token = /name="_csrf" value="([^"]+)"/.exec(reply.text)?.[1];
    if (token) this.csrf = token;
    this.last = reply;
    return reply;
  }

  get(path: string): Promise<Reply> {
    return this.#send('GET', path);
  }

  /** Posts the form with the current CSRF token (unless `_csrf` is given); follows one 303. */
  async post(path: string, form: Record<string, string | string[]>, follow = true): Promise<Reply> {
    if (!this.csrf) await this.get('/signin');
    const reply = await this.#send('POST', path, { _csrf: this.csrf, ...form });
    const location = reply.headers.location;
    if (follow && reply.status === 303 && typeof location === 'string') return this.get(location);
    return reply;
  }

  async signUp(name: string, kind: 'opaque' | 'transparent' = 'opaque', password = `${name} password 1`): Promise<Reply> {
    await this.get('/signup');
    return this.post('/signup', { name, password, confirm: password, kind });
  }

  async signIn(name: string, password: string): Promise<Reply> {
    await this.get('/signin');
    return this.post('/signin', { name, password });
  }
}

/** Polls until `check` returns a value (or throws after `ms`). */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, ms = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
