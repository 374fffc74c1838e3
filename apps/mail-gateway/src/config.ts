// The gateway's configuration: parsed once from an environment record (LCP_MAIL_*), validated,
// frozen. Nothing else in the app reads process.env; main.ts passes it in.
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { paymentName } from './payees.js';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const domain = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** The bank accounts that policy payees name: {"bob@bank.com": {"url": "https://bank.com", "tokenFile": "bob.token"}}. */
const bankAccounts = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object such as {"bob@bank.com": {"tokenFile": "bob-bank.token"}}' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      z.string().refine((s) => paymentName(s) !== undefined, 'each key must be a payment name such as bob@bank.com'),
      z
        .object({
          /** The bank's HTTPS origin; https://<the name's domain> by default. */
          url: z.url({ protocol: /^https$/ }).optional(),
          token: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be the bank token as the bank gave it').optional(),
          tokenFile: z.string().min(1).optional(),
        })
        .strict()
        .refine((a) => (a.token === undefined) !== (a.tokenFile === undefined), 'give exactly one of token and tokenFile'),
    ),
  );

const schema = z.object({
  LCP_MAIL_HOME: z.string().min(1),
  LCP_MAIL_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a short name such as mx').default('mail-gateway'),
  /** The name the gateway greets with (EHLO banner) and the downstream MTA sees. */
  LCP_MAIL_HOSTNAME: z.string().regex(domain, 'must be a host name such as mx.example.org').default('localhost.localdomain'),
  LCP_MAIL_HOST: z.string().min(1).default('0.0.0.0'),
  LCP_MAIL_PORT: port.default(25),
  LCP_MAIL_DOMAINS: z
    .string()
    .transform((s) => s.split(',').map((d) => d.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.string().regex(domain, 'must be domain names such as example.org, separated by commas')).min(1)),
  LCP_MAIL_DOWNSTREAM: z.string().regex(/^[A-Za-z0-9.-]+:[0-9]{1,5}$/, 'must be host:port of the MTA behind the gateway, e.g. 127.0.0.1:10025'),
  LCP_MAIL_DOWNSTREAM_CONNECTIONS: positiveInt.max(100).default(5),
  LCP_MAIL_POLICY: z.string().min(1).default('policy.json'),
  LCP_MAIL_TLS_CERT: z.string().min(1),
  LCP_MAIL_TLS_KEY: z.string().min(1),
  LCP_MAIL_ISSUER_CA: z.string().min(1).optional(),
  LCP_MAIL_MAX_BYTES: positiveInt.default(10 * 1024 * 1024),
  LCP_MAIL_MAX_RECIPIENTS: positiveInt.max(1000).default(50),
  LCP_MAIL_MAX_CLIENTS: positiveInt.max(100_000).default(100),
  LCP_MAIL_PAYMENT_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  LCP_MAIL_QUOTE_SECONDS: positiveInt.default(24 * 3600),
  LCP_MAIL_API_PORT: port.default(7470),
  LCP_MAIL_BANK_ACCOUNTS: bankAccounts.default({}),
  LCP_MAIL_BANK_CA: z.string().min(1).optional(),
  LCP_MAIL_SWEEP_SECONDS: z.coerce.number().int().min(0).max(7 * 24 * 3600).default(300),
  LCP_MAIL_REFUND_GRACE_SECONDS: z.coerce.number().int().min(0).max(30 * 24 * 3600).default(600),
  LCP_MAIL_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface MailGatewayConfig {
  name: string;
  hostname: string;
  home: string;
  identityKeyPath: string;
  certificatePath: string;
  databasePath: string;
  walletDir: string;
  policyPath: string;
  host: string;
  port: number;
  /** Domains whose mail this gateway accepts; anything else is refused (not an open relay). */
  domains: string[];
  downstream: { host: string; port: number; connections: number };
  tls: { certPath: string; keyPath: string };
  issuerCaPath?: string;
  maxBytes: number;
  maxRecipients: number;
  maxClients: number;
  paymentWaitMs: number;
  quoteSeconds: number;
  /** The recipients' HTTP interface (refunds, correspondents), on 127.0.0.1 only. */
  apiPort: number;
  /** Bank accounts of policy payees (bob@bank.com): where the gateway asks about payments and sends refunds from. */
  bankAccounts: BankAccountConfig[];
  /** Trust anchors for banks' certificates (payments API and name documents); the system's by default. */
  bankCaPath?: string;
  /** How often expired quotes are swept (paid but unused postage refunded); 0: never. */
  sweepSeconds: number;
  /** How long after its expiry a quote is left alone before the sweep looks at it. */
  refundGraceSeconds: number;
  logLevel: string;
}

export interface BankAccountConfig {
  /** The payment name, e.g. bob@bank.com */
  name: string;
  /** The bank's HTTPS origin, e.g. https://bank.com */
  url: string;
  token?: string;
  tokenPath?: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses a record of LCP_MAIL_* variables; a bad value is an error that names the variable. */
export function parseConfig(env: Record<string, string | undefined>): Readonly<MailGatewayConfig> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid mail gateway configuration:\n  ${problems.join('\n  ')}`);
  }
  const c = parsed.data;
  const home = c.LCP_MAIL_HOME;
  const inHome = (path: string) => (isAbsolute(path) ? path : join(home, path));
  const [downstreamHost, downstreamPort] = c.LCP_MAIL_DOWNSTREAM.split(':') as [string, string];
  if (Number(downstreamPort) < 1 || Number(downstreamPort) > 65535) {
    throw new ConfigError('invalid mail gateway configuration:\n  LCP_MAIL_DOWNSTREAM: the port must be 1-65535');
  }
  return Object.freeze({
    name: c.LCP_MAIL_NAME,
    hostname: c.LCP_MAIL_HOSTNAME,
    home,
    identityKeyPath: inHome('identity.pem'),
    certificatePath: inHome('certificate.pem'),
    databasePath: inHome('postage.sqlite'),
    walletDir: inHome('wallet'),
    policyPath: inHome(c.LCP_MAIL_POLICY),
    host: c.LCP_MAIL_HOST,
    port: c.LCP_MAIL_PORT,
    domains: c.LCP_MAIL_DOMAINS,
    downstream: { host: downstreamHost, port: Number(downstreamPort), connections: c.LCP_MAIL_DOWNSTREAM_CONNECTIONS },
    tls: { certPath: inHome(c.LCP_MAIL_TLS_CERT), keyPath: inHome(c.LCP_MAIL_TLS_KEY) },
    ...(c.LCP_MAIL_ISSUER_CA ? { issuerCaPath: inHome(c.LCP_MAIL_ISSUER_CA) } : {}),
    maxBytes: c.LCP_MAIL_MAX_BYTES,
    maxRecipients: c.LCP_MAIL_MAX_RECIPIENTS,
    maxClients: c.LCP_MAIL_MAX_CLIENTS,
    paymentWaitMs: c.LCP_MAIL_PAYMENT_WAIT_MS,
    quoteSeconds: c.LCP_MAIL_QUOTE_SECONDS,
    apiPort: c.LCP_MAIL_API_PORT,
    bankAccounts: Object.entries(c.LCP_MAIL_BANK_ACCOUNTS).map(([key, a]) => {
      const name = paymentName(key) as string;
      return {
        name,
        url: a.url ?? `https://${name.slice(name.lastIndexOf('@') + 1)}`,
        ...(a.token ? { token: a.token } : {}),
        ...(a.tokenFile ? { tokenPath: inHome(a.tokenFile) } : {}),
      };
    }),
    ...(c.LCP_MAIL_BANK_CA ? { bankCaPath: inHome(c.LCP_MAIL_BANK_CA) } : {}),
    sweepSeconds: c.LCP_MAIL_SWEEP_SECONDS,
    refundGraceSeconds: c.LCP_MAIL_REFUND_GRACE_SECONDS,
    logLevel: c.LCP_MAIL_LOG_LEVEL,
  });
}
