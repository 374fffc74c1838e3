// A corpus of hostile requests, each against both SOAP paths (LCP_SOAP_PATH=fast and reference)
// where the path could matter. Every refusal must carry a stable code and HTTP status, change
// nothing in the ledger, and show no stack frame or path. limits.test.ts has the basics (DTD,
// XXE by file, 5,000-deep nesting, oversize bodies, gzip, __proto__, the per-key connection
// limit); this file goes further.
import http from 'node:http';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transferFee, type IssuerLedger } from '@lcp/issuer-core';
import { LCP_NAMESPACE, LIMITS, MAX_MINOR_UNITS, SOAP_PATH, decodeGetDepositsRequest, formatAmount } from '@lcp/protocol';
import { initCurrency, loadCurrency, openCurrencyLedger } from './currency.js';
import { demoCa, newHolder, startTestIssuer, type TestHolder, type TestIssuer } from './test-support.js';
import {
  action,
  elements,
  envelope,
  exchange,
  expectFault,
  expectNoLeak,
  getDepositsEnvelope,
  ledgerView,
  post,
  transferEnvelope,
  type Answer,
  type Target,
} from './hostile/test-wire.js';
import { residentBytes, serve, type Served } from './hostile/test-serve.js';

const PATHS = ['fast', 'reference'] as const;
type SoapPath = (typeof PATHS)[number];

const HEADERS_TIMEOUT_MS = 10_000; // app.ts
const HANDSHAKE_TIMEOUT_MS = 10_000; // app.ts
const NODE_CONNECTIONS_CHECK_MS = 30_000; // Node's default http.Server connectionsCheckingInterval
const FUNDS = 1000_00n;
const WHALE_FUNDS = 9_000_000_000_000_000_000n; // minor units: within 2^63-1, so the cap must be raised
const MAX_COUNTER = LIMITS.maxMessageCounter; // 2^63-1

const issuers = {} as Record<SoapPath, TestIssuer>;
let holder: TestHolder; // funded; sends the refused requests
let payee: TestHolder; // a valid recipient
let victim: TestHolder; // funded; must never be touched by anyone else's request
let attacker: TestHolder; // funded; names the victim in its requests
let whale: TestHolder; // holds 9e18 minor units: amounts at the int64 edge
let watched: string[];
let counter = 1_000; // one increasing counter for every sender: gaps are allowed
const nextCounter = (): string => String(counter++);

// ---- a local HTTP listener that XXE payloads point at: it must receive nothing ------------
let bait: http.Server;
let baitHits: string[] = [];
let baitUrl: string;

// ---- slow clients, started first and checked last (they take 10 to 30 s of wall time) ----
interface SlowOutcome {
  closedAfterMs: number;
  closedByServer: boolean;
  received: string;
  bytesSent: number;
}
let slowloris: Promise<SlowOutcome>;
let stalledHandshake: Promise<SlowOutcome>;

/** A TLS connection that sends its request headers one byte every 500 ms and never finishes them. */
function startSlowloris(t: TestIssuer, as: TestHolder, capMs: number): Promise<SlowOutcome> {
  return new Promise((resolve) => {
    const began = performance.now();
    const headers = `POST /lcp HTTP/1.1\r\nHost: money.com\r\nContent-Type: text/xml\r\nX-Slow: ${'a'.repeat(1_000)}`;
    let sent = 0;
    let received = '';
    let drip: NodeJS.Timeout | undefined;
    const socket = tls.connect(
      { host: '127.0.0.1', port: t.issuer.httpsPort, servername: 'money.com', ca: t.ca.certPem, cert: as.certPem, key: as.keyPem },
      () => {
        drip = setInterval(() => socket.write(headers.charAt(sent++ % headers.length)), 500);
      },
    );
    const cap = setTimeout(() => finish(false), capMs);
    const finish = (byServer: boolean): void => {
      clearInterval(drip);
      clearTimeout(cap);
      socket.destroy();
      resolve({ closedAfterMs: performance.now() - began, closedByServer: byServer, received, bytesSent: sent });
    };
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.once('close', () => finish(true));
    socket.on('error', () => undefined);
  });
}

/** A TCP connection that starts a TLS ClientHello and never completes it. */
function startStalledHandshake(port: number, capMs: number): Promise<SlowOutcome> {
  return new Promise((resolve) => {
    const began = performance.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write(Buffer.from([0x16, 0x03, 0x01])));
    const cap = setTimeout(() => finish(false), capMs);
    const finish = (byServer: boolean): void => {
      clearTimeout(cap);
      socket.destroy();
      resolve({ closedAfterMs: performance.now() - began, closedByServer: byServer, received: '', bytesSent: 3 });
    };
    socket.once('close', () => finish(true));
    socket.on('error', () => undefined);
  });
}

beforeAll(async () => {
  const settings = { LCP_ISSUANCE_CAP: MAX_MINOR_UNITS.toString() };
  const [fast, reference] = await Promise.all(PATHS.map((path) => startTestIssuer({ ...settings, LCP_SOAP_PATH: path })));
  issuers.fast = fast as TestIssuer;
  issuers.reference = reference as TestIssuer;
  // the slow clients first, so that their 10 to 30 s overlap the rest of the file
  const slowHolder = await newHolder();
  slowloris = startSlowloris(issuers.fast, slowHolder, HEADERS_TIMEOUT_MS + NODE_CONNECTIONS_CHECK_MS + 5_000);
  stalledHandshake = startStalledHandshake(issuers.fast.issuer.httpsPort, HANDSHAKE_TIMEOUT_MS + 5_000);

  const made = await Promise.all(Array.from({ length: 5 }, () => newHolder()));
  [holder, payee, victim, attacker, whale] = made as [TestHolder, TestHolder, TestHolder, TestHolder, TestHolder];
  watched = [holder, payee, victim, attacker, whale].map((h) => h.id);
  for (const t of Object.values(issuers)) {
    for (const h of [holder, victim, attacker]) await t.issuer.ledger.mint(h.id, FUNDS, `fund-${h.id.slice(0, 8)}`);
    await t.issuer.ledger.mint(whale.id, WHALE_FUNDS, 'fund-whale');
  }

  bait = http.createServer((req, res) => {
    baitHits.push(`${req.method} ${req.url}`);
    res.end('<!ENTITY bait "fetched">');
  });
  await new Promise<void>((resolve) => bait.listen(0, '127.0.0.1', resolve));
  baitUrl = `http://127.0.0.1:${(bait.address() as net.AddressInfo).port}`;
  // the listener must be able to see a fetch, or "it received nothing" proves nothing
  await (await fetch(`${baitUrl}/self-check`)).text();
  expect(baitHits).toEqual(['GET /self-check']);
  baitHits = [];
}, 30_000);

afterAll(async () => {
  await Promise.all([...Object.values(issuers).map((t) => t.stop()), new Promise((resolve) => bait.close(resolve))]);
});

/** Sends `body` on `path` and expects our fault, an unchanged ledger and no leak. */
async function refused(
  path: SoapPath,
  body: string | Buffer,
  code: string,
  status: number,
  options: Parameters<typeof post>[2] = {},
): Promise<Answer> {
  const { ledger } = issuers[path].issuer;
  const before = await ledgerView(ledger, watched);
  const answer = await post(issuers[path], body, { as: holder, ...options });
  expectFault(answer, `soap:Client.${code}`, status);
  expect(await ledgerView(ledger, watched)).toEqual(before);
  return answer;
}

/** A valid transferFunds body from anyone to the payee, with `overrides` replacing elements. */
const validFields = (overrides: Record<string, string> = {}): Record<string, string> => ({
  recipient: payee.id,
  amount: '1',
  transactionId: 'hostile',
  messageCounter: nextCounter(),
  ...overrides,
});
const validTransfer = (overrides: Record<string, string> = {}): string => elements(validFields(overrides));

describe.each(PATHS)('on the %s path', (path) => {
  const t = (): TestIssuer => issuers[path];

  it('refuses DTDs that point at an HTTP server, and fetches nothing', async () => {
    const xxe = `<!DOCTYPE x [<!ENTITY xxe SYSTEM "${baitUrl}/entity">]>`;
    await refused(path, transferEnvelope(validTransfer({ transactionId: '&xxe;' }), { prolog: xxe }), 'xmlNotAllowed', 400);
    const externalDtd = `<!DOCTYPE soap:Envelope SYSTEM "${baitUrl}/x.dtd">`;
    await refused(path, transferEnvelope(validTransfer(), { prolog: externalDtd }), 'xmlNotAllowed', 400);
    const parameterEntity = `<!DOCTYPE x [<!ENTITY % p SYSTEM "${baitUrl}/p.dtd"> %p;]>`;
    await refused(path, transferEnvelope(validTransfer(), { prolog: parameterEntity }), 'xmlNotAllowed', 400);
    // no DTD, so past the guard: XInclude and schemaLocation are never followed either
    const xinclude = `<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="${baitUrl}/xinclude" parse="text"/>`;
    await refused(path, transferEnvelope(validTransfer({ transactionId: xinclude })), 'invalidTransactionId', 400);
    const schemaLocation = ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="${LCP_NAMESPACE} ${baitUrl}/lcp.xsd"`;
    await refused(path, transferEnvelope(validTransfer({ amount: '0' }), { attributes: schemaLocation }), 'invalidAmount', 400);
    await new Promise((resolve) => setTimeout(resolve, 200)); // a fetch would have had time to arrive
    expect(baitHits).toEqual([]);
  });

  it('refuses 20,000-deep nesting: by size when well-formed (413), by depth when it fits (400)', async () => {
    const wellFormed = transferEnvelope(`<transactionId>${'<a>'.repeat(20_000)}${'</a>'.repeat(20_000)}</transactionId>`);
    expect(wellFormed.length).toBeGreaterThan(LIMITS.maxBodyBytes); // 140 KB: size decides first
    const declared = await refused(path, wellFormed, 'requestTooLarge', 413);
    expect(declared.headers.connection).toBe('close');
    await refused(path, wellFormed, 'requestTooLarge', 413, { headers: { 'transfer-encoding': 'chunked' } });
    const opensOnly = transferEnvelope(`<transactionId>${'<a>'.repeat(20_000)}</transactionId>`);
    expect(opensOnly.length).toBeLessThan(LIMITS.maxBodyBytes); // 60 KB, unclosed: depth decides
    await refused(path, opensOnly, 'tooDeep', 400);
  });

  it('refuses floods of character references before any parser reads them, and never echoes them', async () => {
    const letters = '&#65;'.repeat(12_000); // 60 KB of references to "A"
    const flood = transferEnvelope(validTransfer({ transactionId: letters }));
    expect(flood.length).toBeLessThan(LIMITS.maxBodyBytes);
    const answer = await refused(path, flood, 'tooManyReferences', 400);
    expect(answer.body).not.toContain('&#65;');
    await refused(path, transferEnvelope(validTransfer({ amount: '&#x31;'.repeat(10_000) })), 'tooManyReferences', 400);
    await refused(path, transferEnvelope(validTransfer({ recipient: '&amp;'.repeat(LIMITS.maxReferences + 1) })), 'tooManyReferences', 400);
    // references to no character at all are not XML
    for (const reference of ['&#0;', '&#x110000;', '&#99999999999;', '&#xD800;']) {
      await refused(path, transferEnvelope(validTransfer({ transactionId: `a${reference}` })), 'malformedRequest', 400);
    }
  });

  it('accepts the most references a valid request needs: a transactionId of 128 quotes', async () => {
    const quotes = '&quot;'.repeat(LIMITS.maxTransactionIdLength);
    const answer = await post(t(), transferEnvelope(validTransfer({ transactionId: quotes })), { as: holder });
    expect(answer.status, answer.body).toBe(200);
    expect(answer.body).toContain('<result>success</result>');
  });

  it('refuses an operation element outside the LCP namespace', async () => {
    const bodies = [
      `<x:transferFunds xmlns:x="urn:evil">${validTransfer()}</x:transferFunds>`,
      `<transferFunds>${validTransfer()}</transferFunds>`,
      `<soap:transferFunds>${validTransfer()}</soap:transferFunds>`,
      `<x:transferFunds xmlns:x="${LCP_NAMESPACE} ">${validTransfer()}</x:transferFunds>`,
      `<x:transferFunds xmlns:x="${LCP_NAMESPACE.toUpperCase()}">${validTransfer()}</x:transferFunds>`,
      `<x:transferFunds xmlns:x="urn:lcp:v2">${validTransfer()}</x:transferFunds>`,
    ];
    for (const body of bodies) await refused(path, envelope(body), 'malformedRequest', 400);
    // the right operation, but in an envelope that is not SOAP 1.1
    const soap12 =
      `<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:lcp="${LCP_NAMESPACE}">` +
      `<s:Body><lcp:transferFunds>${validTransfer()}</lcp:transferFunds></s:Body></s:Envelope>`;
    await refused(path, soap12, 'malformedRequest', 400);
  });

  it('refuses an unknown operation in the LCP namespace', async () => {
    for (const name of ['mintMoney', 'getBalance', 'transferFundsRequest', 'transferFundsResponse', 'toString', 'hasOwnProperty']) {
      await refused(path, envelope(`<lcp:${name}>${validTransfer()}</lcp:${name}>`), 'malformedRequest', 400, {
        headers: { soapaction: '' },
      });
    }
  });

  it('refuses duplicated elements with that element fault, even when both copies agree', async () => {
    // validTransfer() has each of these once (userid none): add the same element, same value
    const again = (name: string, value: string, fault: string) => [transferEnvelope(validTransfer() + `<${name}>${value}</${name}>`), fault] as const;
    const cases = [
      again('amount', '1', 'invalidAmount'),
      again('recipient', payee.id, 'invalidRecipient'),
      again('transactionId', 'hostile', 'invalidTransactionId'),
      [transferEnvelope(`${validTransfer()}<userid>bob</userid><userid>bob</userid>`), 'invalidUserid'] as const,
    ];
    for (const [body, fault] of cases) await refused(path, body, fault, 400);
    const countedTwice = validFields();
    await refused(path, transferEnvelope(elements(countedTwice) + `<messageCounter>${countedTwice.messageCounter}</messageCounter>`), 'invalidCounter', 400);
    const wait = { headers: action('getDeposits') };
    await refused(path, getDepositsEnvelope('<millisecondsWait>0</millisecondsWait><millisecondsWait>0</millisecondsWait>'), 'invalidWait', 400, wait);
    await refused(path, getDepositsEnvelope('<millisecondsWait>0</millisecondsWait><acknowledge>0</acknowledge><acknowledge>0</acknowledge>'), 'invalidAcknowledgement', 400, wait);
    // two operation elements: node-soap reads them as one repeated element
    const one = `<lcp:transferFunds>${validTransfer()}</lcp:transferFunds>`;
    await refused(path, envelope(one + one), 'malformedRequest', 400);
  });

  it('reads 9007199254740993 exactly: 2^53+1 units move as 900719925474099300 minor units', async () => {
    const payeeExact = await newHolder();
    const { ledger } = t().issuer;
    const whaleBefore = await ledger.balance(whale.id);
    const answer = await post(t(), transferEnvelope(validTransfer({ recipient: payeeExact.id, amount: '9007199254740993' })), { as: whale });
    expect(answer.status, answer.body).toBe(200);
    const amount = 900_719_925_474_099_300n; // a double would have made it ...296 or ...304
    const fee = transferFee(amount, ledger.settings.fees.transfer); // a new connection, no session: the full rate
    expect(answer.body).toContain(`<result>success</result><fee>${formatAmount(fee, 2)}</fee>`);
    expect(await ledger.balance(payeeExact.id)).toBe(amount);
    expect(await ledger.balance(whale.id)).toBe(whaleBefore - amount - fee);
    expect((await ledger.totals()).sum).toBe(0n);
  });

  it('refuses amounts beyond the grammar or int64, and declines amount + fee beyond 2^63-1 without wrapping', async () => {
    const tooLong = `1${'0'.repeat(40)}`; // 41 characters
    for (const amount of ['-1', '0', '0.00', '1e309', '1.001', '1.000', '92233720368547758.08', tooLong, '9223372036854775807', ' ', 'NaN', 'Infinity']) {
      await refused(path, transferEnvelope(validTransfer({ amount })), 'invalidAmount', 400, { as: whale });
    }
    // 2^63-1 minor units is a valid amount; with its fee it exceeds any balance int64 can hold
    const { ledger } = t().issuer;
    const maxAmount = formatAmount(MAX_MINOR_UNITS, 2);
    expect(maxAmount).toBe('92233720368547758.07');
    for (const amount of [maxAmount, formatAmount(await ledger.balance(whale.id), 2)]) {
      const before = await ledgerView(ledger, watched);
      const answer = await post(t(), transferEnvelope(validTransfer({ amount })), { as: whale });
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('<result>insufficientFunds</result><fee>0</fee>'); // a result: the counter is used
      expect(await ledgerView(ledger, watched)).toEqual(before);
    }
  });

  it('refuses malformed recipients, the sender itself and the fee account', async () => {
    const recipients = [
      payee.id.toUpperCase(),
      payee.id.slice(1),
      `${payee.id}0`,
      `g${payee.id.slice(1)}`,
      `0x${payee.id.slice(2)}`,
      `\uff41${payee.id.slice(1)}`, // a fullwidth "a"
      `${payee.id}\u200b`, // a zero-width space, which no trim removes
      `${payee.id.slice(0, 32)} ${payee.id.slice(32)}`,
      holder.id, // the sender: no self transfers
      'fees', // the fee account's name
      `<x>${payee.id}</x>`,
      '',
    ];
    for (const recipient of recipients) {
      await refused(path, transferEnvelope(validTransfer({ recipient })), 'invalidRecipient', 400);
    }
    const withoutRecipient = Object.entries(validFields()).filter(([name]) => name !== 'recipient');
    await refused(path, transferEnvelope(elements(Object.fromEntries(withoutRecipient))), 'invalidRecipient', 400);
  });

  it('accepts counter 2^63-1 once, replays it, and refuses every counter that cannot follow', async () => {
    const edge = await newHolder();
    const { ledger } = t().issuer;
    await ledger.mint(edge.id, 10_00n, 'fund-edge');
    const last = transferEnvelope(validTransfer({ messageCounter: MAX_COUNTER.toString(), transactionId: 'last' }));
    const first = await post(t(), last, { as: edge });
    expect(first.body).toContain('<result>success</result>');
    const afterFirst = await ledger.balance(edge.id);
    const replay = await post(t(), last, { as: edge });
    expect(replay.body).toBe(first.body); // the stored response; nothing moves twice
    expect(await ledger.balance(edge.id)).toBe(afterFirst);
    const send = (messageCounter: string) => post(t(), transferEnvelope(validTransfer({ messageCounter, transactionId: 'next' })), { as: edge });
    expectFault(await send((MAX_COUNTER - 1n).toString()), 'soap:Client.counterTooLow', 409);
    for (const messageCounter of ['9223372036854775808', '18446744073709551616', '9'.repeat(20), '1'.repeat(21), '-1', '+5', '1.0', '0x10']) {
      expectFault(await send(messageCounter), 'soap:Client.invalidCounter', 400);
    }
    expect(await ledger.balance(edge.id)).toBe(afterFirst);
    expect((await ledger.totals()).sum).toBe(0n);
  });

  it('clamps a huge millisecondsWait rather than overflowing the timer', async () => {
    expect(decodeGetDepositsRequest({ millisecondsWait: '99999999999999999999' })).toEqual({ ok: true, value: { millisecondsWait: LIMITS.maxWaitMs } });
    expect(decodeGetDepositsRequest({ millisecondsWait: '9'.repeat(40) })).toMatchObject({ ok: true, value: { millisecondsWait: LIMITS.maxWaitMs } });
    await refused(path, getDepositsEnvelope(`<millisecondsWait>${'9'.repeat(41)}</millisecondsWait>`), 'invalidWait', 400, { headers: action('getDeposits') });

    const waiter = await newHolder();
    const huge = getDepositsEnvelope('<millisecondsWait>99999999999999999999</millisecondsWait>');
    const poll = () => post(t(), huge, { as: waiter, headers: action('getDeposits') });
    // nothing pending: it waits (an unclamped 1e20 ms timer would overflow and fire at once) ...
    let answered = false;
    const waiting = poll().then((answer) => ((answered = true), answer));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(answered).toBe(false);
    // ... until a deposit is committed
    const paid = await post(t(), transferEnvelope(validTransfer({ recipient: waiter.id, transactionId: 'wake' })), { as: holder });
    expect(paid.body).toContain('<result>success</result>');
    const woken = await waiting;
    expect(woken.body).toContain('<transactionId>wake</transactionId>');
    expect(woken.ms).toBeLessThan(5_000);
    // a deposit already pending: the same huge wait answers at once
    await post(t(), transferEnvelope(validTransfer({ recipient: waiter.id, transactionId: 'pending' })), { as: holder });
    const pending = await poll();
    expect(pending.body).toContain('<transactionId>pending</transactionId>');
    expect(pending.ms).toBeLessThan(2_000);
  });

  it('refuses both operations without a client certificate', async () => {
    await refused(path, transferEnvelope(validTransfer()), 'noClientCertificate', 403, { as: null });
    await refused(path, getDepositsEnvelope('<millisecondsWait>0</millisecondsWait>'), 'noClientCertificate', 403, {
      as: null,
      headers: action('getDeposits'),
    });
  });

  it('takes the account from the certificate, never from the body', async () => {
    const { ledger } = t().issuer;
    const victimBefore = await ledger.balance(victim.id);
    const asAttacker = { as: attacker };
    // "from the victim to me": the sender is the attacker, so this is a self transfer
    const fromVictim = validTransfer({ recipient: attacker.id }) + `<sender>${victim.id}</sender>`;
    await refused(path, transferEnvelope(fromVictim), 'invalidRecipient', 400, asAttacker);
    await refused(path, transferEnvelope(`<sender>${victim.id}</sender>${validTransfer({ recipient: attacker.id })}`), 'invalidRecipient', 400, asAttacker);
    const header = `<lcp:sender>${victim.id}</lcp:sender><lcp:account>${victim.id}</lcp:account>`;
    await refused(path, transferEnvelope(validTransfer({ recipient: attacker.id }), { header }), 'invalidRecipient', 400, asAttacker);
    // "from the victim to the payee": the attacker pays
    const attackerBefore = await ledger.balance(attacker.id);
    const paid = await post(t(), transferEnvelope(`${validTransfer()}<sender>${victim.id}</sender>`), asAttacker);
    expect(paid.body).toContain('<result>success</result>');
    expect(await ledger.balance(attacker.id)).toBeLessThan(attackerBefore);
    // getDeposits naming the victim answers the attacker's own balance
    const peek = await post(t(), getDepositsEnvelope(`<millisecondsWait>0</millisecondsWait><holder>${victim.id}</holder><sender>${victim.id}</sender>`), {
      ...asAttacker,
      headers: action('getDeposits'),
    });
    expect(peek.body).toContain(`<balance>${formatAmount(await ledger.balance(attacker.id), 2)}</balance>`);
    expect(await ledger.balance(victim.id)).toBe(victimBefore);
  });

  it('answers XML that is not well-formed with malformedRequest, not node-soap\'s own fault', async () => {
    const whole = transferEnvelope(validTransfer());
    const bodies = [
      whole.replace('</lcp:transferFunds></soap:Body></soap:Envelope>', ''), // unclosed
      whole.replace('</lcp:transferFunds>', '</lcp:getDeposits>'), // mismatched close
      'hello, issuer',
      whole.replace(/lcp:transferFunds/g, 'y:transferFunds'), // unbound prefix
      `${whole}junk`, // text after the root
      whole.replace('<soap:Body>', '<soap:Body a=1>'), // unquoted attribute
      transferEnvelope(validTransfer({ transactionId: 'a < b' })),
      transferEnvelope(validTransfer({ transactionId: 'a & b' })),
      transferEnvelope(validTransfer({ transactionId: '&undefined;' })),
      `<${' '.repeat(100)}`, // a lone "<"
    ];
    for (const body of bodies) {
      const answer = await refused(path, body, 'malformedRequest', 400);
      expect(answer.body).not.toContain('Invalid XML');
      expect(answer.body).not.toContain('<detail>');
    }
    // bytes that are not UTF-8 decode to U+FFFD, which no transactionId may hold
    const bytes = Buffer.from(transferEnvelope(validTransfer({ transactionId: 'AB' })));
    const at = bytes.indexOf('AB<');
    bytes[at] = 0xff;
    bytes[at + 1] = 0xfe;
    await refused(path, bytes, 'invalidTransactionId', 400);
  });

  it('answers element names of Object.prototype members without a crash, a leak, or a change', async () => {
    const { ledger } = t().issuer;
    for (const body of prototypeNameBodies()) {
      const before = await ledgerView(ledger, watched);
      const answer = await post(t(), body, { as: holder });
      expect([200, 400, 500]).toContain(answer.status);
      expectNoLeak(answer.body);
      if (answer.status !== 200) expect(await ledgerView(ledger, watched)).toEqual(before);
    }
    const healthy = await post(t(), getDepositsEnvelope('<millisecondsWait>0</millisecondsWait>'), { as: holder, headers: action('getDeposits') });
    expect(healthy.status).toBe(200);
  });

  // Was a bug (fixed): node-soap looks these names up in plain objects (this.definitions.messages[name],
  // findSchemaObject(ns, name)) and crashes: HTTP 500 with a text/plain body such as
  // "this.definitions.messages[originalName].description is not a function" (or, for xsi:type,
  // "typeDef.description is not a function"). The fast path reads plain envelopes itself, so
  // only non-plain ones (a Header, nested content, an xsi:type) reach node-soap there.
  // The guard now refuses every Object.prototype member name (request-guard.ts).
  it('refuses element names of Object.prototype members with malformedRequest', async () => {
    // on the fast path the first two are plain envelopes, read without node-soap (and answered
    // success): the guard fix refuses them on both paths, which keeps the paths equal
    for (const body of prototypeNameBodies()) {
      await refused(path, body, 'malformedRequest', 400);
    }
  });
});

/** Bodies that name Object.prototype members where node-soap looks names up. */
function prototypeNameBodies(): string[] {
  return [
    transferEnvelope(`${validTransfer()}<toString>1</toString>`),
    transferEnvelope(`${validTransfer()}<hasOwnProperty>1</hasOwnProperty>`),
    transferEnvelope(validTransfer(), { header: '<valueOf>1</valueOf>' }),
    transferEnvelope(validTransfer({ amount: '<isPrototypeOf>1</isPrototypeOf>' })),
    transferEnvelope(
      validTransfer().replace('<amount>', '<amount xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="lcp:toString">'),
    ),
  ];
}

describe('where the paths differ: a SOAPAction that disagrees with the body', () => {
  it('reference path: refuses a SOAPAction naming the other operation', async () => {
    await refused('reference', transferEnvelope(validTransfer()), 'malformedRequest', 400, { headers: action('getDeposits') });
    await refused('reference', getDepositsEnvelope('<millisecondsWait>0</millisecondsWait>'), 'malformedRequest', 400, {
      headers: action('transferFunds'),
    });
    await refused('reference', transferEnvelope(validTransfer()), 'malformedRequest', 400, { headers: action('mintMoney') });
  });

  // Both paths: a SOAPAction, when sent, must be exactly the WSDL's for the body's operation.
  it('both paths refuse a SOAPAction that names another operation than the body, and change nothing', async () => {
    for (const path of ['fast', 'reference'] as const) {
      for (const soapaction of [`"${LCP_NAMESPACE}#getDeposits"`, `"${LCP_NAMESPACE}#mintMoney"`, 'transferFunds']) {
        await refused(path, transferEnvelope(validTransfer()), 'malformedRequest', 400, { headers: { soapaction } });
      }
      const ok = await post(issuers[path], transferEnvelope(validTransfer()), { as: holder, headers: { soapaction: `"${LCP_NAMESPACE}#transferFunds"` } });
      expect(ok.body).toContain('<tns:transferFundsResponse><result>success</result>');
    }
  });

  it('reference path refuses a SOAPAction outside the LCP namespace with malformedRequest', async () => {
    await refused('reference', transferEnvelope(validTransfer()), 'malformedRequest', 400, { headers: { soapaction: '"urn:evil#transferFunds"' } });
  });

  it('reference path: a SOAPAction outside the LCP namespace fails without a leak or a change', async () => {
    const { ledger } = issuers.reference.issuer;
    for (const soapaction of ['"urn:evil#transferFunds"', 'transferFunds']) {
      const before = await ledgerView(ledger, watched);
      const answer = await post(issuers.reference, transferEnvelope(validTransfer()), { as: holder, headers: { soapaction } });
      expect([400, 500]).toContain(answer.status);
      expectNoLeak(answer.body);
      expect(await ledgerView(ledger, watched)).toEqual(before);
    }
  });
});

describe('the guard itself', () => {
  let redos: { answer: Answer; ms: number } | undefined;

  // "<" followed by 32 KB of whitespace: the first alternative of FORBIDDEN_NAMES in
  // request-guard.ts (<\s*\/?\s*...) backtracks quadratically, blocking the event loop.
  it('answers "<" and 32 KB of whitespace with malformedRequest, without a leak or a change', async () => {
    const body = envelope(`<${' '.repeat(32 * 1024)}`);
    const began = performance.now();
    const answer = await refused('fast', body, 'malformedRequest', 400);
    redos = { answer, ms: performance.now() - began };
  }, 30_000);

  // Was a bug (fixed): about 1.8 s of blocked event loop for 32 KB (7 s for 64 KB) on a 2-core EPYC.
  // The guard now uses /<\/?(?:prefix:)?(?:names)[\s/>]/: no whitespace may follow "<" or "</" in XML.
  it('screens "<" and 32 KB of whitespace in linear time (under 300 ms)', () => {
    expect(redos).toBeDefined();
    expect(redos?.ms).toBeLessThan(300);
  });

  // app.ts guards every POST before anything routes it. The fast path takes the exact SOAP path
  // (a query allowed); express routes the rest, ignoring case and a trailing slash, to node-soap.
  it('guards a POST on any path, and serves the SOAP path with a query, a trailing slash or capitals', async () => {
    const variants = [`${SOAP_PATH}?x=1`, `${SOAP_PATH}/`, SOAP_PATH.toUpperCase()];
    const withDtd = transferEnvelope(validTransfer(), { prolog: '<!DOCTYPE x [<!ENTITY a "a">]>' });
    for (const path of [...variants, '/elsewhere']) await refused('fast', withDtd, 'xmlNotAllowed', 400, { path });
    for (const path of variants) {
      const answer = await post(issuers.fast, transferEnvelope(validTransfer()), { as: holder, path });
      expect(answer.status, path).toBe(200);
      expect(answer.body, path).toContain('<result>success</result>');
    }
    const elsewhere = await post(issuers.fast, transferEnvelope(validTransfer()), { as: holder, path: '/elsewhere' });
    expect(elsewhere.status).toBe(404);
  });

  it('answers HTTP framing attacks with Node\'s own 4xx and closes the connection', async () => {
    const { ledger } = issuers.fast.issuer;
    const before = await ledgerView(ledger, watched);
    const head = 'POST /lcp HTTP/1.1\r\nHost: money.com\r\nContent-Type: text/xml\r\n';
    const cases: Array<[string, string]> = [
      [`${head}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, '400'], // smuggling: both lengths
      [`${head}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, '400'],
      [`${head}Content-Length: -1\r\n\r\n`, '400'],
      [`${head}Content-Length: 99999999999999999999999\r\n\r\n`, '400'],
      [`${head}Transfer-Encoding: chunked\r\n\r\nzz\r\n`, '400'],
      [`${head}X-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`, '431'],
      ['GARBAGE\r\n\r\n', '400'],
    ];
    for (const [bytes, status] of cases) {
      const { text, closedByServer } = await exchange(issuers.fast, holder, bytes);
      expect(text.split('\r\n')[0], JSON.stringify(bytes.slice(0, 120))).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(closedByServer).toBe(true);
      expectNoLeak(text);
    }
    expect(await ledgerView(ledger, watched)).toEqual(before);
  });
});

describe('a 50 MB body streamed to `lcp-issuer serve`', () => {
  let dir: string;
  let served: Served;
  let target: Target;
  let sender: TestHolder;
  const outcome = {
    status: 0,
    body: '',
    baselineBytes: 0,
    peakBytes: 0,
    sentBytes: 0,
    sentWhenAnswered: -1,
    answeredDuringSlowPhase: false,
  };

  const openLedger = async (): Promise<IssuerLedger> => openCurrencyLedger(await loadCurrency(dir));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lcp-hostile-'));
    const ca = await demoCa();
    await initCurrency({
      dir,
      domain: 'money.com',
      ca,
      settings: { LCP_HOST: '127.0.0.1', LCP_HTTPS_PORT: '0', LCP_HTTP_PORT: '0', LCP_PUBLIC_URL: 'https://money.com:0/lcp' },
    });
    sender = await newHolder();
    const ledger = await openLedger();
    await ledger.mint(sender.id, FUNDS, 'fund-sender');
    await ledger.close();
    served = await serve(dir);
    target = { issuer: { httpsPort: served.httpsPort }, ca };
  }, 30_000);

  afterAll(async () => {
    await served?.stop();
    await rm(dir, { recursive: true, force: true });
  });


  const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

  /** Runs `run` while sampling the issuer's RSS every 20 ms. */
  async function sampled<T>(run: () => Promise<T>): Promise<{ result: T; baselineBytes: number; peakBytes: number }> {
    const baselineBytes = await residentBytes(served.pid);
    let peakBytes = baselineBytes;
    const sample = (): Promise<void> => residentBytes(served.pid).then((bytes) => void (peakBytes = Math.max(peakBytes, bytes)), () => undefined);
    const sampler = setInterval(() => void sample(), 20);
    try {
      const result = await run();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await sample();
      return { result, baselineBytes, peakBytes };
    } finally {
      clearInterval(sampler);
    }
  }

  /**
   * POSTs a chunked body of `total` bytes: the first `slow` bytes at 64 KB per 25 ms, the rest as
   * fast as the connection takes them (for at most 15 s), then the final chunk; resolves with
   * what the server answered and how much had been sent when its first byte arrived.
   */
  function streamChunked(total: number, slow: number) {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    const result = { status: 0, body: '', sentBytes: 0, sentWhenAnswered: -1, answeredDuringSlowPhase: false };
    return new Promise<typeof result>((resolve, reject) => {
      let received = '';
      let closed = false;
      const socket = tls.connect(
        { host: '127.0.0.1', port: served.httpsPort, servername: 'money.com', ca: target.ca.certPem, cert: sender.certPem, key: sender.keyPem },
        () => void stream().then(() => resolve(result), reject),
      );
      socket.on('data', (data: Buffer) => {
        if (received === '') result.sentWhenAnswered = result.sentBytes;
        received += data.toString('latin1');
      });
      socket.once('close', () => (closed = true));
      socket.on('error', () => undefined); // EPIPE/ECONNRESET once the server has hung up
      const answered = (): boolean => closed || received.includes('</soap:Envelope>');
      const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

      async function stream(): Promise<void> {
        socket.write(
          `POST /lcp HTTP/1.1\r\nHost: money.com\r\nContent-Type: text/xml; charset=utf-8\r\n` +
            `SOAPAction: "${LCP_NAMESPACE}#transferFunds"\r\nTransfer-Encoding: chunked\r\n\r\n`,
        );
        // slowly: a server that stops at the limit answers during this phase
        while (!answered() && result.sentBytes < slow) {
          socket.write(frame);
          result.sentBytes += chunk.length;
          await pause(25);
        }
        result.answeredDuringSlowPhase = answered();
        const deadline = performance.now() + 15_000;
        while (!answered() && result.sentBytes < total && performance.now() < deadline) {
          if (!socket.write(frame)) await Promise.race([new Promise((r) => socket.once('drain', r)), pause(100)]);
          result.sentBytes += chunk.length;
        }
        if (!answered()) socket.write('0\r\n\r\n'); // the end of the body
        const waitUntil = performance.now() + 5_000;
        while (!answered() && performance.now() < waitUntil) await pause(20);
        await pause(100);
        socket.destroy();
        result.status = Number(received.split(' ')[1]);
        result.body = received.slice(received.indexOf('\r\n\r\n') + 4);
      }
    });
  }

  it('answers 413 with bounded memory: the issuer\'s RSS grows by less than 20 MB', async () => {
    // warm up the paths the stream will take, then take the baseline
    for (let i = 0; i < 20; i++) {
      const small = await post(target, transferEnvelope(validTransfer({ amount: '0' })), { as: sender });
      expect(small.status).toBe(400);
    }
    const tooBig = await post(target, transferEnvelope(`<transactionId>${'x'.repeat(70 * 1024)}</transactionId>`), {
      as: sender,
      headers: { 'transfer-encoding': 'chunked' },
    });
    expect(tooBig.status).toBe(413);
    // A first 50 MB stream grows the allocator's pools and V8's young generation to their working
    // size for a body read at line rate (about 35 MiB here, once); a second one, measured, must
    // add little: what grows with the body would show there.
    const first = await sampled(() => streamChunked(50 * 1024 * 1024, 0));
    expect(first.result.status).toBe(413);
    const measured = await sampled(() => streamChunked(50 * 1024 * 1024, 2 * 1024 * 1024));
    Object.assign(outcome, measured.result, { baselineBytes: measured.baselineBytes, peakBytes: measured.peakBytes });
    console.log(
      `50 MB body, first: issuer RSS ${mib(first.baselineBytes)} MiB + ${mib(first.peakBytes - first.baselineBytes)} MiB at peak (one-time growth)`,
    );
    expect(first.peakBytes - first.baselineBytes).toBeLessThan(64 * 1024 * 1024);

    expect(outcome.status).toBe(413);
    expect(outcome.body).toContain('<faultcode>soap:Client.requestTooLarge</faultcode>');
    expectNoLeak(outcome.body);
    const growth = outcome.peakBytes - outcome.baselineBytes;
    console.log(
      `50 MB body, measured: sent ${mib(outcome.sentBytes)} MiB, first answer byte after ${mib(outcome.sentWhenAnswered)} MiB; ` +
        `issuer RSS ${mib(outcome.baselineBytes)} MiB + ${mib(growth)} MiB at peak`,
    );
    expect(growth).toBeLessThan(20 * 1024 * 1024);

    // nothing changed: the issuer still serves, and its ledger is as funded
    const after = await post(target, getDepositsEnvelope('<millisecondsWait>0</millisecondsWait>'), { as: sender, headers: action('getDeposits') });
    expect(after.body).toContain(`<balance>${formatAmount(FUNDS, 2)}</balance>`);
    await served.stop();
    const ledger = await openLedger();
    try {
      const totals = await ledger.totals();
      expect(totals.sum).toBe(0n);
      expect(totals.transfers).toBe(1); // the funding mint only
      expect(await ledger.balance(sender.id)).toBe(FUNDS);
    } finally {
      await ledger.close();
    }
  }, 40_000);

  // Was a bug (fixed): express.raw (body-parser 2.4) reads the whole request off the wire before it
  // reports "too large", so the 413 comes only after the client has sent everything, at line
  // rate (memory stays bounded: the rest is discarded). Until then the connection costs TLS
  // decryption of everything the client sends, for up to requestTimeout (30 s) plus Node's
  // 30 s connections check. Fix: read the body in request-guard.ts with a limit that pauses
  // the request and answers at once (request-guard.ts, readLimited).
  it('stops reading at the limit and answers 413 while the client is still sending', () => {
    expect(outcome.status).toBe(413);
    expect(outcome.answeredDuringSlowPhase).toBe(true);
    expect(outcome.sentWhenAnswered).toBeLessThan(1024 * 1024);
  });
});

describe('slow clients (started before every other test, so they overlap them)', () => {
  it('drops a connection stalled in its TLS handshake after the 10 s handshake timeout', async () => {
    const stalled = await stalledHandshake;
    expect(stalled.closedByServer).toBe(true);
    expect(stalled.closedAfterMs).toBeGreaterThan(HANDSHAKE_TIMEOUT_MS - 1_000);
    expect(stalled.closedAfterMs).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 3_000);
  }, 20_000);

  it('answers 408 and closes a slowloris connection (one header byte per 500 ms)', async () => {
    const slow = await slowloris;
    console.log(`slowloris: closed by the server after ${(slow.closedAfterMs / 1000).toFixed(1)} s, ${slow.bytesSent} header bytes sent`);
    expect(slow.closedByServer).toBe(true);
    expect(slow.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expectNoLeak(slow.received);
    expect(slow.closedAfterMs).toBeGreaterThan(HEADERS_TIMEOUT_MS - 1_000);
    // Node checks headersTimeout only every connectionsCheckingInterval (30 s by default)
    expect(slow.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + NODE_CONNECTIONS_CHECK_MS + 3_000);
  }, 50_000);

  // Was a bug (fixed): app.ts sets headersTimeout = 10 s but leaves Node's connectionsCheckingInterval at
  // 30 s, so a slowloris connection lives 10 to 40 s (about 30 s here). Fix: pass
  // connectionsCheckingInterval: 1_000 to https.createServer and http.createServer.
  it('closes a slowloris connection within headersTimeout + 2 s', async () => {
    const slow = await slowloris;
    expect(slow.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 2_000);
  }, 50_000);
});
