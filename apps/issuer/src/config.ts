// The issuer's configuration: parsed once from the environment (and the currency's own
// issuer.env), validated, frozen. Nothing else in the app reads process.env.
import { z } from 'zod';

const amountMinor = z
  .string()
  .regex(/^[0-9]{1,19}$/, 'must be a whole number of minor units')
  .transform((text) => BigInt(text));

const port = z.coerce.number().int().min(0).max(65535);

const schema = z.object({
  LCP_DOMAIN: z.string().regex(/^[a-z0-9.-]+$/i, 'must be a DNS name such as money.com'),
  LCP_PUBLIC_URL: z.url({ protocol: /^https$/ }).optional(),
  LCP_HOST: z.string().default('0.0.0.0'),
  LCP_HTTPS_PORT: port.default(443),
  LCP_HTTP_PORT: port.default(80),
  LCP_DATABASE: z.string().min(1),
  LCP_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  LCP_DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(32),
  LCP_DATABASE_WRITERS: z.coerce.number().int().min(0).max(64).default(2),
  LCP_ALLOW_NON_DURABLE: z.enum(['true', 'false']).default('false'),
  LCP_NODE_ID: z.string().regex(/^[A-Za-z0-9._-]{1,40}$/, 'must be 1 to 40 of [A-Za-z0-9._-]').optional(),
  LCP_TICKET_KEY_ROTATION_S: z.coerce.number().int().min(10).max(7 * 24 * 3600).default(3600),
  LCP_IDENTITY_KEY: z.string().min(1),
  LCP_TLS_CERT: z.string().min(1),
  LCP_TLS_KEY: z.string().min(1),
  LCP_TLS_CA: z.string().min(1).optional(),
  LCP_SCALE: z.coerce.number().int().min(0).max(18).default(2),
  LCP_ISSUANCE_CAP: amountMinor.default(10_000_000_000n),
  LCP_FEE_FIXED: amountMinor.default(0n),
  LCP_FEE_RATE_PPM: amountMinor.default(15000n),
  LCP_FEE_RESUMED_FIXED: amountMinor.default(0n),
  LCP_FEE_RESUMED_RATE_PPM: amountMinor.default(12000n),
  LCP_GETDEPOSITS_FEE: amountMinor.default(0n),
  LCP_MAX_CONNECTIONS_PER_KEY: z.coerce.number().int().min(1).max(10_000).default(64),
  LCP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(20_000),
  LCP_SOAP_PATH: z.enum(['fast', 'reference']).default('fast'),
  LCP_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface IssuerConfig {
  domain: string;
  /** The service address written into lcp.wsdl. */
  publicUrl: string;
  host: string;
  httpsPort: number;
  httpPort: number;
  databasePath: string;
  /**
   * PostgreSQL instead of the SQLite file: several nodes may serve the currency from it,
   * sharing TLS session ticket keys and waking each other's long-polls.
   */
  postgres?: {
    url: string;
    poolSize: number;
    /** Group commit: batches in flight at once (0: a transaction per request). */
    writers: number;
    /** Start even if PostgreSQL would acknowledge commits before they are durable. */
    allowNonDurable: boolean;
    /** This node's name in notifications and pg_stat_activity (random when unset). */
    nodeId?: string;
    /** How often the shared session ticket key changes, seconds. */
    ticketKeyRotationS: number;
  };
  identityKeyPath: string;
  tlsCertPath: string;
  tlsKeyPath: string;
  tlsCaPath?: string;
  scale: number;
  issuanceCap: bigint;
  fees: {
    transfer: { fixed: bigint; ratePpm: bigint };
    resumedTransfer: { fixed: bigint; ratePpm: bigint };
    getDeposits: bigint;
  };
  maxConnectionsPerKey: number;
  maxConnections: number;
  /** 'fast' reads plain envelopes itself and hands the rest to node-soap; 'reference' sends all to node-soap. */
  soapPath: 'fast' | 'reference';
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses a record of LCP_* variables; a bad value is an error that names the variable. */
export function parseConfig(env: Record<string, string | undefined>): Readonly<IssuerConfig> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid issuer configuration:\n  ${problems.join('\n  ')}`);
  }
  const c = parsed.data;
  const defaultPort = c.LCP_HTTPS_PORT === 443 ? '' : `:${c.LCP_HTTPS_PORT}`;
  return Object.freeze({
    domain: c.LCP_DOMAIN,
    publicUrl: c.LCP_PUBLIC_URL ?? `https://${c.LCP_DOMAIN}${defaultPort}/lcp`,
    host: c.LCP_HOST,
    httpsPort: c.LCP_HTTPS_PORT,
    httpPort: c.LCP_HTTP_PORT,
    databasePath: c.LCP_DATABASE,
    ...(c.LCP_DATABASE_URL
      ? {
          postgres: {
            url: c.LCP_DATABASE_URL,
            poolSize: c.LCP_DATABASE_POOL_SIZE,
            writers: c.LCP_DATABASE_WRITERS,
            allowNonDurable: c.LCP_ALLOW_NON_DURABLE === 'true',
            ...(c.LCP_NODE_ID ? { nodeId: c.LCP_NODE_ID } : {}),
            ticketKeyRotationS: c.LCP_TICKET_KEY_ROTATION_S,
          },
        }
      : {}),
    identityKeyPath: c.LCP_IDENTITY_KEY,
    tlsCertPath: c.LCP_TLS_CERT,
    tlsKeyPath: c.LCP_TLS_KEY,
    ...(c.LCP_TLS_CA ? { tlsCaPath: c.LCP_TLS_CA } : {}),
    scale: c.LCP_SCALE,
    issuanceCap: c.LCP_ISSUANCE_CAP,
    fees: {
      transfer: { fixed: c.LCP_FEE_FIXED, ratePpm: c.LCP_FEE_RATE_PPM },
      resumedTransfer: { fixed: c.LCP_FEE_RESUMED_FIXED, ratePpm: c.LCP_FEE_RESUMED_RATE_PPM },
      getDeposits: c.LCP_GETDEPOSITS_FEE,
    },
    maxConnectionsPerKey: c.LCP_MAX_CONNECTIONS_PER_KEY,
    maxConnections: c.LCP_MAX_CONNECTIONS,
    soapPath: c.LCP_SOAP_PATH,
    logLevel: c.LCP_LOG_LEVEL,
  });
}
