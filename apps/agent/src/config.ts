// The agent's configuration: parsed once from an environment record (LCP_AGENT_*), validated,
// frozen. Nothing else in the app reads process.env; main.ts passes it in.
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';

const schema = z.object({
  LCP_AGENT_HOME: z.string().min(1),
  LCP_AGENT_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a short name such as alice').default('agent'),
  // the local interface is for this machine's applications only
  LCP_AGENT_HOST: z.literal('127.0.0.1', { error: 'the local interface listens on 127.0.0.1 only' }).default('127.0.0.1'),
  LCP_AGENT_PORT: z.coerce.number().int().min(0).max(65535).default(7468),
  LCP_AGENT_POLICY: z.string().min(1).default('policy.json'),
  LCP_AGENT_ISSUER_CA: z.string().min(1).optional(),
  LCP_AGENT_MAX_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(60_000),
  LCP_AGENT_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface AgentConfig {
  /** Short name used in logs and trace events ("alice"). */
  name: string;
  home: string;
  host: '127.0.0.1';
  port: number;
  /** The user's key: the identity every issuer knows this user by. */
  identityKeyPath: string;
  certificatePath: string;
  policyPath: string;
  databasePath: string;
  walletDir: string;
  issuerCaPath?: string;
  /** Longest a deposit request may wait for its deposit. */
  maxWaitMs: number;
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses a record of LCP_AGENT_* variables; a bad value is an error that names the variable. */
export function parseConfig(env: Record<string, string | undefined>): Readonly<AgentConfig> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid agent configuration:\n  ${problems.join('\n  ')}`);
  }
  const c = parsed.data;
  const home = c.LCP_AGENT_HOME;
  const inHome = (path: string) => (isAbsolute(path) ? path : join(home, path));
  return Object.freeze({
    name: c.LCP_AGENT_NAME,
    home,
    host: c.LCP_AGENT_HOST,
    port: c.LCP_AGENT_PORT,
    identityKeyPath: inHome('identity.pem'),
    certificatePath: inHome('certificate.pem'),
    policyPath: inHome(c.LCP_AGENT_POLICY),
    databasePath: inHome('agent.sqlite'),
    walletDir: inHome('wallet'),
    ...(c.LCP_AGENT_ISSUER_CA ? { issuerCaPath: inHome(c.LCP_AGENT_ISSUER_CA) } : {}),
    maxWaitMs: c.LCP_AGENT_MAX_WAIT_MS,
    logLevel: c.LCP_AGENT_LOG_LEVEL,
  });
}
