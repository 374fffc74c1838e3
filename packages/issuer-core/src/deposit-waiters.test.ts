import { describe, expect, it } from 'vitest';
import { DepositWaiters } from './deposit-waiters.js';

describe('DepositWaiters', () => {
  it('a wake between register and wait is not lost', async () => {
    const waiters = new DepositWaiters();
    const waiter = waiters.register('bob');
    waiters.wake('bob'); // the deposit committed while the request was still querying
    const started = performance.now();
    expect(await waiter.wait(5000)).toBe('woken');
    expect(performance.now() - started).toBeLessThan(50);
    waiter.cancel();
    expect(waiters.size).toBe(0);
  });

  it('wakes only the named holder, and times out otherwise', async () => {
    const waiters = new DepositWaiters();
    const bob = waiters.register('bob');
    const carol = waiters.register('carol');
    const bobWait = bob.wait(5000);
    const carolWait = carol.wait(30);
    waiters.wake('bob');
    expect(await bobWait).toBe('woken');
    expect(await carolWait).toBe('timeout');
    bob.cancel();
    carol.cancel();
    expect(waiters.size).toBe(0);
  });

  it('aborts, and close wakes everyone including later registrations', async () => {
    const waiters = new DepositWaiters();
    const controller = new AbortController();
    const aborted = waiters.register('bob').wait(5000, controller.signal);
    controller.abort();
    expect(await aborted).toBe('aborted');
    const pending = waiters.register('carol').wait(5000);
    waiters.close();
    expect(await pending).toBe('woken');
    expect(await waiters.register('dave').wait(5000)).toBe('woken');
    expect(waiters.size).toBe(0);
  });

  it('a claimed waiter ignores its timer, aborts and wakes, and ends only by settle', async () => {
    const waiters = new DepositWaiters<string>();
    const controller = new AbortController();
    const plain = waiters.register('bob');
    const answering = waiters.register('bob', async () => 'answer');
    const plainWait = plain.wait(5000);
    const answeringWait = answering.wait(20, controller.signal);
    const [claimed, ...others] = waiters.claim('bob');
    expect(others).toHaveLength(0); // only a waiter with an answer can be claimed
    controller.abort();
    waiters.wake('bob');
    expect(await plainWait).toBe('woken');
    await new Promise((resolve) => setTimeout(resolve, 40));
    claimed?.settle({ answer: await claimed.answer({} as never) as string });
    expect(await answeringWait).toEqual({ answer: 'answer' });
    plain.cancel();
    answering.cancel();
    expect(waiters.size).toBe(0);
  });
});
