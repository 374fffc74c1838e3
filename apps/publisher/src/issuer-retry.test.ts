import { LcpNetworkError } from '@lcp/client';
import { expect, it } from 'vitest';
import { whileIssuerUnreachable } from './issuer-retry.js';

it('retries while the issuer is unreachable, then returns its answer', async () => {
  let calls = 0;
  const answer = await whileIssuerUnreachable(async () => {
    if (++calls < 3) throw new LcpNetworkError('issuer unreachable or answer lost: ECONNREFUSED');
    return 'success';
  }, Date.now() + 10_000);
  expect(answer).toBe('success');
  expect(calls).toBe(3);
});

it('gives up at the deadline, and at once on anything but an unreachable issuer', async () => {
  let calls = 0;
  const unreachable = () => {
    calls++;
    return Promise.reject(new LcpNetworkError('issuer unreachable or answer lost: ECONNREFUSED'));
  };
  await expect(whileIssuerUnreachable(unreachable, Date.now() + 600)).rejects.toThrow(LcpNetworkError);
  expect(calls).toBeGreaterThanOrEqual(2);
  expect(calls).toBeLessThanOrEqual(3);
  let other = 0;
  await expect(whileIssuerUnreachable(() => Promise.reject(new Error(`refused ${++other}`)), Date.now() + 10_000)).rejects.toThrow('refused 1');
});
