// `lcp-bank init`: a folder with everything a bank needs to start: a TLS certificate for its
// domain signed by a CA (a demo CA is made when none is given: local trials only), a random
// server secret, and bank.env with every setting.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createCertificateAuthority, issueServerCertificate, loadCertificateAuthority, type CertificateAuthority } from '@lcp/crypto';
import { parseConfig } from './config.js';

export interface NewBank {
  dir: string;
  domain: string;
  /** [{ wsdl, scale }] */
  currencies: { wsdl: string; scale: number }[];
  ca?: CertificateAuthority;
  /** The CA's certificate file to trust for issuers and other banks (default: the CA that signs the bank). */
  trustFile?: string;
  /** Further LCP_BANK_* settings. */
  settings?: Record<string, string>;
}

export async function initBank(options: NewBank): Promise<{ envFile: string; caFile: string }> {
  const dir = resolve(options.dir);
  await mkdir(join(dir, 'tls'), { recursive: true, mode: 0o700 });
  let ca = options.ca;
  let caFile = options.trustFile;
  if (!ca) {
    ca = await createCertificateAuthority(`${options.domain} demo CA`);
    await mkdir(join(dir, 'ca'), { recursive: true, mode: 0o700 });
    await writeFile(join(dir, 'ca', 'ca.pem'), ca.certPem);
    await writeFile(join(dir, 'ca', 'ca-key.pem'), ca.keyPem, { mode: 0o600 });
    caFile ??= join(dir, 'ca', 'ca.pem');
  }
  if (!caFile) {
    caFile = join(dir, 'tls', 'ca.pem');
    await writeFile(caFile, ca.certPem);
  }
  const issued = await issueServerCertificate(ca, { hostnames: [options.domain] });
  await writeFile(join(dir, 'tls', 'cert.pem'), issued.certPem);
  await writeFile(join(dir, 'tls', 'key.pem'), issued.keyPem, { mode: 0o600 });
  const env: Record<string, string> = {
    LCP_BANK_DOMAIN: options.domain,
    LCP_BANK_DATA_DIR: join(dir, 'data'),
    LCP_BANK_TLS_CERT: join(dir, 'tls', 'cert.pem'),
    LCP_BANK_TLS_KEY: join(dir, 'tls', 'key.pem'),
    LCP_BANK_CA: caFile,
    LCP_BANK_CURRENCIES: JSON.stringify(options.currencies),
    LCP_BANK_SECRET: randomBytes(32).toString('base64url'),
    ...options.settings,
  };
  parseConfig(env); // a bad setting fails here, not at the first start
  const envFile = join(dir, 'bank.env');
  const lines = Object.entries(env).map(([name, value]) => `${name}='${value}'`);
  await writeFile(envFile, `# ${options.domain}: settings for lcp-bank (see apps/bank/README.md). Keep this file secret.\n${lines.join('\n')}\n`, { mode: 0o600 });
  return { envFile, caFile };
}

export async function loadCa(certFile: string, keyFile: string): Promise<CertificateAuthority> {
  return loadCertificateAuthority(await readFile(certFile, 'utf8'), await readFile(keyFile, 'utf8'));
}
