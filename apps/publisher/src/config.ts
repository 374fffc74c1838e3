// video.com's configuration: parsed once from an environment record (LCP_PUBLISHER_*),
// validated, frozen. Nothing else in the app reads process.env; main.ts passes it in.
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);

const schema = z.object({
  LCP_PUBLISHER_HOME: z.string().min(1),
  LCP_PUBLISHER_DOMAIN: z.string().regex(/^[a-z0-9.-]+$/i, 'must be a DNS name such as video.com'),
  LCP_PUBLISHER_HOST: z.string().min(1).default('0.0.0.0'),
  LCP_PUBLISHER_PORT: port.default(443),
  LCP_PUBLISHER_PUBLIC_URL: z.url({ protocol: /^https$/ }).optional(),
  LCP_PUBLISHER_TLS_CERT: z.string().min(1).default('tls/cert.pem'),
  LCP_PUBLISHER_TLS_KEY: z.string().min(1).default('tls/key.pem'),
  LCP_PUBLISHER_CA: z.string().min(1).optional(),
  LCP_PUBLISHER_CATALOG: z.string().min(1).default('catalog.json'),
  LCP_PUBLISHER_PAYMENT_WAIT_MS: z.coerce.number().int().min(100).max(600_000).default(60_000),
  LCP_PUBLISHER_PURCHASE_SECONDS: z.coerce.number().int().min(10).max(86_400).default(900),
  LCP_PUBLISHER_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface PublisherConfig {
  domain: string;
  home: string;
  /** The publisher's Ed25519 key: its account at every issuer, and its TLS certificate's key. */
  identityKeyPath: string;
  databasePath: string;
  walletDir: string;
  host: string;
  port: number;
  publicUrl: string;
  tlsCertPath: string;
  tlsKeyPath: string;
  /** Trust anchors for issuers, banks and the publisher's own chain (the demo CA in tests). */
  caPath?: string;
  catalogPath: string;
  /** How long a purchase waits for the buyer's payment (step 3). */
  paymentWaitMs: number;
  purchaseSeconds: number;
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function parseConfig(env: Record<string, string | undefined>): Readonly<PublisherConfig> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid publisher configuration:\n  ${problems.join('\n  ')}`);
  }
  const c = parsed.data;
  const inHome = (path: string) => (isAbsolute(path) ? path : join(c.LCP_PUBLISHER_HOME, path));
  return Object.freeze({
    domain: c.LCP_PUBLISHER_DOMAIN,
    home: c.LCP_PUBLISHER_HOME,
    identityKeyPath: inHome('identity.pem'),
    databasePath: inHome('publisher.sqlite'),
    walletDir: inHome('wallet'),
    host: c.LCP_PUBLISHER_HOST,
    port: c.LCP_PUBLISHER_PORT,
    publicUrl: c.LCP_PUBLISHER_PUBLIC_URL ?? `https://${c.LCP_PUBLISHER_DOMAIN}:${c.LCP_PUBLISHER_PORT}`,
    tlsCertPath: inHome(c.LCP_PUBLISHER_TLS_CERT),
    tlsKeyPath: inHome(c.LCP_PUBLISHER_TLS_KEY),
    ...(c.LCP_PUBLISHER_CA ? { caPath: inHome(c.LCP_PUBLISHER_CA) } : {}),
    catalogPath: inHome(c.LCP_PUBLISHER_CATALOG),
    paymentWaitMs: c.LCP_PUBLISHER_PAYMENT_WAIT_MS,
    purchaseSeconds: c.LCP_PUBLISHER_PURCHASE_SECONDS,
    logLevel: c.LCP_PUBLISHER_LOG_LEVEL,
  });
}
