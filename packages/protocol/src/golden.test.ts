// The paper's own example messages (section 3), and one sample per extension, as the exact
// bytes node-soap puts on the wire. Each must decode to its typed message through node-soap's
// reading of our WSDL, and encoding that message must give the same bytes back.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WSDL } from 'soap';
import {
  decodeGetDepositsRequest,
  decodeGetDepositsResponse,
  decodeTransferFundsRequest,
  decodeTransferFundsResponse,
  encodeGetDepositsRequest,
  encodeGetDepositsResponse,
  encodeTransferFundsRequest,
  encodeTransferFundsResponse,
  type Decoded,
} from './codec.js';
import { LCP_NAMESPACE, renderWsdl } from './wsdl.js';

const SCALE = 2;
const BOB = `b0cf${'a1'.repeat(28)}7e24`; // the paper elides Bob's key as "BOCF...7E24"

interface Sample {
  file: string;
  element: string;
  typed: unknown;
  decode: (wire: unknown) => Decoded<unknown>;
  encode: (typed: never) => Record<string, unknown>;
}

const samples: Sample[] = [
  {
    file: 'paper-transferFundsRequest.xml',
    element: 'transferFunds',
    typed: { recipient: BOB, amount: 100_00n, transactionId: '12345678', messageCounter: 3398n },
    decode: (w) => decodeTransferFundsRequest(w, SCALE),
    encode: (m) => encodeTransferFundsRequest(m, SCALE),
  },
  {
    file: 'paper-transferFundsResponse.xml',
    element: 'transferFundsResponse',
    typed: { result: 'success', fee: 1_20n },
    decode: (w) => decodeTransferFundsResponse(w, SCALE),
    encode: (m) => encodeTransferFundsResponse(m, SCALE),
  },
  {
    file: 'paper-getDepositsRequest.xml',
    element: 'getDeposits',
    typed: { millisecondsWait: 3000 },
    decode: (w) => decodeGetDepositsRequest(w),
    encode: (m) => encodeGetDepositsRequest(m),
  },
  {
    file: 'paper-getDepositsResponse.xml',
    element: 'getDepositsResponse',
    typed: { deposits: [{ transactionId: '1234', amount: 100_00n }], fee: 0n, balance: 9200_00n },
    decode: (w) => decodeGetDepositsResponse(w, SCALE),
    encode: (m) => encodeGetDepositsResponse(m, SCALE),
  },
  {
    file: 'paper-getDepositsResponse-empty.xml',
    element: 'getDepositsResponse',
    typed: { deposits: [], fee: 0n, balance: 0n },
    decode: (w) => decodeGetDepositsResponse(w, SCALE),
    encode: (m) => encodeGetDepositsResponse(m, SCALE),
  },
  {
    file: 'ext-transferFundsRequest-userid.xml',
    element: 'transferFunds',
    typed: { recipient: BOB, amount: 50n, transactionId: 'read-7', messageCounter: 3399n, userid: 'bob' },
    decode: (w) => decodeTransferFundsRequest(w, SCALE),
    encode: (m) => encodeTransferFundsRequest(m, SCALE),
  },
  {
    file: 'ext-getDepositsRequest-acknowledge.xml',
    element: 'getDeposits',
    typed: { millisecondsWait: 0, acknowledge: 41n },
    decode: (w) => decodeGetDepositsRequest(w),
    encode: (m) => encodeGetDepositsRequest(m),
  },
  {
    file: 'ext-getDepositsResponse-sequence.xml',
    element: 'getDepositsResponse',
    typed: {
      deposits: [
        { transactionId: 'read-7', amount: 50n, userid: 'bob', sequence: 42n },
        { transactionId: '1235', amount: 12_05n, sequence: 43n },
      ],
      fee: 1n,
      balance: -3_50n,
    },
    decode: (w) => decodeGetDepositsResponse(w, SCALE),
    encode: (m) => encodeGetDepositsResponse(m, SCALE),
  },
];

async function loadWsdl(): Promise<WSDL> {
  const wsdl = new WSDL(renderWsdl('https://money.com/lcp'), 'https://money.com/lcp.wsdl', {});
  await new Promise<void>((resolve, reject) => wsdl.onReady((error?: unknown) => (error ? reject(error) : resolve())));
  return wsdl;
}

describe('golden samples', async () => {
  const wsdl = await loadWsdl();

  for (const sample of samples) {
    it(`${sample.file} round-trips`, () => {
      const bytes = readFileSync(new URL(`../golden/${sample.file}`, import.meta.url), 'utf8');
      const body = (wsdl.xmlToObject(bytes) as { Body: Record<string, unknown> }).Body;
      const decoded = sample.decode(body[sample.element]);
      expect(decoded).toEqual({ ok: true, value: sample.typed });

      // node-soap's writer, as the client (requests) and our patched server (responses) call it
      const element = wsdl.objectToRpcXML(sample.element, sample.encode(sample.typed as never), 'tns', LCP_NAMESPACE, true);
      const wireBody = bytes.slice(bytes.indexOf('<soap:Body>') + 11, bytes.indexOf('</soap:Body>'));
      expect(element).toBe(wireBody);
    });
  }
});
