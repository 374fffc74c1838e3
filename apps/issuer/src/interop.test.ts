// The issuer driven by SOAP stacks outside Node that know nothing but its WSDL: python3-zeep
// and PHP's SoapClient (Debian's php-soap). Each runs a script in ../interop/ that pays over
// TLS with a holder's self-signed Ed25519 certificate and collects the deposit with the
// payee's. scripts/install-test-tools.sh installs both; a missing one fails here, loudly.
//
// The currency's domain is `localhost`: the scripts resolve names with the system resolver
// and check the issuer's certificate against the WSDL's service address, so the name in both
// must reach 127.0.0.1 without the loopback lookup the Node tests use for money.com.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newHolder, startTestIssuer, type TestHolder, type TestIssuer } from './test-support.js';

const run = promisify(execFile);
const INTEROP_DIR = fileURLToPath(new URL('../interop/', import.meta.url));
const RUN_TIMEOUT_MS = 20_000;
const TEST_TIMEOUT_MS = 30_000;

const dollars = (n: number | string) => BigInt(Math.round(Number(n) * 100)); // scale 2, test values only

interface OutsideClient {
  name: string;
  command: string;
  script: string;
  /** Exits 0 when the client's SOAP stack is installed. */
  probe: string[];
  debianPackages: string;
}

const clients: OutsideClient[] = [
  {
    name: 'python3-zeep',
    command: '/usr/bin/python3', // Debian's python3-zeep is there, not in a pyenv/venv python3
    script: join(INTEROP_DIR, 'zeep_client.py'),
    probe: ['-c', 'import zeep'],
    debianPackages: 'python3-zeep',
  },
  {
    name: 'PHP SoapClient',
    command: 'php',
    script: join(INTEROP_DIR, 'php_client.php'),
    probe: ['-r', 'exit(extension_loaded("soap") ? 0 : 1);'],
    debianPackages: 'php-cli php-soap',
  },
];

/** What the scripts print: the answers as they came back, or the fault that ended the run. */
interface ClientOutput {
  client: string;
  transferFunds?: { result: string; fee: string };
  getDeposits?: { deposits: { transactionId: string; amount: string; sequence?: number }[]; fee: string; balance: string };
  fault?: { operation: string; code: string; message: string };
}

async function requireInstalled(client: OutsideClient): Promise<void> {
  try {
    await run(client.command, client.probe, { timeout: RUN_TIMEOUT_MS });
  } catch (error) {
    throw new Error(
      `${client.name} is not installed (${client.command} ${client.probe.join(' ')} failed: ${(error as Error).message.trim()}). ` +
        `Run \`sh scripts/install-test-tools.sh\` (as root) or \`apt-get install ${client.debianPackages}\`.`,
    );
  }
}

async function runClient(client: OutsideClient, args: string[]): Promise<ClientOutput> {
  // a non-zero exit (TLS, HTTP, WSDL trouble) rejects with the script's stderr in the message
  const { stdout } = await run(client.command, [client.script, ...args], { timeout: RUN_TIMEOUT_MS });
  try {
    return JSON.parse(stdout) as ClientOutput;
  } catch {
    throw new Error(`${client.name} printed no JSON: ${stdout}`);
  }
}

describe('money.com driven from outside Node, through its WSDL', () => {
  let t: TestIssuer;
  let files: string;
  let caFile: string;

  /** The holder's certificate and key as files, as the scripts take them. */
  async function holderFiles(holder: TestHolder, name: string): Promise<{ cert: string; key: string }> {
    const cert = join(files, `${name}.cert.pem`);
    const key = join(files, `${name}.key.pem`);
    await writeFile(cert, holder.certPem);
    await writeFile(key, holder.keyPem, { mode: 0o600 });
    return { cert, key };
  }

  beforeAll(async () => {
    // the paper's fee: 1.2 on 100, whatever the session; collecting is free
    t = await startTestIssuer(
      { LCP_FEE_RATE_PPM: '12000', LCP_FEE_RESUMED_RATE_PPM: '12000', LCP_GETDEPOSITS_FEE: '0' },
      'localhost',
    );
    files = await mkdtemp(join(tmpdir(), 'lcp-interop-'));
    caFile = join(files, 'ca.pem');
    await writeFile(caFile, t.ca.certPem);
  });
  afterAll(async () => {
    await t?.stop();
    if (files) await rm(files, { recursive: true, force: true });
  });

  for (const client of clients) {
    describe(client.name, () => {
      const slug = client.name.replace(/\W+/g, '-').toLowerCase();

      it(
        'pays 100 for a fee of 1.2, and the payee collects the deposit',
        async () => {
          await requireInstalled(client);
          const [payer, payee] = await Promise.all([newHolder(), newHolder()]);
          const [payerFiles, payeeFiles] = await Promise.all([
            holderFiles(payer, `${slug}-payer`),
            holderFiles(payee, `${slug}-payee`),
          ]);
          await t.issuer.ledger.mint(payer.id, dollars(200), `fund-${slug}`);
          const before = await t.issuer.ledger.totals();
          const transactionId = `interop-${slug}`;

          const output = await runClient(client, [
            '--wsdl', t.issuer.wsdlUrl,
            '--ca', caFile,
            '--cert', payerFiles.cert,
            '--key', payerFiles.key,
            '--recipient', payee.id,
            '--amount', '100',
            '--transaction-id', transactionId,
            '--counter', '1',
            '--wait', '5000', // the deposit is already there: answered at once
            '--deposits-cert', payeeFiles.cert,
            '--deposits-key', payeeFiles.key,
          ]);

          expect(output.fault).toBeUndefined();
          expect(output.transferFunds).toEqual({ result: 'success', fee: '1.2' });
          expect(output.getDeposits).toEqual({
            deposits: [{ transactionId, amount: '100', sequence: expect.any(Number) }],
            fee: '0',
            balance: '100',
          });
          expect(await t.issuer.ledger.balance(payer.id)).toBe(dollars(200 - 101.2));
          expect(await t.issuer.ledger.balance(payee.id)).toBe(dollars(100));
          const after = await t.issuer.ledger.totals();
          expect(after.feeBalance - before.feeBalance).toBe(dollars(1.2)); // the fee, and only it, went to the issuer
          expect(after.treasuryBalance).toBe(before.treasuryBalance);
          expect(after.sum).toBe(0n);
        },
        TEST_TIMEOUT_MS,
      );

      it(
        'gets soap:Client.noClientCertificate without a client certificate, and moves nothing',
        async () => {
          await requireInstalled(client);
          const payee = await newHolder();
          const totalsBefore = await t.issuer.ledger.totals();

          const output = await runClient(client, [
            '--wsdl', t.issuer.wsdlUrl,
            '--ca', caFile,
            '--recipient', payee.id,
            '--amount', '1',
            '--transaction-id', `anonymous-${slug}`,
            '--counter', '1',
          ]);

          expect(output.transferFunds).toBeUndefined();
          expect(output.fault).toMatchObject({ operation: 'transferFunds', code: 'soap:Client.noClientCertificate' });
          expect(await t.issuer.ledger.balance(payee.id)).toBe(0n);
          expect(await t.issuer.ledger.totals()).toEqual(totalsBefore);
        },
        TEST_TIMEOUT_MS,
      );
    });
  }
});
