// Shared by the issuer's tests: a demo CA, a currency in a temp folder on loopback ports,
// holders with self-signed certificates, and the paper's names resolved to 127.0.0.1.
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as soap from 'soap';
import {
  createCertificateAuthority,
  createHolderCertificate,
  generateIdentity,
  privateKeyPem,
  type CertificateAuthority,
  type Identity,
} from '@lcp/crypto';
import { IssuerClient, loopbackLookup, type IssuerClientOptions } from '@lcp/client';
import type { EntityId } from '@lcp/protocol';
import { startIssuer, type IssuerOptions, type RunningIssuer } from './app.js';
import { initCurrency, loadCurrency } from './currency.js';
import { createLogger } from './logger.js';

/** The paper's names resolve to 127.0.0.1, so certificates can name money.com on loopback. */
export const loopback = loopbackLookup;

export interface TestIssuer {
  issuer: RunningIssuer;
  ca: CertificateAuthority;
  dir: string;
  stop(): Promise<void>;
}

let sharedCa: Promise<CertificateAuthority> | undefined;
export const demoCa = (): Promise<CertificateAuthority> => (sharedCa ??= createCertificateAuthority('LCP test CA'));

export async function startTestIssuer(
  settings: Record<string, string> = {},
  domain = 'money.com',
  options: Omit<IssuerOptions, 'logger'> = {},
): Promise<TestIssuer> {
  const ca = await demoCa();
  const dir = await mkdtemp(join(tmpdir(), 'lcp-issuer-'));
  await initCurrency({
    dir,
    domain,
    ca,
    settings: { LCP_HTTPS_PORT: '0', LCP_HTTP_PORT: '0', LCP_HOST: '127.0.0.1', LCP_PUBLIC_URL: `https://${domain}:0/lcp`, ...settings },
  });
  const config = await loadCurrency(dir);
  const issuer = await startIssuer(config, { logger: createLogger('silent'), ...options });
  return {
    issuer,
    ca,
    dir,
    async stop() {
      await issuer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TestHolder {
  identity: Identity;
  id: EntityId;
  certPem: string;
  keyPem: string;
}

export async function newHolder(): Promise<TestHolder> {
  const identity = generateIdentity();
  return {
    identity,
    id: identity.id as EntityId,
    certPem: await createHolderCertificate(identity),
    keyPem: privateKeyPem(identity),
  };
}

export function connectHolder(
  t: TestIssuer,
  holder: TestHolder,
  options: Partial<IssuerClientOptions> = {},
): Promise<IssuerClient> {
  return IssuerClient.connect({
    wsdlUrl: t.issuer.wsdlUrl,
    credentials: holder,
    caPem: t.ca.certPem,
    lookup: loopback,
    ...options,
  });
}

/**
 * A bare node-soap client for tests that must control every element (counters, bad values).
 * `keepAlive: false` makes each request a new TLS connection, which resumes the cached session.
 */
export async function rawClient(
  t: TestIssuer,
  holder: TestHolder | undefined,
  agentOptions: https.AgentOptions = {},
): Promise<{ client: soap.Client; agent: https.Agent }> {
  const agent = new https.Agent({
    ca: t.ca.certPem,
    lookup: loopback,
    ...(holder ? { cert: holder.certPem, key: holder.keyPem } : {}),
    ...agentOptions,
  });
  const client = await soap.createClientAsync(t.issuer.wsdlUrl, {
    wsdl_options: { httpAgent: new (await import('node:http')).Agent({ lookup: loopback }) },
  });
  client.setSecurity({ addOptions: (o: Record<string, unknown>) => void (o.httpsAgent = agent), toXML: () => '' });
  return { client, agent };
}

/** The SOAP fault code (e.g. soap:Client.counterReused) a rejected node-soap call carried. */
export async function faultOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    const fault = (error as { root?: { Envelope?: { Body?: { Fault?: { faultcode?: string } } } } }).root?.Envelope
      ?.Body?.Fault;
    if (fault?.faultcode) return String(fault.faultcode);
    throw error;
  }
  throw new Error('expected a SOAP fault, got a response');
}
