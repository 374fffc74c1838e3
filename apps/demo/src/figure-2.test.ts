// Figure 2 in-process: every app's startX() in one test process on loopback, real TLS and SOAP.
import { expect, it } from 'vitest';
import { FIGURE_2_ORDER } from './figure-2-trace.js';
import { runFigure2 } from './figure-2.js';
import { ownProcess } from './party-host.js';

// clip: 256 KiB at Bob's read price of 0.01 per KiB; money.com's fee on that transfer rounds up to 0.04
const PRICE = 500n;
const READ_PRICE = 256n;
const READ_FEE = 4n;

const delta = (r: Awaited<ReturnType<typeof runFigure2>>, party: string) => (r.after[party] ?? 0n) - (r.before[party] ?? 0n);

it('replays Figure 2 with opaque banking: bytes, every balance, the bank, and the order of the steps', async () => {
  const lines: string[] = [];
  const r = await runFigure2({ out: (line) => lines.push(line) });
  expect(r.delivered).toBe(true);
  expect(r.steps).toEqual(FIGURE_2_ORDER);
  expect(r.aliceFee).toBeGreaterThan(0n);
  expect(delta(r, 'Alice')).toBe(-(PRICE + r.aliceFee));
  expect(delta(r, 'video.com')).toBe(PRICE - READ_PRICE - READ_FEE);
  expect(delta(r, 'bank.com')).toBe(READ_PRICE); // the bank's key at money.com, for bob@bank.com
  expect(delta(r, 'Bob')).toBe(0n); // Bob's node holds no money.com account of its own
  expect(delta(r, 'money.com (fees)')).toBe(r.aliceFee + READ_FEE);
  expect(r.bobAtBank.after - r.bobAtBank.before).toBe(READ_PRICE);
  expect(r.sum).toBe(0n);
  expect(r.reconciled).toBe(true);
  expect(lines.join('\n')).toContain('Done: Figure 2 happened');
}, 60_000);

it('replays the transparent-banking variant: step 3\' pays Bob\'s own key', async () => {
  const r = await runFigure2({ transparent: true, out: () => undefined });
  expect(r.delivered).toBe(true);
  expect(r.steps).toEqual(FIGURE_2_ORDER);
  expect(delta(r, 'Bob')).toBe(READ_PRICE); // Bob's own key, which bank.com keeps for him
  expect(delta(r, 'video.com')).toBe(PRICE - READ_PRICE - READ_FEE);
  expect(r.sum).toBe(0n);
  expect(r.reconciled).toBe(true);
}, 60_000);

it('replays Figure 2 with each party in a process of its own, as the demo does', async () => {
  const r = await runFigure2({ host: ownProcess, out: () => undefined });
  expect(r.delivered).toBe(true);
  expect(r.steps).toEqual(FIGURE_2_ORDER);
  expect(delta(r, 'bank.com')).toBe(READ_PRICE);
  expect(r.bobAtBank.after - r.bobAtBank.before).toBe(READ_PRICE);
  expect(r.sum).toBe(0n);
  expect(r.reconciled).toBe(true);
}, 90_000);
