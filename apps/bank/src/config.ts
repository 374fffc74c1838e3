// The bank's configuration: parsed once from the environment (LCP_BANK_*), validated, frozen.
// Nothing else in the app reads process.env; main.ts passes it in.
import { z } from 'zod';
import { parseAmount } from '@lcp/protocol';

const port = z.coerce.number().int().min(0).max(65535);
const decimal = z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'must be a decimal such as 0.5');

const currencySchema = z
  .object({
    wsdl: z.url({ protocol: /^https?$/ }),
    scale: z.number().int().min(0).max(18),
    name: z
      .string()
      .regex(/^[A-Za-z0-9 ._:-]{1,40}$/, 'must be 1-40 letters, digits, spaces or ._:-')
      .optional(),
    bankFeeFixed: decimal.default('0'),
    bankFeePpm: z.number().int().min(0).max(1_000_000).default(0),
    feeReserveFixed: decimal.default('0'),
    feeReservePpm: z.number().int().min(0).max(1_000_000).default(20_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const field of ['bankFeeFixed', 'feeReserveFixed'] as const) {
      const parsed = parseAmount(c[field], c.scale);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', path: [field], message: parsed.reason });
    }
  });

const json = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array such as [{"wsdl":"http://money.com/lcp.wsdl","scale":2}]' });
    return z.NEVER;
  }
});

const schema = z.object({
  LCP_BANK_DOMAIN: z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, 'must be a lowercase DNS name such as bank.com'),
  LCP_BANK_PUBLIC_URL: z.url({ protocol: /^https$/ }).optional(),
  LCP_BANK_HOST: z.string().min(1).default('0.0.0.0'),
  LCP_BANK_PORT: port.default(443),
  LCP_BANK_DATA_DIR: z.string().min(1),
  LCP_BANK_TLS_CERT: z.string().min(1),
  LCP_BANK_TLS_KEY: z.string().min(1),
  LCP_BANK_CA: z.string().min(1).optional(),
  LCP_BANK_CURRENCIES: json.pipe(
    z
      .array(currencySchema)
      .min(1, 'must list at least one currency')
      .refine((list) => new Set(list.map((c) => c.wsdl)).size === list.length, 'lists a WSDL URL twice'),
  ),
  LCP_BANK_SECRET: z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 32`)'),
  LCP_BANK_OPERATOR_NAME: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,31}$/, 'must be a lowercase name').default('operator'),
  LCP_BANK_OPERATOR_PASSWORD_HASH: z.string().regex(/^scrypt\$/, 'must be a hash printed by `lcp-bank hash-password`').optional(),
  LCP_BANK_COLLECT_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(20_000),
  LCP_BANK_COLLECT: z.enum(['continuous', 'on-request']).default('continuous'),
  LCP_BANK_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(500).max(86_400_000).default(30_000),
  LCP_BANK_SCRYPT_LOG_N: z.coerce.number().int().min(10).max(20).default(15),
  LCP_BANK_SESSION_HOURS: z.coerce.number().min(0.1).max(24 * 30).default(12),
  LCP_BANK_LOGIN_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(5),
  LCP_BANK_LOGIN_WINDOW_MINUTES: z.coerce.number().min(0.1).max(24 * 60).default(15),
  LCP_BANK_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Every variable the bank reads (.env.example lists them all). */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

export interface CurrencyConfig {
  /** The issuer's WSDL URL: what names the currency everywhere (API, name documents). */
  wsdl: string;
  /** Digits after the point (a property of the currency, not on the wire). */
  scale: number;
  /** Shown to people; the WSDL's host by default. */
  name: string;
  /** The bank's own fee on each payment a customer sends, on top of the issuer's: fixed minor units + ppm of the amount. */
  bankFee: { fixed: bigint; ppm: bigint };
  /** Held back while a payment is in flight for the issuer's fee, which is known only from its answer. */
  feeReserve: { fixed: bigint; ppm: bigint };
}

export interface BankConfig {
  domain: string;
  /** Where customers and agents reach the bank. */
  publicUrl: string;
  host: string;
  port: number;
  dataDir: string;
  tlsCertPath: string;
  tlsKeyPath: string;
  /** Trust anchors for issuers' and other banks' certificates; the system's if absent. */
  caPath?: string;
  currencies: readonly CurrencyConfig[];
  secret: string;
  operatorName: string;
  operatorPasswordHash?: string;
  collectWaitMs: number;
  /**
   * 'continuous' keeps a getDeposits long-poll open per key, so payments show up at once;
   * 'on-request' collects only when an agent asks about a payment, as in the paper's Figure 2
   * (step 5 makes the bank do step 6).
   */
  collect: 'continuous' | 'on-request';
  reconcileIntervalMs: number;
  scryptLogN: number;
  sessionMs: number;
  loginAttempts: number;
  loginWindowMs: number;
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses a record of LCP_BANK_* variables; a bad value is an error that names the variable. */
export function parseConfig(env: Record<string, string | undefined>): Readonly<BankConfig> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid bank configuration:\n  ${problems.join('\n  ')}`);
  }
  const c = parsed.data;
  const portSuffix = c.LCP_BANK_PORT === 443 ? '' : `:${c.LCP_BANK_PORT}`;
  const minor = (text: string, scale: number): bigint => {
    const parsedAmount = parseAmount(text, scale);
    if (!parsedAmount.ok) throw new ConfigError(`LCP_BANK_CURRENCIES: ${parsedAmount.reason}`);
    return parsedAmount.value;
  };
  const currencies = c.LCP_BANK_CURRENCIES.map((cur) =>
    Object.freeze({
      wsdl: cur.wsdl,
      scale: cur.scale,
      name: cur.name ?? new URL(cur.wsdl).host,
      bankFee: Object.freeze({ fixed: minor(cur.bankFeeFixed, cur.scale), ppm: BigInt(cur.bankFeePpm) }),
      feeReserve: Object.freeze({ fixed: minor(cur.feeReserveFixed, cur.scale), ppm: BigInt(cur.feeReservePpm) }),
    }),
  );
  return Object.freeze({
    domain: c.LCP_BANK_DOMAIN,
    publicUrl: (c.LCP_BANK_PUBLIC_URL ?? `https://${c.LCP_BANK_DOMAIN}${portSuffix}`).replace(/\/$/, ''),
    host: c.LCP_BANK_HOST,
    port: c.LCP_BANK_PORT,
    dataDir: c.LCP_BANK_DATA_DIR,
    tlsCertPath: c.LCP_BANK_TLS_CERT,
    tlsKeyPath: c.LCP_BANK_TLS_KEY,
    ...(c.LCP_BANK_CA ? { caPath: c.LCP_BANK_CA } : {}),
    currencies: Object.freeze(currencies),
    secret: c.LCP_BANK_SECRET,
    operatorName: c.LCP_BANK_OPERATOR_NAME,
    ...(c.LCP_BANK_OPERATOR_PASSWORD_HASH ? { operatorPasswordHash: c.LCP_BANK_OPERATOR_PASSWORD_HASH } : {}),
    collectWaitMs: c.LCP_BANK_COLLECT_WAIT_MS,
    collect: c.LCP_BANK_COLLECT,
    reconcileIntervalMs: c.LCP_BANK_RECONCILE_INTERVAL_MS,
    scryptLogN: c.LCP_BANK_SCRYPT_LOG_N,
    sessionMs: Math.round(c.LCP_BANK_SESSION_HOURS * 3_600_000),
    loginAttempts: c.LCP_BANK_LOGIN_ATTEMPTS,
    loginWindowMs: Math.round(c.LCP_BANK_LOGIN_WINDOW_MINUTES * 60_000),
    logLevel: c.LCP_BANK_LOG_LEVEL,
  });
}
