// lcp-issuer's commands on a real currency folder, run in-process through runCli.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateIdentity } from '@lcp/crypto';
import { runCli } from './cli.js';
import { ConfigError, parseConfig } from './config.js';

let dir: string;
const run = async (...argv: string[]) => {
  const lines: string[] = [];
  await runCli(argv, {}, (line) => lines.push(line));
  return lines.join('\n');
};

beforeAll(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'lcp-cli-')), 'claire.com');
});
afterAll(() => rm(join(dir, '..'), { recursive: true, force: true }));

it('creates a currency, mints, and shows totals and statements', async () => {
  const created = await run('init', '--dir', dir, '--domain', 'claire.com', '--scale', '2', '--cap', '100000');
  const treasury = /treasury: ([0-9a-f]{64})/.exec(created)?.[1];
  expect(treasury).toBeDefined();
  expect((await stat(join(dir, 'identity.pem'))).mode & 0o777).toBe(0o600);
  expect(await readFile(join(dir, 'tls', 'request.csr'), 'utf8')).toContain('BEGIN CERTIFICATE REQUEST');
  expect(await readFile(join(dir, 'issuer.env'), 'utf8')).toContain('LCP_ISSUANCE_CAP=100000');

  const alice = generateIdentity().id;
  expect(await run('mint', '--dir', dir, '--to', alice, '--amount', '100', '--transaction-id', 'issue-1')).toContain(
    'success: 100 to',
  );
  expect(await run('balance', '--dir', dir, '--account', alice)).toBe('100');
  expect(await run('balance', '--dir', dir)).toBe('-100');
  expect(await run('totals', '--dir', dir)).toMatch(/^sum 0 {2}accounts 2 {2}transfers 1/);
  expect(await run('statement', '--dir', dir, '--account', alice)).toMatch(/transfer\s+100\s+issue-1/);
  // the cap is 1000.00: minting beyond it is refused, and nothing moves
  expect(await run('mint', '--dir', dir, '--to', alice, '--amount', '901')).toContain('issuanceCapExceeded');
  expect(await run('balance', '--dir', dir, '--account', alice)).toBe('100');
});

it('refuses bad input with a message that says what is wrong', async () => {
  await expect(run('mint', '--dir', dir, '--to', 'alice', '--amount', '1')).rejects.toThrow(/--to must be an entity id/);
  await expect(run('mint', '--dir', dir, '--to', 'ab'.repeat(32), '--amount', '1.001')).rejects.toThrow(/--amount: .*decimal places/);
  await expect(run('frobnicate', '--dir', dir)).rejects.toThrow(/unknown command frobnicate/);
});

it('names the variable when a setting is bad', () => {
  const base = { LCP_DOMAIN: 'money.com', LCP_DATABASE: 'l', LCP_IDENTITY_KEY: 'k', LCP_TLS_CERT: 'c', LCP_TLS_KEY: 'k' };
  expect(() => parseConfig({ ...base, LCP_HTTPS_PORT: 'eighty' })).toThrow(/LCP_HTTPS_PORT/);
  expect(() => parseConfig({ ...base, LCP_FEE_RATE_PPM: '1.5' })).toThrow(ConfigError);
  expect(() => parseConfig({ ...base, LCP_FEE_RATE_PPM: '1.5' })).toThrow(/LCP_FEE_RATE_PPM/);
  expect(() => parseConfig({ ...base, LCP_DOMAIN: undefined })).toThrow(/LCP_DOMAIN/);
  expect(parseConfig(base)).toMatchObject({ httpsPort: 443, httpPort: 80, publicUrl: 'https://money.com/lcp', scale: 2 });
});
