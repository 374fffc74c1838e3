import { expect, it } from 'vitest';
import { childTraceparent, parseTraceparent } from './trace.js';

it('parses W3C traceparent headers and makes child spans in the same trace', () => {
  const root = childTraceparent();
  const parsed = parseTraceparent(root);
  expect(root).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  const child = parseTraceparent(childTraceparent(root));
  expect(child?.traceId).toBe(parsed?.traceId);
  expect(child?.spanId).not.toBe(parsed?.spanId);
  for (const bad of [undefined, '', 'garbage', `00-${'0'.repeat(32)}-${'a'.repeat(16)}-01`, `00-${'a'.repeat(32)}-${'0'.repeat(16)}-01`]) {
    expect(parseTraceparent(bad)).toBeUndefined();
  }
});
