// Shared by the agent's tests: a real money.com issuer on loopback (demo CA, temp folder), the
// paper's names resolved to 127.0.0.1, and agents started in temp folders with a policy file.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { IssuerClient, loopbackLookup } from '@lcp/client';
import { createCertificateAuthority, createHolderCertificate, generateIdentity, privateKeyPem, type CertificateAuthority, type Identity } from '@lcp/crypto';
import { initCurrency, loadCurrency, startIssuer, type RunningIssuer } from '@lcp/issuer';
import type { TraceEvent, TraceSink } from '@lcp/protocol';
import { startAgent, type AgentOptions, type RunningAgent } from './app.js';
import { parseConfig } from './config.js';
import { hashToken, writePolicyDocument, type PolicyDocument } from './policy.js';

export const silent = pino({ level: 'silent' });

export type { TraceEvent };

export interface TestIssuer {
  issuer: RunningIssuer;
  ca: CertificateAuthority;
  /** The demo CA's certificate, in a file (for LCP_*_CA settings). */
  caPath: string;
  dir: string;
  stop(): Promise<void>;
}

let sharedCa: Promise<CertificateAuthority> | undefined;
export const demoCa = (): Promise<CertificateAuthority> => (sharedCa ??= createCertificateAuthority('LCP test CA'));

/** A currency issuer on loopback ports; fees are zero unless `settings` say otherwise. */
export async function startTestIssuer(settings: Record<string, string> = {}, domain = 'money.com', onTrace?: TraceSink): Promise<TestIssuer> {
  const ca = await demoCa();
  const dir = await mkdtemp(join(tmpdir(), 'lcp-agent-issuer-'));
  await initCurrency({
    dir,
    domain,
    ca,
    settings: {
      LCP_HTTPS_PORT: '0',
      LCP_HTTP_PORT: '0',
      LCP_HOST: '127.0.0.1',
      LCP_PUBLIC_URL: `https://${domain}:0/lcp`,
      LCP_FEE_RATE_PPM: '0',
      LCP_FEE_RESUMED_RATE_PPM: '0',
      ...settings,
    },
  });
  const caPath = join(dir, 'test-ca.pem');
  await writeFile(caPath, ca.certPem);
  const issuer = await startIssuer(await loadCurrency(dir), { logger: silent, ...(onTrace ? { onTrace } : {}) });
  return {
    issuer,
    ca,
    caPath,
    dir,
    async stop() {
      await issuer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TestHolder {
  identity: Identity;
  id: string;
  certPem: string;
  keyPem: string;
}

export async function newHolder(): Promise<TestHolder> {
  const identity = generateIdentity();
  return { identity, id: identity.id, certPem: await createHolderCertificate(identity), keyPem: privateKeyPem(identity) };
}

export const connectHolder = (t: TestIssuer, holder: TestHolder): Promise<IssuerClient> =>
  IssuerClient.connect({ wsdlUrl: t.issuer.wsdlUrl, credentials: holder, caPem: t.ca.certPem, lookup: loopbackLookup });

export interface TestAgent {
  agent: RunningAgent;
  home: string;
  policyPath: string;
  env: Record<string, string>;
  /** Plain tokens by application name. */
  tokens: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * An agent in a temp folder whose policy is `policy` with a fresh token for each application
 * named in it (plus any in `extraApps`).
 */
export async function startTestAgent(t: TestIssuer, policy: PolicyDocument, options: AgentOptions = {}): Promise<TestAgent> {
  const home = await mkdtemp(join(tmpdir(), 'lcp-agent-'));
  const policyPath = join(home, 'policy.json');
  const tokens: Record<string, string> = {};
  const document = structuredClone(policy);
  for (const [name, app] of Object.entries(document.applications)) {
    tokens[name] = `lcp_test_${name}_${Math.random().toString(36).slice(2)}`;
    app.tokenSha256 = hashToken(tokens[name]).toString('hex');
  }
  writePolicyDocument(policyPath, document);
  const env = { LCP_AGENT_HOME: home, LCP_AGENT_PORT: '0', LCP_AGENT_ISSUER_CA: t.caPath, LCP_AGENT_NAME: 'alice' };
  const agent = await startAgent(parseConfig(env), { logger: silent, lookup: loopbackLookup, ...options });
  return {
    agent,
    home,
    policyPath,
    env,
    tokens,
    async stop() {
      await agent.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** A request to the agent's local interface; the answer's status and JSON body. */
export async function call(
  agent: RunningAgent,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${agent.url}${path}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
