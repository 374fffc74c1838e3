// The fast path and node-soap (the reference path) answer byte-for-byte alike: two issuers,
// one per path, the same holders, the same seeded sequence of requests, compared answer by answer.
import https from 'node:https';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LCP_NAMESPACE, SOAP_PATH } from '@lcp/protocol';
import { loopback, newHolder, startTestIssuer, type TestHolder, type TestIssuer } from './test-support.js';

let fast: TestIssuer;
let reference: TestIssuer;
let holders: TestHolder[];

beforeAll(async () => {
  const settings = { LCP_FEE_RATE_PPM: '12000', LCP_FEE_RESUMED_RATE_PPM: '10000', LCP_GETDEPOSITS_FEE: '1' };
  [fast, reference] = await Promise.all([
    startTestIssuer({ ...settings, LCP_SOAP_PATH: 'fast' }),
    startTestIssuer({ ...settings, LCP_SOAP_PATH: 'reference' }),
  ]);
  holders = await Promise.all(Array.from({ length: 4 }, () => newHolder()));
  for (const t of [fast, reference]) for (const h of holders) await t.issuer.ledger.mint(h.id, 500_00n, 'fund');
});
afterAll(() => Promise.all([fast.stop(), reference.stop()]));

function post(t: TestIssuer, holder: TestHolder, agent: https.Agent, operation: string, body: string) {
  return new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
    const req = https.request(
      {
        host: 'money.com',
        port: t.issuer.httpsPort,
        path: SOAP_PATH,
        method: 'POST',
        agent,
        lookup: loopback,
        ca: t.ca.certPem,
        cert: holder.certPem,
        key: holder.keyPem,
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${LCP_NAMESPACE}#${operation}"` },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

it('answers 400 seeded requests identically on the fast and the reference path', async () => {
  let seed = 5;
  const next = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  const pick = <T>(items: readonly T[]): T => items[next(items.length)] as T;
  const counters = holders.map(() => 0);
  const agents = [fast, reference].map(() => holders.map(() => new https.Agent({ keepAlive: true, maxSockets: 1 })));
  const kinds = { fast: 0, faults: 0, deposits: 0 };

  for (let i = 0; i < 400; i++) {
    const who = next(holders.length);
    const holder = holders[who] as TestHolder;
    let operation: string;
    let inner: string;
    if (next(3) > 0) {
      operation = 'transferFunds';
      const step = pick([1, 1, 1, 0, -1]); // mostly fresh counters, some retransmissions and stale ones
      counters[who] = Math.max(1, (counters[who] ?? 0) + step);
      const recipient = pick([...holders.map((h) => h.id), 'BOCF...7E24', holder.id]);
      const amount = pick(['1', '10.5', '100', '0.01', '9999', '-1', '1.001', '0']);
      inner =
        `<recipient>${recipient}</recipient><amount>${amount}</amount>` +
        `<transactionId>tx-${i % 37}</transactionId><messageCounter>${counters[who]}</messageCounter>` +
        pick(['', '', '<userid>bob</userid>', '<userid/>']);
    } else {
      operation = 'getDeposits';
      inner = `<millisecondsWait>0</millisecondsWait>${pick(['', '<acknowledge>0</acknowledge>', '<acknowledge>1</acknowledge>', '<acknowledge>999</acknowledge>'])}`;
    }
    const prefix = pick(['lcp', 'ns0', 'ns1']);
    const body =
      `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:${prefix}="${LCP_NAMESPACE}">` +
      `<soap:Body><${prefix}:${operation}>${inner}</${prefix}:${operation}></soap:Body></soap:Envelope>`;
    const [a, b] = await Promise.all(
      [fast, reference].map((t, k) => post(t, holder, (agents[k] as https.Agent[])[who] as https.Agent, operation, body)),
    );
    expect(a, `request ${i}: ${body}`).toEqual(b);
    if (a?.body.includes('<soap:Fault>')) kinds.faults++;
    if (a?.body.includes('<deposit>')) kinds.deposits++;
    kinds.fast++;
  }
  for (const h of holders) expect(await fast.issuer.ledger.balance(h.id)).toBe(await reference.issuer.ledger.balance(h.id));
  expect((await fast.issuer.ledger.totals()).sum).toBe(0n);
  // the sequence covered answers, faults and deposits alike
  expect(kinds.faults).toBeGreaterThan(20);
  expect(kinds.deposits).toBeGreaterThan(10);
  expect(kinds.fast - kinds.faults).toBeGreaterThan(100);
  for (const list of agents) for (const agent of list) agent.destroy();
});
