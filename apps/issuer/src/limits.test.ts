// Hostile and oversized requests are refused in front of node-soap with a stable fault code,
// change nothing, and reveal no stack trace or path.
import https from 'node:https';
import tls from 'node:tls';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LCP_NAMESPACE, SOAP_PATH } from '@lcp/protocol';
import { loopback, newHolder, startTestIssuer, type TestHolder, type TestIssuer } from './test-support.js';

let t: TestIssuer;
let holder: TestHolder;

beforeAll(async () => {
  t = await startTestIssuer({ LCP_MAX_CONNECTIONS_PER_KEY: '2' });
  holder = await newHolder();
  await t.issuer.ledger.mint(holder.id, 1000_00n, 'fund');
});
afterAll(() => t.stop());

function post(
  body: string | Buffer,
  headers: Record<string, string> = {},
  agent?: https.Agent,
  as: TestHolder = holder,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: 'money.com',
        port: t.issuer.httpsPort,
        path: SOAP_PATH,
        method: 'POST',
        lookup: loopback,
        ca: t.ca.certPem,
        cert: as.certPem,
        key: as.keyPem,
        ...(agent ? { agent } : {}),
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `${LCP_NAMESPACE}#transferFunds`, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const envelope = (inner: string, prolog = '') =>
  `<?xml version="1.0"?>${prolog}<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:lcp="${LCP_NAMESPACE}"><soap:Body>${inner}</soap:Body></soap:Envelope>`;

const transfer = (fields: string) => envelope(`<lcp:transferFunds>${fields}</lcp:transferFunds>`);

async function expectRefused(response: { status: number; body: string }, code: string, status: number): Promise<void> {
  expect(response.body).toContain(`<faultcode>soap:Client.${code}</faultcode>`);
  expect(response.status).toBe(status);
  expect(response.body).not.toMatch(/\bat .*\(|\/work\/|node_modules|\.ts:\d|\.js:\d/);
  expect(await t.issuer.ledger.balance(holder.id)).toBe(1000_00n);
  expect((await t.issuer.ledger.totals()).sum).toBe(0n);
}

describe('hostile requests', () => {
  it('refuses a DTD and entity expansion (billion laughs) before parsing', async () => {
    const laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>';
    await expectRefused(await post(transfer('<amount>&lol2;</amount>').replace('?>', `?>${laughs}`)), 'xmlNotAllowed', 400);
  });

  it('refuses an external entity (XXE)', async () => {
    const xxe = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>';
    await expectRefused(await post(envelope('<lcp:transferFunds><transactionId>&xxe;</transactionId></lcp:transferFunds>', xxe)), 'xmlNotAllowed', 400);
  });

  it('refuses deep nesting', async () => {
    // 5,000 levels fit under the body limit; 20,000 are refused by size first (previous test)
    const deep = '<a>'.repeat(5_000) + '</a>'.repeat(5_000);
    await expectRefused(await post(transfer(deep)), 'tooDeep', 400);
  });

  it('refuses a body over the limit, declared or streamed', async () => {
    const big = transfer(`<transactionId>${'x'.repeat(70 * 1024)}</transactionId>`);
    await expectRefused(await post(big), 'requestTooLarge', 413);
    await expectRefused(await post(big, { 'transfer-encoding': 'chunked' }), 'requestTooLarge', 413);
  });

  it('a client that keeps sending a body over the limit and reads late still gets the 413', async () => {
    // The issuer answers at the limit while this client is still sending. Had it closed the
    // socket with our bytes unread, TCP would reset the connection, and the reset would destroy
    // the answer waiting, unread, in this client's buffers.
    const socket = tls.connect({ host: '127.0.0.1', port: t.issuer.httpsPort, servername: 'money.com', ca: t.ca.certPem, cert: holder.certPem, key: holder.keyPem });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.pause(); // reads nothing until the body is sent
    let received = '';
    socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
    const closed = new Promise((resolve) => {
      socket.once('close', resolve);
      socket.on('error', resolve);
    });
    socket.write(
      `POST ${SOAP_PATH} HTTP/1.1\r\nHost: money.com\r\nContent-Type: text/xml; charset=utf-8\r\n` +
        `SOAPAction: "${LCP_NAMESPACE}#transferFunds"\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    for (let i = 0; i < 64; i++) {
      socket.write(frame); // 1 MiB: well past the limit, while the answer is already on its way
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    socket.resume();
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    socket.destroy();
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).toContain('<faultcode>soap:Client.requestTooLarge</faultcode>');
  });

  it('refuses compressed bodies (no gzip bombs)', async () => {
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20));
    await expectRefused(await post(bomb, { 'content-encoding': 'gzip' }), 'unsupportedEncoding', 415);
  });

  it('refuses prototype-polluting element names', async () => {
    await expectRefused(await post(transfer('<__proto__><amount>1</amount></__proto__>')), 'malformedRequest', 400);
    await expectRefused(await post(transfer('<constructor>1</constructor>')), 'malformedRequest', 400);
  });

  it('refuses bad amounts and counters with their own codes', async () => {
    const fields = (amount: string, counter = '1') =>
      `<recipient>${'ab'.repeat(32)}</recipient><amount>${amount}</amount><transactionId>t</transactionId><messageCounter>${counter}</messageCounter>`;
    for (const amount of ['-1', '0', '1e309', '9223372036854775808', '1.001', '1,5', '0x10', '+1', '.5']) {
      await expectRefused(await post(transfer(fields(amount))), 'invalidAmount', 400);
    }
    await expectRefused(await post(transfer(fields('1', '9223372036854775808'))), 'invalidCounter', 400);
    await expectRefused(await post(transfer(fields('1', '0'))), 'invalidCounter', 400);
  });

  it('refuses a negative millisecondsWait', async () => {
    const response = await post(envelope('<lcp:getDeposits><millisecondsWait>-5</millisecondsWait></lcp:getDeposits>'), {
      soapaction: `${LCP_NAMESPACE}#getDeposits`,
    });
    await expectRefused(response, 'invalidWait', 400);
  });

  it('limits open connections per key', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 3 });
    const getDeposits = envelope('<lcp:getDeposits><millisecondsWait>1500</millisecondsWait></lcp:getDeposits>');
    const headers = { soapaction: `${LCP_NAMESPACE}#getDeposits` };
    const fresh = await newHolder(); // no connections left open by earlier tests
    // three long-polls at once need three connections; the third is over the limit of 2
    const poll = () => post(getDeposits, headers, agent, fresh);
    const answers = await Promise.all([poll(), poll(), poll()]);
    const refused = answers.filter((a) => a.body.includes('soap:Client.tooManyConnections'));
    expect(refused).toHaveLength(1);
    expect(refused[0]?.status).toBe(429);
    agent.destroy();
  });
});
