// The fast envelope reader and writer against node-soap, the reference: every request the fast
// reader accepts decodes exactly as node-soap's reading of it does, and every response or fault
// it writes is byte-for-byte what node-soap's server writes.
import { describe, expect, it } from 'vitest';
import { Server, WSDL } from 'soap';
import {
  decodeGetDepositsRequest,
  decodeTransferFundsRequest,
  encodeGetDepositsResponse,
  encodeTransferFundsResponse,
} from './codec.js';
import { readRequestEnvelope, writeFaultEnvelope, writeResponseEnvelope, type LcpOperation } from './envelope.js';
import { LCP_NAMESPACE, renderWsdl } from './wsdl.js';

const SCALE = 2;

async function reference(): Promise<{ wsdl: WSDL; server: Server }> {
  const wsdl = new WSDL(renderWsdl('https://money.com/lcp'), 'https://money.com/lcp.wsdl', {});
  await new Promise<void>((resolve, reject) => wsdl.onReady((error?: unknown) => (error ? reject(error) : resolve())));
  // a node-soap server not bound to any HTTP server: only its envelope writers are used
  const server = new Server(null as never, '/lcp', {}, wsdl, {} as never);
  return { wsdl, server };
}

/** A small seeded generator, so a failure names a case that can be replayed. */
function random(seed: number) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 2 ** 32);
  return {
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
  };
}

const decode = (operation: LcpOperation, wire: unknown) =>
  operation === 'transferFunds' ? decodeTransferFundsRequest(wire, SCALE) : decodeGetDepositsRequest(wire);

function requestCorpus(count: number, seed: number): string[] {
  const r = random(seed);
  const space = () => r.pick(['', '', ' ', '\n  ', '\r\n\t']);
  const values = {
    recipient: ['ab'.repeat(32), 'AB'.repeat(32), 'ab'.repeat(31), '', 'BOCF...7E24'],
    amount: ['100', '1.2', '0.01', '0', '-1', '1e3', '1.001', ' 7 ', '92233720368547758.07', '92233720368547758.08', ''],
    transactionId: ['12345678', 'a b', 'x'.repeat(128), 'x'.repeat(129), '', '  padded  ', 'tab\there'],
    messageCounter: ['1', '3398', '0', '-3', '9223372036854775807', '9223372036854775808', 'x', ''],
    userid: ['bob', 'bob@bank', '', 'b'.repeat(65)],
    millisecondsWait: ['0', '3000', '99999999999999999999', '-1', '1.5', ''],
    acknowledge: ['0', '41', 'x', ''],
  } as const;
  const corpus: string[] = [];
  for (let i = 0; i < count; i++) {
    const operation = r.pick(['transferFunds', 'getDeposits'] as const);
    const names =
      operation === 'transferFunds'
        ? (['recipient', 'amount', 'transactionId', 'messageCounter', 'userid'] as const)
        : (['millisecondsWait', 'acknowledge'] as const);
    let fields = '';
    for (const name of names) {
      if (r.chance(0.1) || (name === 'userid' || name === 'acknowledge' ? r.chance(0.5) : false)) continue;
      const value = r.pick(values[name]);
      fields += space();
      const form = r.int(100);
      if (form < 5) fields += `<${name}/>`;
      else if (form < 8) fields += `<${name} xsi:nil="true"/>`;
      else if (form < 11) fields += `<${name}>${value}&amp;</${name}>`;
      else fields += `<${name}>${value}</${name}>`;
      if (r.chance(0.03)) fields += `<${name}>${value}</${name}>`; // duplicated
    }
    if (r.chance(0.05)) fields += '<unknown>1</unknown>';
    const soap = r.pick(['soap', 'SOAP-ENV', 's', 'env']);
    const lcp = r.pick(['tns', 'ns0', 'ns1', 'lcp']);
    const declaration = r.pick(['<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0"?>\n', '']);
    const header = r.pick(['', '', `<${soap}:Header/>`, `<${soap}:Header></${soap}:Header>`]);
    const onOperation = r.chance(0.5);
    corpus.push(
      `${declaration}<${soap}:Envelope xmlns:${soap}="http://schemas.xmlsoap.org/soap/envelope/"` +
        ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"${onOperation ? '' : ` xmlns:${lcp}="${LCP_NAMESPACE}"`}>` +
        `${space()}${header}<${soap}:Body>${space()}` +
        `<${lcp}:${operation}${onOperation ? ` xmlns:${lcp}="${LCP_NAMESPACE}"` : ''}>${fields}${space()}</${lcp}:${operation}>` +
        `${space()}</${soap}:Body></${soap}:Envelope>${space()}`,
    );
  }
  return corpus;
}

describe('the fast envelope path', async () => {
  const { wsdl, server } = await reference();

  it('reads every request it accepts as node-soap does (2,000 seeded cases)', () => {
    let accepted = 0;
    for (const [index, xml] of requestCorpus(2000, 20031112).entries()) {
      const fast = readRequestEnvelope(xml);
      if (fast.kind === 'other') continue;
      accepted++;
      const body = (wsdl.xmlToObject(xml) as { Body: Record<string, unknown> }).Body;
      expect(decode(fast.operation, fast.fields), `case ${index}: ${xml}`).toEqual(decode(fast.operation, body[fast.operation]));
    }
    expect(accepted).toBeGreaterThan(1000); // the corpus mostly exercises the fast path
  });

  it('leaves to node-soap what is not plain', () => {
    const envelope = (inner: string, extra = '') =>
      `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"${extra}><s:Body>${inner}</s:Body></s:Envelope>`;
    const plain = `<l:getDeposits xmlns:l="${LCP_NAMESPACE}"><millisecondsWait>1</millisecondsWait></l:getDeposits>`;
    expect(readRequestEnvelope(envelope(plain))).toMatchObject({ kind: 'request', operation: 'getDeposits' });
    for (const xml of [
      envelope(`<getDeposits xmlns="${LCP_NAMESPACE}"><millisecondsWait>1</millisecondsWait></getDeposits>`),
      envelope(`<l:getDeposits xmlns:l="urn:other"><millisecondsWait>1</millisecondsWait></l:getDeposits>`),
      envelope(`<l:steal xmlns:l="${LCP_NAMESPACE}"/>`),
      envelope(`<l:getDeposits xmlns:l="${LCP_NAMESPACE}"><millisecondsWait><x>1</x></millisecondsWait></l:getDeposits>`),
      envelope(plain).replace('<s:Body>', '<s:Header><a/></s:Header><s:Body>'),
      envelope(plain) + '<trailing/>',
      envelope(plain).replace('http://schemas.xmlsoap.org/soap/envelope/', 'http://www.w3.org/2003/05/soap-envelope'),
      'not xml at all',
    ]) {
      expect(readRequestEnvelope(xml), xml).toEqual({ kind: 'other' });
    }
  });

  it('writes responses byte-for-byte as node-soap does', () => {
    const r = random(7);
    const writeReference = (operation: LcpOperation, fields: Record<string, unknown>) =>
      (server as unknown as { _envelope(body: string, headers: string, stamp: boolean): string })._envelope(
        wsdl.objectToRpcXML(`${operation}Response`, fields, '', LCP_NAMESPACE, true),
        '',
        false,
      );
    for (let i = 0; i < 500; i++) {
      const transfer = encodeTransferFundsResponse(
        { result: r.pick(['success', 'insufficientFunds', 'issuanceCapExceeded'] as const), fee: BigInt(r.int(10_000)) },
        SCALE,
      );
      expect(writeResponseEnvelope('transferFunds', transfer)).toBe(writeReference('transferFunds', transfer));
      const deposits = encodeGetDepositsResponse(
        {
          deposits: Array.from({ length: r.int(4) }, (_, k) => ({
            transactionId: r.pick(['1234', 'a b', "it's \"quoted\"", 'x'.repeat(40)]),
            amount: BigInt(1 + r.int(1_000_000)),
            ...(r.chance(0.3) ? { userid: 'bob' } : {}),
            sequence: BigInt(k + 1),
          })),
          fee: BigInt(r.int(3)),
          balance: BigInt(r.int(2_000_000) - 1_000_000),
        },
        SCALE,
      );
      expect(writeResponseEnvelope('getDeposits', deposits)).toBe(writeReference('getDeposits', deposits));
    }
  });

  it('writes faults byte-for-byte as node-soap does', () => {
    const faults = [
      ['soap:Client.invalidAmount', 'amount has more than 2 decimal places'],
      ['soap:Server.internal', 'The issuer failed; <nothing> & "nothing" was acknowledged.'],
    ] as const;
    for (const [faultcode, faultstring] of faults) {
      let written = '';
      (server as unknown as { _sendError(f: object, cb: (xml: string) => void, stamp: boolean): void })._sendError(
        { faultcode, faultstring, statusCode: 400 },
        (xml) => (written = xml),
        false,
      );
      expect(writeFaultEnvelope(faultcode, faultstring)).toBe(written);
    }
  });
});
