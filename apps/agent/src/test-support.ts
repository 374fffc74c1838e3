// Shared by the agent's tests: a real money.com issuer on loopback (demo CA, temp folder), the
// paper's names resolved to 127.0.0.1, and agents started in temp folders with a policy file.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loopbackLookup } from '@lcp/client';
import {
  connectHolder,
  demoCa,
  newHolder,
  startTestIssuer as startSharedIssuer,
  type TestHolder,
  type TestIssuer,
} from '@lcp/issuer/testing';

export { connectHolder, demoCa, newHolder, type TestHolder, type TestIssuer };
import type { TraceEvent, TraceSink } from '@lcp/protocol';
import { startAgent, type AgentOptions, type RunningAgent } from './app.js';
import { parseConfig } from './config.js';
import { hashToken, writePolicyDocument, type PolicyDocument } from './policy.js';

export const silent = pino({ level: 'silent' });

export type { TraceEvent };

/** A currency issuer on loopback ports; fees are zero unless `settings` say otherwise. */
export const startTestIssuer = (settings: Record<string, string> = {}, domain = 'money.com', onTrace?: TraceSink): Promise<TestIssuer> =>
  startSharedIssuer({ LCP_FEE_RATE_PPM: '0', LCP_FEE_RESUMED_RATE_PPM: '0', ...settings }, domain, onTrace ? { onTrace } : {});

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
