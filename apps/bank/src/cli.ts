// lcp-bank's commands besides serving: make a bank's folder, hash the operator's password.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from './config.js';
import { Currencies, parsePositive } from './currencies.js';
import { Customers } from './customers.js';
import { openDatabase } from './db.js';
import { hashPassword } from './passwords.js';
import { initBank, loadCa } from './init.js';
import { isProblem } from './problems.js';
import { isScope, Tokens, type Scope } from './tokens.js';
import { Vault } from './vault.js';

export const USAGE = `usage: lcp-bank [command] [options]

  (no command)    serve, configured by LCP_BANK_* variables (node --env-file=DIR/bank.env ...)
  init --dir DIR --domain bank.com --currency WSDL[#SCALE] [--currency ...]
       [--ca-cert F --ca-key F] [--port 443]
                  create DIR/bank.env, a TLS certificate for the domain and a server secret;
                  without a CA, a demo CA is made in DIR/ca (local trials only)
  hash-password   read a password on stdin, print LCP_BANK_OPERATOR_PASSWORD_HASH for it
  add-customer NAME
                  open an opaque account NAME@<domain>; the password is read on stdin
  create-token NAME --label TEXT --scope SCOPE [--scope ...] [--limit DECIMAL --currency WSDL]
                  give an application rights on NAME's account; prints the token once
                  (scopes: payments:read, balances:read, spend (needs --limit), operator)

add-customer and create-token work on LCP_BANK_DATA_DIR with LCP_BANK_* from the environment,
also while the bank runs (seeding accounts and agents for a demo or a test without a browser).`;

export const COMMANDS = ['init', 'hash-password', 'add-customer', 'create-token', 'help', '--help', '-h'];

export class UsageError extends Error {
  override name = 'UsageError';
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

export async function runCli(
  argv: string[],
  stdin: NodeJS.ReadableStream,
  print: (line: string) => void = console.log,
  env: Record<string, string | undefined> = {},
): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      domain: { type: 'string' },
      currency: { type: 'string', multiple: true },
      'ca-cert': { type: 'string' },
      'ca-key': { type: 'string' },
      port: { type: 'string' },
      label: { type: 'string' },
      scope: { type: 'string', multiple: true },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command || command === 'help') {
    print(USAGE);
    return;
  }
  if (command === 'hash-password') {
    const password = await readStdin(stdin);
    if (password.length < 10) throw new UsageError('the password must be at least 10 characters');
    print(await hashPassword(password));
    return;
  }
  if (command === 'init') {
    if (!values.dir || !values.domain || !values.currency?.length) throw new UsageError('init needs --dir, --domain and at least one --currency');
    const currencies = values.currency.map((text) => {
      const [wsdl = '', scale = '2'] = text.split('#');
      if (!/^[0-9]{1,2}$/.test(scale)) throw new UsageError(`--currency ${text}: the scale after # must be a number`);
      return { wsdl, scale: Number(scale) };
    });
    const ca = values['ca-cert'] && values['ca-key'] ? await loadCa(values['ca-cert'], values['ca-key']) : undefined;
    const { envFile } = await initBank({
      dir: values.dir,
      domain: values.domain,
      currencies,
      ...(ca ? { ca, trustFile: values['ca-cert'] } : {}),
      ...(values.port ? { settings: { LCP_BANK_PORT: values.port } } : {}),
    });
    print(`created ${envFile}\nstart it with: node --env-file=${envFile} apps/bank/dist/main.js`);
    return;
  }
  if (command === 'add-customer' || command === 'create-token') {
    const name = positionals[1];
    if (!name) throw new UsageError(`${command} needs the customer's NAME`);
    const config = parseConfig(env);
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const db = openDatabase(join(config.dataDir, 'bank.sqlite'));
    try {
      const customers = new Customers(db, await Vault.open(db, config.secret), config);
      if (command === 'add-customer') {
        const created = await customers.signUp({ name, password: await readStdin(stdin), kind: 'opaque' });
        if (isProblem(created)) throw new UsageError(created.detail);
        print(`${created.name}@${config.domain}`);
        return;
      }
      const customer = customers.byName(name);
      if (!customer || customer.closedAt) throw new UsageError(`${name} is not an open account`);
      const scopes = values.scope ?? [];
      if (!values.label || scopes.length === 0 || !scopes.every(isScope)) throw new UsageError('create-token needs --label and at least one known --scope');
      if ((customer.kind === 'operator') !== scopes.every((scope) => scope === 'operator')) throw new UsageError('operator rights go to the operator only, and only them');
      const limits: { currencyId: bigint; dailyMax: bigint }[] = [];
      if (scopes.includes('spend')) {
        const currency = new Currencies(db, config.currencies).find(values.currency?.[0] ?? '');
        const max = currency && parsePositive(values.limit, currency);
        if (!currency || !max?.ok) throw new UsageError('spend needs --limit DECIMAL and --currency WSDL (one the bank deals in)');
        limits.push({ currencyId: currency.id, dailyMax: max.value });
      }
      print(new Tokens(db).create(customer.id, values.label, scopes as Scope[], limits).secret);
      return;
    } finally {
      db.close();
    }
  }
  throw new UsageError(`unknown command ${command}\n\n${USAGE}`);
}
