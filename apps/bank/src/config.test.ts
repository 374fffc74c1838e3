// The configuration names the variable that is wrong; the vault opens only what it sealed, only
// for the row it sealed it for, and only with the secret the database was made with.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { parseEnv } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { CONFIG_VARIABLES, ConfigError, parseConfig } from './config.js';
import { openDatabase, type Db } from './db.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { LoginLimiter } from './rate-limit.js';
import { Tokens } from './tokens.js';
import { Vault, VaultBoxError, VaultSecretError } from './vault.js';

const valid = {
  LCP_BANK_DOMAIN: 'bank.com',
  LCP_BANK_DATA_DIR: '/var/lib/bank',
  LCP_BANK_TLS_CERT: 'cert.pem',
  LCP_BANK_TLS_KEY: 'key.pem',
  LCP_BANK_CURRENCIES: '[{"wsdl":"http://money.com/lcp.wsdl","scale":2}]',
  LCP_BANK_SECRET: 'x'.repeat(32),
};

describe('configuration', () => {
  it('parses the environment into a frozen object with defaults', () => {
    const config = parseConfig(valid);
    expect(Object.isFrozen(config)).toBe(true);
    expect(config).toMatchObject({ domain: 'bank.com', publicUrl: 'https://bank.com', port: 443, collectWaitMs: 20_000, operatorName: 'operator' });
    expect(config.currencies).toEqual([
      { wsdl: 'http://money.com/lcp.wsdl', scale: 2, name: 'money.com', bankFee: { fixed: 0n, ppm: 0n }, feeReserve: { fixed: 0n, ppm: 20_000n } },
    ]);
    expect(parseConfig({ ...valid, LCP_BANK_PORT: '8443' }).publicUrl).toBe('https://bank.com:8443');
  });

  it.each([
    ['LCP_BANK_DOMAIN', 'Bank Com'],
    ['LCP_BANK_PORT', 'eighty'],
    ['LCP_BANK_SECRET', 'short'],
    ['LCP_BANK_CURRENCIES', 'not json'],
    ['LCP_BANK_CURRENCIES', '[]'],
    ['LCP_BANK_CURRENCIES', '[{"wsdl":"ftp://money.com/lcp.wsdl","scale":2}]'],
    ['LCP_BANK_CURRENCIES', '[{"wsdl":"http://money.com/lcp.wsdl","scale":2.5}]'],
    ['LCP_BANK_CURRENCIES', '[{"wsdl":"http://money.com/lcp.wsdl","scale":2,"bankFeeFixed":"0.001"}]'],
    ['LCP_BANK_CURRENCIES', '[{"wsdl":"http://a/lcp.wsdl","scale":2},{"wsdl":"http://a/lcp.wsdl","scale":2}]'],
    ['LCP_BANK_COLLECT_WAIT_MS', '-1'],
    ['LCP_BANK_OPERATOR_PASSWORD_HASH', 'plaintext'],
    ['LCP_BANK_LOG_LEVEL', 'loud'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => parseConfig({ ...valid, [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ ...valid, [name]: value })).toThrow(name);
  });

  it('names a missing variable', () => {
    const missing: Record<string, string | undefined> = { ...valid, LCP_BANK_SECRET: undefined };
    expect(() => parseConfig(missing)).toThrow(/LCP_BANK_SECRET/);
  });
});

describe('.env.example and lcp-bank init', () => {
  it('.env.example explains every variable, and its values parse', async () => {
    const text = await readFile(new URL('../.env.example', import.meta.url), 'utf8');
    for (const name of CONFIG_VARIABLES) expect(text, name).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
    expect(() => parseConfig(parseEnv(text) as Record<string, string>)).not.toThrow();
  });

  it('init writes a bank.env that parses, with a certificate and a fresh secret; hash-password prints a hash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lcp-bank-init-'));
    try {
      const out: string[] = [];
      await runCli(['init', '--dir', dir, '--domain', 'bank.com', '--currency', 'http://money.com/lcp.wsdl#2', '--currency', 'http://claire.com/lcp.wsdl#3'], Readable.from([]), (l) => out.push(l));
      expect(out.join('\n')).toContain('bank.env');
      const env = parseEnv(await readFile(join(dir, 'bank.env'), 'utf8')) as Record<string, string>;
      const config = parseConfig(env);
      expect(config.currencies.map((c) => [c.wsdl, c.scale])).toEqual([['http://money.com/lcp.wsdl', 2], ['http://claire.com/lcp.wsdl', 3]]);
      expect(config.secret).toHaveLength(43);
      expect(await readFile(config.tlsCertPath, 'utf8')).toContain('BEGIN CERTIFICATE');
      // seeding without a browser: an account and an agent's token
      const seeded: string[] = [];
      await runCli(['add-customer', 'bob'], Readable.from(['bob password 1\n']), (l) => seeded.push(l), env);
      await runCli(['create-token', 'bob', '--label', 'storage node', '--scope', 'payments:read', '--scope', 'spend', '--limit', '5', '--currency', 'http://money.com/lcp.wsdl'], Readable.from([]), (l) => seeded.push(l), env);
      expect(seeded[0]).toBe('bob@bank.com');
      expect(seeded[1]).toMatch(/^lcpb_[A-Za-z0-9_-]{43}$/);
      await expect(runCli(['create-token', 'bob', '--label', 'x', '--scope', 'spend'], Readable.from([]), () => undefined, env)).rejects.toThrow(/--limit/);
      const db = openDatabase(join(config.dataDir, 'bank.sqlite'));
      try {
        expect(new Tokens(db).authenticate(seeded[1] as string)).toMatchObject({ label: 'storage node', scopes: ['payments:read', 'spend'], limits: [{ dailyMax: 500n }] });
      } finally {
        db.close();
      }
      const hashed: string[] = [];
      await runCli(['hash-password'], Readable.from(['a good long password\n']), (l) => hashed.push(l));
      expect(await verifyPassword('a good long password', hashed[0] as string)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the vault', () => {
  let dir: string;
  let db: Db;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lcp-vault-'));
    db = openDatabase(join(dir, 'bank.sqlite'));
  });
  afterAll(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('seals with AES-256-GCM under a key derived from the secret, bound to its row', async () => {
    const vault = await Vault.open(db, 'the server secret, 32 characters or more');
    const box = vault.seal(Buffer.from('private key bytes'), 'customer-key:bob:abc');
    expect(box).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(box).not.toContain(Buffer.from('private key bytes').toString('base64url'));
    expect(vault.open(box, 'customer-key:bob:abc').toString()).toBe('private key bytes');
    // moved to another row, or changed by one character: it does not open
    expect(() => vault.open(box, 'customer-key:eve:abc')).toThrow(VaultBoxError);
    const parts = box.split('.');
    const ciphertext = parts[4] as string;
    parts[4] = (ciphertext[0] === 'A' ? 'B' : 'A') + ciphertext.slice(1);
    expect(() => vault.open(parts.join('.'), 'customer-key:bob:abc')).toThrow(VaultBoxError);
    // two seals of the same key differ (fresh salt and IV)
    expect(vault.seal(Buffer.from('x'), 'a')).not.toBe(vault.seal(Buffer.from('x'), 'a'));
    // the same secret opens it again after a restart; another secret is refused at start
    const again = await Vault.open(db, 'the server secret, 32 characters or more');
    expect(again.open(box, 'customer-key:bob:abc').toString()).toBe('private key bytes');
    await expect(Vault.open(db, 'another secret of at least 32 characters')).rejects.toBeInstanceOf(VaultSecretError);
  });
});

describe('passwords and sign-in attempts', () => {
  it('hashes with scrypt and a salt, and verifies', async () => {
    const hash = await hashPassword('correct horse battery', 10);
    expect(hash).toMatch(/^scrypt\$10\$8\$1\$/);
    expect(await hashPassword('correct horse battery', 10)).not.toBe(hash);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
    expect(await verifyPassword('anything', 'garbage')).toBe(false);
  });

  it('limits failures per key within the window', () => {
    const limiter = new LoginLimiter(3, 60_000);
    for (let i = 0; i < 3; i++) limiter.fail('ip|bob', 1000 + i);
    expect(limiter.retryAfter('ip|bob', 2000)).toBe(60_000 + 1000 - 2000);
    expect(limiter.retryAfter('ip|eve', 2000)).toBe(0);
    expect(limiter.retryAfter('ip|bob', 61_001)).toBe(0);
    limiter.fail('ip|eve', 0);
    limiter.succeed('ip|eve');
    expect(limiter.retryAfter('ip|eve', 1)).toBe(0);
  });
});
