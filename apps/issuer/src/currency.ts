// A currency lives in one folder: its key (the treasury), its TLS certificate, its ledger
// and an issuer.env with its settings. `lcp-issuer init` makes one; `serve` runs it.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import {
  createCertificateRequest,
  createHolderCertificate,
  generateIdentity,
  issueServerCertificate,
  loadIdentity,
  privateKeyPem,
  saveIdentity,
  type CertificateAuthority,
} from '@lcp/crypto';
import { createIssuerLedger, openPostgresStore, openSqliteStore, type IssuerLedger } from '@lcp/issuer-core';
import type { EntityId } from '@lcp/protocol';
import { parseConfig, type IssuerConfig } from './config.js';

export const CONFIG_FILE = 'issuer.env';
const PATH_VARIABLES = ['LCP_DATABASE', 'LCP_IDENTITY_KEY', 'LCP_TLS_CERT', 'LCP_TLS_KEY', 'LCP_TLS_CA'] as const;

export interface NewCurrency {
  dir: string;
  domain: string;
  /** Signs the server certificate; without one the certificate is self-signed (local trials only). */
  ca?: CertificateAuthority;
  /** Further LCP_* settings written into issuer.env (scale, cap, fees, ports, ...). */
  settings?: Record<string, string>;
}

/** Creates the folder of a new currency and returns the treasury's entity id. */
export async function initCurrency(currency: NewCurrency): Promise<{ treasury: string; configFile: string }> {
  const dir = resolve(currency.dir);
  await mkdir(join(dir, 'tls'), { recursive: true, mode: 0o700 });
  const identity = generateIdentity();
  await saveIdentity(join(dir, 'identity.pem'), identity);

  // The server certificate carries the issuer's own key, so the domain names the entity.
  const keyPem = privateKeyPem(identity);
  const certPem = currency.ca
    ? (await issueServerCertificate(currency.ca, { hostnames: [currency.domain], identity })).certPem
    : await createHolderCertificate(identity, { commonName: currency.domain });
  await writeFile(join(dir, 'tls', 'cert.pem'), certPem);
  await writeFile(join(dir, 'tls', 'key.pem'), keyPem, { mode: 0o600 });
  // without a CA: a request to send to one, whose answer replaces the self-signed cert.pem
  if (!currency.ca) await writeFile(join(dir, 'tls', 'request.csr'), await createCertificateRequest(identity, [currency.domain]));

  const env: Record<string, string> = {
    LCP_DOMAIN: currency.domain,
    LCP_DATABASE: 'ledger.sqlite',
    LCP_IDENTITY_KEY: 'identity.pem',
    LCP_TLS_CERT: 'tls/cert.pem',
    LCP_TLS_KEY: 'tls/key.pem',
    ...currency.settings,
  };
  const configFile = join(dir, CONFIG_FILE);
  const lines = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  await writeFile(configFile, `# ${currency.domain}: settings for lcp-issuer (see apps/issuer/README.md)\n${lines.join('\n')}\n`);
  parseConfig(await readCurrencyEnv(dir)); // a bad setting fails here, not at the first serve
  return { treasury: identity.id, configFile };
}

/** issuer.env with relative paths resolved against the currency folder. */
async function readCurrencyEnv(dir: string): Promise<Record<string, string>> {
  const env = parseEnv(await readFile(join(dir, CONFIG_FILE), 'utf8')) as Record<string, string>;
  for (const name of PATH_VARIABLES) {
    const value = env[name];
    if (value && !isAbsolute(value)) env[name] = join(dir, value);
  }
  return env;
}

/** The configuration of the currency in `dir`; variables in `overrides` (the environment) win. */
export async function loadCurrency(
  dir: string,
  overrides: Record<string, string | undefined> = {},
): Promise<Readonly<IssuerConfig>> {
  const fromFile = await readCurrencyEnv(resolve(dir));
  const fromEnv = Object.fromEntries(Object.entries(overrides).filter(([name]) => name.startsWith('LCP_')));
  return parseConfig({ ...fromFile, ...fromEnv });
}

/** The currency's ledger opened in this process (the CLI, tests); the server runs it on a worker. */
export async function openCurrencyLedger(config: IssuerConfig): Promise<IssuerLedger> {
  const identity = await loadIdentity(config.identityKeyPath);
  const store = config.postgres
    ? await openPostgresStore({
        connectionString: config.postgres.url,
        poolSize: 4,
        allowNonDurable: config.postgres.allowNonDurable,
      })
    : openSqliteStore(config.databasePath);
  return createIssuerLedger(store, {
    treasury: identity.id as EntityId,
    scale: config.scale,
    issuanceCap: config.issuanceCap,
    fees: config.fees,
  });
}
