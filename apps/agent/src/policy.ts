// The user's policies for the local interface, in a JSON file (mode 0600): which currencies the
// agent knows (and their scale), which it accepts when selling, and per application its token
// (stored as a SHA-256 hash) and its spending limits per currency: per day and per purchase.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, openSync, closeSync, fsyncSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { parseAmount } from '@lcp/protocol';

const currencyUrl = z.url({ protocol: /^https?$/ });
const decimal = z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'must be a plain decimal such as 20 or 0.5');
export const applicationName = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 of [A-Za-z0-9._-]');

const limitsSchema = z.object({ perDay: decimal, perPurchase: decimal });

export const policySchema = z.object({
  /** Every currency the agent deals in, by its issuer's WSDL URL, with its scale. */
  currencies: z.record(currencyUrl, z.object({ scale: z.number().int().min(0).max(18) })).default({}),
  /** Currencies accepted when selling: deposits in others are not looked for. */
  accept: z.array(currencyUrl).default([]),
  applications: z
    .record(
      applicationName,
      z.object({
        tokenSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
        /** Currencies this application may spend, with its limits; any other currency is refused. */
        spending: z.record(currencyUrl, limitsSchema).default({}),
      }),
    )
    .default({}),
});

export type PolicyDocument = z.infer<typeof policySchema>;

export interface SpendingLimits {
  perDay: bigint;
  perPurchase: bigint;
}

export interface ApplicationPolicy {
  name: string;
  tokenHash?: Buffer;
  /** By currency WSDL URL, in minor units. */
  spending: Map<string, SpendingLimits>;
}

export interface Policy {
  currencies: Map<string, { scale: number }>;
  accept: Set<string>;
  applications: Map<string, ApplicationPolicy>;
}

export class PolicyError extends Error {
  override name = 'PolicyError';
}

export const hashToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

export const newToken = (): string => `lcp_${randomBytes(32).toString('base64url')}`;

/** Validates a policy document: every currency named must be listed with its scale, limits must parse. */
export function parsePolicy(document: unknown, source: string): Policy {
  const parsed = policySchema.safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new PolicyError(`invalid policy in ${source}:\n  ${problems.join('\n  ')}`);
  }
  const p = parsed.data;
  const currencies = new Map(Object.entries(p.currencies));
  const problems: string[] = [];
  for (const wsdl of p.accept) if (!currencies.has(wsdl)) problems.push(`accept: ${wsdl} is not listed in currencies`);
  const applications = new Map<string, ApplicationPolicy>();
  for (const [name, app] of Object.entries(p.applications)) {
    const spending = new Map<string, SpendingLimits>();
    for (const [wsdl, limits] of Object.entries(app.spending)) {
      const currency = currencies.get(wsdl);
      if (!currency) {
        problems.push(`applications.${name}.spending: ${wsdl} is not listed in currencies`);
        continue;
      }
      const perDay = parseAmount(limits.perDay, currency.scale);
      const perPurchase = parseAmount(limits.perPurchase, currency.scale);
      if (!perDay.ok) problems.push(`applications.${name}.spending.${wsdl}.perDay: ${perDay.reason}`);
      if (!perPurchase.ok) problems.push(`applications.${name}.spending.${wsdl}.perPurchase: ${perPurchase.reason}`);
      if (perDay.ok && perPurchase.ok) spending.set(wsdl, { perDay: perDay.value, perPurchase: perPurchase.value });
    }
    applications.set(name, { name, ...(app.tokenSha256 ? { tokenHash: Buffer.from(app.tokenSha256, 'hex') } : {}), spending });
  }
  if (problems.length > 0) throw new PolicyError(`invalid policy in ${source}:\n  ${problems.join('\n  ')}`);
  return { currencies, accept: new Set(p.accept), applications };
}

/** The application whose token this is, compared in constant time. */
export function applicationForToken(policy: Policy, token: string): ApplicationPolicy | undefined {
  const hash = hashToken(token);
  let found: ApplicationPolicy | undefined;
  for (const app of policy.applications.values()) {
    if (app.tokenHash && timingSafeEqual(app.tokenHash, hash)) found = app;
  }
  return found;
}

const EMPTY: PolicyDocument = { currencies: {}, accept: [], applications: {} };

export function readPolicyDocument(path: string): PolicyDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return structuredClone(EMPTY);
    throw error;
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new PolicyError(`${path} is not JSON: ${(error as Error).message}`);
  }
  parsePolicy(document, path);
  return policySchema.parse(document);
}

/** Writes the policy atomically and durably with mode 0600 (it holds token hashes and the user's limits). */
export function writePolicyDocument(path: string, document: PolicyDocument): void {
  parsePolicy(document, path);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(document, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  // the rename is durable only once the folder is synced
  const folder = openSync(dirname(path), 'r');
  try {
    fsyncSync(folder);
  } finally {
    closeSync(folder);
  }
}

/** Creates (or replaces) an application's token; returns the token, which is shown once and stored only hashed. */
export function createApplicationToken(path: string, application: string): string {
  applicationName.parse(application);
  const document = readPolicyDocument(path);
  const token = newToken();
  const existing = document.applications[application];
  document.applications[application] = { spending: {}, ...existing, tokenSha256: hashToken(token).toString('hex') };
  writePolicyDocument(path, document);
  return token;
}

/**
 * The policy file, read again whenever it changes on disk, so limits and tokens set by the
 * user (or `token create`) apply without a restart. A broken edit keeps the last good policy.
 */
export class PolicyFile {
  #policy: Policy;
  #stamp: string;

  constructor(
    readonly path: string,
    private readonly onError: (error: Error) => void = () => undefined,
  ) {
    this.#policy = parsePolicy(readPolicyDocument(path), path);
    this.#stamp = this.#currentStamp();
  }

  current(): Policy {
    const stamp = this.#currentStamp();
    if (stamp !== this.#stamp) {
      this.#stamp = stamp;
      try {
        this.#policy = parsePolicy(readPolicyDocument(this.path), this.path);
      } catch (error) {
        this.onError(error as Error);
      }
    }
    return this.#policy;
  }

  #currentStamp(): string {
    try {
      const s = statSync(this.path, { bigint: true });
      return `${s.mtimeNs}:${s.size}:${s.ino}`;
    } catch {
      return 'missing';
    }
  }
}
