import { expect, it } from 'vitest';
import { runFigure1 } from './figure-1.js';

it('replays Figure 1 end to end and narrates every step', async () => {
  const lines: string[] = [];
  const result = await runFigure1((line) => lines.push(line));
  expect(result).toEqual({ alice: 90_00n, bob: 10_00n, sum: 0n });
  const text = lines.join('\n');
  for (const step of ['(1)', '(2)', '(3)', '(4)']) expect(text).toContain(step);
  expect(text).toContain('<transactionId>12345678</transactionId>');
  expect(text).toContain('<result>success</result>');
  expect(text).toMatch(/<balance>10<\/balance>/);
});
