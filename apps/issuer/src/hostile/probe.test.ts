import https from 'node:https';
import { afterAll, beforeAll, it } from 'vitest';
import { LCP_NAMESPACE, SOAP_PATH } from '@lcp/protocol';
import { loopback, newHolder, startTestIssuer, type TestHolder, type TestIssuer } from '../test-support.js';

let fast: TestIssuer; let ref: TestIssuer; let h: TestHolder; let other: TestHolder;
beforeAll(async () => {
  [fast, ref] = await Promise.all([startTestIssuer({ LCP_SOAP_PATH: 'fast' }), startTestIssuer({ LCP_SOAP_PATH: 'reference' })]);
  h = await newHolder(); other = await newHolder();
  for (const t of [fast, ref]) await t.issuer.ledger.mint(h.id, 1000_00n, 'fund');
}, 20000);
afterAll(() => Promise.all([fast.stop(), ref.stop()]));

function post(t: TestIssuer, body: string, headers: Record<string, string> = {}, as: TestHolder | null = h) {
  return new Promise<{ status: number; body: string; ms: number }>((resolve, reject) => {
    const start = performance.now();
    const req = https.request({ host: 'money.com', port: t.issuer.httpsPort, path: SOAP_PATH, method: 'POST', lookup: loopback, ca: t.ca.certPem, agent: false,
      ...(as ? { cert: as.certPem, key: as.keyPem } : {}),
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${LCP_NAMESPACE}#transferFunds"`, ...headers } }, (res) => {
      const chunks: Buffer[] = []; res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: performance.now() - start }));
    });
    req.on('error', reject); req.end(body);
  });
}
const env = (inner: string, extra = '') => `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:lcp="${LCP_NAMESPACE}"${extra}><soap:Body>${inner}</soap:Body></soap:Envelope>`;
let counter = 1;
const fields = (o: Record<string, string> = {}) => { const f = { recipient: other.id, amount: '1', transactionId: 't', messageCounter: String(counter++), ...o };
  return Object.entries(f).map(([k, v]) => `<${k}>${v}</${k}>`).join(''); };
const tf = (inner: string) => env(`<lcp:transferFunds>${inner}</lcp:transferFunds>`);

it('probe', async () => {
  const cases: Array<[string, string, Record<string, string>?, (TestHolder | null)?]> = [
    ['attr toString', tf(fields({}).replace('<amount>', '<amount toString="1">'))],
    ['attr hasOwn on op', env(`<lcp:transferFunds hasOwnProperty="1">${fields()}</lcp:transferFunds>`)],
    ['attr constructor', tf(fields({}).replace('<amount>', '<amount constructor="1">'))],
    ['attr __proto__', tf(fields({}).replace('<amount>', '<amount __proto__="1">'))],
    ['prefix toString', env(`<toString:transferFunds xmlns:toString="${LCP_NAMESPACE}">${fields()}</toString:transferFunds>`)],
    ['xsi type toString', tf(fields({}).replace('<amount>', '<amount xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="toString">'))],
    ['xsi type tns:toString', tf(fields({}).replace('<amount>', `<amount xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="lcp:toString">`))],
    ['id attr', tf(fields({}).replace('<amount>', '<amount id="toString">'))],
    ['href', tf(fields({}).replace('<amount>1</amount>', '<amount href="#x"/>'))],
    ['multiref', tf(fields({}).replace('<amount>1</amount>', '<amount href="#x"/><multiRef id="x">1</multiRef>'))],
  ];
  for (const [name, body, headers, as] of cases) {
    for (const [label, t] of [['fast', fast], ['ref', ref]] as const) {
      const r = await post(t, body, headers, as === undefined ? h : as);
      console.log(`${name.padEnd(22)} ${label} ${r.status} ${Math.round(r.ms)}ms ${JSON.stringify(r.body)}`);
    }
  }
  for (const t of [fast, ref]) console.log(await t.issuer.ledger.balance(h.id), (await t.issuer.ledger.totals()));
}, 120000);
