// Test fixtures for every package that needs a real issuer (exported as @lcp/issuer/testing):
// a demo CA, a currency in a temp folder on loopback ports, holders with self-signed
// certificates, and the paper's names resolved to 127.0.0.1. Not for production use.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  /** The demo CA's certificate as a file, for apps configured by path. */
  caPath: string;
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
  const caPath = join(dir, 'test-ca.pem');
  await writeFile(caPath, ca.certPem);
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

