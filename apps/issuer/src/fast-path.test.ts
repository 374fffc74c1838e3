// The fast path's own contract, without a server: which requests it answers, and that whatever
// goes wrong inside it reaches `next` as an error (app.ts answers that with an internal fault).
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { fastPath } from './fast-path.js';
import { FAULTS } from '@lcp/protocol';
import { soapFault } from './faults.js';
import { elements, transferEnvelope } from './hostile/test-wire.js';
import type { GuardedRequest } from './request-guard.js';
import type { LcpOperations } from './soap-service.js';

const body = transferEnvelope(elements({ recipient: 'a'.repeat(64), amount: '1', transactionId: 't', messageCounter: '1' }));

/** Runs the fast path on `requestBody`; settles once it answers or calls `next`. */
function exchange(operations: Partial<LcpOperations>, requestBody = body) {
  const req = { body: requestBody, headers: { 'content-type': 'text/xml' } } as unknown as GuardedRequest;
  return new Promise<{ next?: { error: unknown }; sent?: { status: number; body: string } }>((resolve) => {
    const res = {
      statusCode: 0,
      setHeader: () => undefined,
      end(this: { statusCode: number }, text: string) {
        resolve({ sent: { status: this.statusCode, body: text } });
      },
    } as unknown as ServerResponse;
    fastPath(operations as LcpOperations)(req, res, (error?: unknown) => resolve({ next: { error } }));
  });
}

describe('the fast path', () => {
  it('answers a transfer from its operation', async () => {
    const outcome = await exchange({ transferFunds: async () => ({ result: 'success', fee: '0.01' }) });
    expect(outcome.sent?.status).toBe(200);
    expect(outcome.sent?.body).toContain('<result>success</result>');
  });

  it('writes a SOAP fault its operation raises', async () => {
    const outcome = await exchange({ transferFunds: () => Promise.reject(soapFault('invalidAmount', 'no')) });
    expect(outcome.sent?.status).toBe(FAULTS.invalidAmount.http);
    expect(outcome.sent?.body).toContain('invalidAmount');
  });

  it('hands anything else to next as an error: a failed operation, or a throw while writing the answer', async () => {
    const failure = new Error('the ledger is gone');
    expect(await exchange({ transferFunds: () => Promise.reject(failure) })).toEqual({ next: { error: failure } });
    const unwritable = await exchange({ transferFunds: async () => null as never });
    expect(unwritable.sent).toBeUndefined();
    expect(unwritable.next?.error).toBeInstanceOf(TypeError);
  });

  it('passes a body that is not a plain LCP envelope on to the reference path', async () => {
    expect(await exchange({}, '<not-soap/>')).toEqual({ next: { error: undefined } });
  });
});
