// lcp-backup's configuration: parsed once from an environment record (LCP_BACKUP_*),
// validated, frozen. Nothing else reads process.env; main.ts passes it in. The peer list is
// configuration (a JSON file or inline JSON), so the same flow runs against any peers.
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';

const schema = z
  .object({
    LCP_BACKUP_HOME: z.string().min(1),
    LCP_BACKUP_PEERS: z.string().min(1).default('peers.json'),
    LCP_BACKUP_SECRET: z.string().min(1).optional(),
    LCP_BACKUP_SECRET_FILE: z.string().min(1).default('secret'),
    LCP_BACKUP_CURRENCY_WSDL: z.url({ protocol: /^https?$/ }),
    LCP_BACKUP_CURRENCY_SCALE: z.coerce.number().int().min(0).max(18).default(2),
    LCP_BACKUP_PAYER: z.enum(['agent', 'bank', 'issuer']).default('agent'),
    LCP_BACKUP_ISSUER_CA: z.string().min(1).optional(),
    LCP_BACKUP_AGENT_URL: z.url({ protocol: /^http$/ }).default('http://127.0.0.1:7468'),
    LCP_BACKUP_AGENT_TOKEN: z.string().min(16).optional(),
    LCP_BACKUP_BANK_URL: z.url({ protocol: /^https$/ }).optional(),
    LCP_BACKUP_BANK_TOKEN: z.string().min(1).optional(),
    LCP_BACKUP_BANK_CA: z.string().min(1).optional(),
    LCP_BACKUP_CHUNK_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    LCP_BACKUP_AUDITS_PER_PEER: z.coerce.number().int().min(1).max(1000).default(2),
    LCP_BACKUP_PRIOR_FAILURE: z.coerce.number().gt(0).lt(1).default(0.1),
    LCP_BACKUP_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(2),
  })
  .superRefine((c, ctx) => {
    if (c.LCP_BACKUP_PAYER === 'agent' && !c.LCP_BACKUP_AGENT_TOKEN) {
      ctx.addIssue({ code: 'custom', path: ['LCP_BACKUP_AGENT_TOKEN'], message: 'is required when LCP_BACKUP_PAYER=agent' });
    }
    if (c.LCP_BACKUP_PAYER === 'bank') {
      for (const name of ['LCP_BACKUP_BANK_URL', 'LCP_BACKUP_BANK_TOKEN'] as const) {
        if (!c[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when LCP_BACKUP_PAYER=bank' });
      }
    }
  });

export interface BackupConfig {
  home: string;
  /** A path to a JSON peer list, or the list itself when it starts with `[`. */
  peers: string;
  secret?: string;
  secretPath: string;
  currency: { wsdl: string; scale: number };
  payer:
    | { kind: 'issuer'; caPath?: string }
    | { kind: 'agent'; url: string; token: string }
    | { kind: 'bank'; url: string; token: string; caPath?: string };
  issuerCaPath?: string;
  chunkBytes: number;
  auditsPerPeer: number;
  /** The failure probability assumed for a peer never seen before. */
  priorFailure: number;
  concurrency: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function parseConfig(env: Record<string, string | undefined>): Readonly<BackupConfig> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${String(issue?.path[0] ?? 'configuration')}: ${issue?.message ?? 'invalid'}`);
  }
  const c = parsed.data;
  const inHome = (path: string) => (isAbsolute(path) ? path : join(c.LCP_BACKUP_HOME, path));
  const payer: BackupConfig['payer'] =
    c.LCP_BACKUP_PAYER === 'agent'
      ? { kind: 'agent', url: c.LCP_BACKUP_AGENT_URL, token: c.LCP_BACKUP_AGENT_TOKEN as string }
      : c.LCP_BACKUP_PAYER === 'bank'
        ? { kind: 'bank', url: c.LCP_BACKUP_BANK_URL as string, token: c.LCP_BACKUP_BANK_TOKEN as string, ...(c.LCP_BACKUP_BANK_CA ? { caPath: c.LCP_BACKUP_BANK_CA } : {}) }
        : { kind: 'issuer', ...(c.LCP_BACKUP_ISSUER_CA ? { caPath: c.LCP_BACKUP_ISSUER_CA } : {}) };
  return Object.freeze({
    home: c.LCP_BACKUP_HOME,
    peers: c.LCP_BACKUP_PEERS.trimStart().startsWith('[') ? c.LCP_BACKUP_PEERS : inHome(c.LCP_BACKUP_PEERS),
    ...(c.LCP_BACKUP_SECRET ? { secret: c.LCP_BACKUP_SECRET } : {}),
    secretPath: inHome(c.LCP_BACKUP_SECRET_FILE),
    currency: { wsdl: c.LCP_BACKUP_CURRENCY_WSDL, scale: c.LCP_BACKUP_CURRENCY_SCALE },
    payer,
    ...(c.LCP_BACKUP_ISSUER_CA ? { issuerCaPath: c.LCP_BACKUP_ISSUER_CA } : {}),
    chunkBytes: c.LCP_BACKUP_CHUNK_BYTES,
    auditsPerPeer: c.LCP_BACKUP_AUDITS_PER_PEER,
    priorFailure: c.LCP_BACKUP_PRIOR_FAILURE,
    concurrency: c.LCP_BACKUP_CONCURRENCY,
  });
}
