// The storage node's configuration: parsed once from an environment record (LCP_STORAGE_*),
// validated, frozen. Nothing else in the app reads process.env; main.ts passes it in.
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { parseAmount } from '@lcp/protocol';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const decimal = z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'must be a plain decimal such as 10 or 0.5');

const schema = z
  .object({
    LCP_STORAGE_HOME: z.string().min(1),
    LCP_STORAGE_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a short name such as bob').default('storage-node'),
    LCP_STORAGE_HOST: z.string().min(1).default('0.0.0.0'),
    LCP_STORAGE_PORT: port.default(8443),
    LCP_STORAGE_PUBLIC_URL: z.url({ protocol: /^https$/ }).optional(),
    LCP_STORAGE_CURRENCY_WSDL: z.url({ protocol: /^https?$/ }),
    LCP_STORAGE_CURRENCY_SCALE: z.coerce.number().int().min(0).max(18).default(2),
    LCP_STORAGE_CONTRACT_PRICE: decimal.default('10'),
    LCP_STORAGE_WRITE_PRICE_PER_KB: decimal.default('1'),
    LCP_STORAGE_READ_PRICE_PER_KB: decimal.default('4'),
    LCP_STORAGE_CONTRACT_BYTES: positiveInt.default(1024 * 1024),
    LCP_STORAGE_CAPACITY_BYTES: positiveInt.default(1024 * 1024 * 1024),
    LCP_STORAGE_CONTRACT_SECONDS: positiveInt.default(14 * 24 * 3600),
    LCP_STORAGE_OFFER_SECONDS: positiveInt.default(3600),
    LCP_STORAGE_INSTRUCTION_SECONDS: positiveInt.default(300),
    LCP_STORAGE_PAYMENT_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(10_000),
    LCP_STORAGE_PAYEE: z.enum(['issuer', 'agent', 'bank']).default('issuer'),
    LCP_STORAGE_ISSUER_CA: z.string().min(1).optional(),
    LCP_STORAGE_AGENT_URL: z.url({ protocol: /^http$/ }).default('http://127.0.0.1:7468'),
    LCP_STORAGE_AGENT_TOKEN: z.string().min(16).optional(),
    LCP_STORAGE_BANK_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}@[a-z0-9.-]+$/, 'must be a payment name such as bob@bank.com').optional(),
    LCP_STORAGE_BANK_URL: z.url({ protocol: /^https$/ }).optional(),
    LCP_STORAGE_BANK_TOKEN: z.string().min(1).optional(),
    LCP_STORAGE_BANK_CA: z.string().min(1).optional(),
    LCP_STORAGE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((c, ctx) => {
    for (const name of ['LCP_STORAGE_CONTRACT_PRICE', 'LCP_STORAGE_WRITE_PRICE_PER_KB', 'LCP_STORAGE_READ_PRICE_PER_KB'] as const) {
      const parsed = parseAmount(c[name], c.LCP_STORAGE_CURRENCY_SCALE);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', path: [name], message: parsed.reason });
      else if (parsed.value === 0n) ctx.addIssue({ code: 'custom', path: [name], message: 'must be above zero (LCP moves only positive amounts)' });
    }
    if (c.LCP_STORAGE_CONTRACT_BYTES > c.LCP_STORAGE_CAPACITY_BYTES) {
      ctx.addIssue({ code: 'custom', path: ['LCP_STORAGE_CONTRACT_BYTES'], message: 'must not exceed LCP_STORAGE_CAPACITY_BYTES' });
    }
    if (c.LCP_STORAGE_PAYEE === 'agent' && !c.LCP_STORAGE_AGENT_TOKEN) {
      ctx.addIssue({ code: 'custom', path: ['LCP_STORAGE_AGENT_TOKEN'], message: 'is required when LCP_STORAGE_PAYEE=agent' });
    }
    if (c.LCP_STORAGE_PAYEE === 'bank') {
      for (const name of ['LCP_STORAGE_BANK_NAME', 'LCP_STORAGE_BANK_TOKEN'] as const) {
        if (!c[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when LCP_STORAGE_PAYEE=bank' });
      }
    }
  });

export type PayeeMode = 'issuer' | 'agent' | 'bank';

export interface StorageNodeConfig {
  /** Short name used in logs and trace events ("bob"). */
  name: string;
  home: string;
  identityKeyPath: string;
  databasePath: string;
  contentDir: string;
  walletDir: string;
  host: string;
  port: number;
  /** Where buyers and readers reach this node; `:0` is replaced by the real port. */
  publicUrl: string;
  currency: { wsdl: string; scale: number };
  /** Minor units of the currency. */
  prices: { contract: bigint; writePerKb: bigint; readPerKb: bigint };
  contractBytes: number;
  capacityBytes: number;
  contractSeconds: number;
  offerSeconds: number;
  instructionSeconds: number;
  paymentWaitMs: number;
  payee: PayeeMode;
  issuerCaPath?: string;
  agent: { url: string; token?: string };
  bank: { name?: string; url?: string; token?: string; caPath?: string };
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const amount = (text: string, scale: number): bigint => {
  const parsed = parseAmount(text, scale);
  if (!parsed.ok) throw new ConfigError(parsed.reason); // unreachable: checked by the schema
  return parsed.value;
};

/** Parses a record of LCP_STORAGE_* variables; a bad value is an error that names the variable. */
export function parseConfig(env: Record<string, string | undefined>): Readonly<StorageNodeConfig> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid storage node configuration:\n  ${problems.join('\n  ')}`);
  }
  const c = parsed.data;
  const home = c.LCP_STORAGE_HOME;
  const inHome = (path: string) => (isAbsolute(path) ? path : join(home, path));
  const scale = c.LCP_STORAGE_CURRENCY_SCALE;
  return Object.freeze({
    name: c.LCP_STORAGE_NAME,
    home,
    identityKeyPath: inHome('identity.pem'),
    databasePath: inHome('storage.sqlite'),
    contentDir: inHome('content'),
    walletDir: inHome('wallet'),
    host: c.LCP_STORAGE_HOST,
    port: c.LCP_STORAGE_PORT,
    publicUrl: (c.LCP_STORAGE_PUBLIC_URL ?? `https://localhost:${c.LCP_STORAGE_PORT}`).replace(/\/$/, ''),
    currency: { wsdl: c.LCP_STORAGE_CURRENCY_WSDL, scale },
    prices: {
      contract: amount(c.LCP_STORAGE_CONTRACT_PRICE, scale),
      writePerKb: amount(c.LCP_STORAGE_WRITE_PRICE_PER_KB, scale),
      readPerKb: amount(c.LCP_STORAGE_READ_PRICE_PER_KB, scale),
    },
    contractBytes: c.LCP_STORAGE_CONTRACT_BYTES,
    capacityBytes: c.LCP_STORAGE_CAPACITY_BYTES,
    contractSeconds: c.LCP_STORAGE_CONTRACT_SECONDS,
    offerSeconds: c.LCP_STORAGE_OFFER_SECONDS,
    instructionSeconds: c.LCP_STORAGE_INSTRUCTION_SECONDS,
    paymentWaitMs: c.LCP_STORAGE_PAYMENT_WAIT_MS,
    payee: c.LCP_STORAGE_PAYEE,
    ...(c.LCP_STORAGE_ISSUER_CA ? { issuerCaPath: inHome(c.LCP_STORAGE_ISSUER_CA) } : {}),
    agent: { url: c.LCP_STORAGE_AGENT_URL.replace(/\/$/, ''), ...(c.LCP_STORAGE_AGENT_TOKEN ? { token: c.LCP_STORAGE_AGENT_TOKEN } : {}) },
    bank: {
      ...(c.LCP_STORAGE_BANK_NAME ? { name: c.LCP_STORAGE_BANK_NAME } : {}),
      ...(c.LCP_STORAGE_BANK_URL ? { url: c.LCP_STORAGE_BANK_URL.replace(/\/$/, '') } : {}),
      ...(c.LCP_STORAGE_BANK_TOKEN ? { token: c.LCP_STORAGE_BANK_TOKEN } : {}),
      ...(c.LCP_STORAGE_BANK_CA ? { caPath: inHome(c.LCP_STORAGE_BANK_CA) } : {}),
    },
    logLevel: c.LCP_STORAGE_LOG_LEVEL,
  });
}
