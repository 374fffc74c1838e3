// lcp-issuer: create a currency, mint, look at balances and statements, serve.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { formatAmount, isEntityId, parseAmount, type EntityId } from '@lcp/protocol';
import { loadCertificateAuthority } from '@lcp/crypto';
import { startIssuer } from './app.js';
import { initCurrency, loadCurrency, openCurrencyLedger } from './currency.js';

const USAGE = `usage: lcp-issuer <command> --dir DIR [options]

  init       --domain NAME [--scale 2] [--cap UNITS] [--ca-cert F --ca-key F]
             [--https-port 443] [--http-port 80]     create a new currency in DIR
  serve                                              run the issuer (LCP over HTTPS, WSDL over HTTP)
  mint       --to ID --amount DECIMAL [--transaction-id T]   issue currency from the treasury
  balance    [--account ID]                          one balance (the treasury's by default)
  totals                                             sum of balances (always 0), accounts, transfers
  statement  --account ID                            every entry of one account

Settings come from DIR/issuer.env; LCP_* environment variables override them.`;

export class UsageError extends Error {
  override name = 'UsageError';
}

function entityOption(value: string | undefined, name: string): EntityId {
  if (!value || !isEntityId(value)) throw new UsageError(`--${name} must be an entity id (64 lowercase hex)`);
  return value;
}

export async function runCli(argv: string[], env: Record<string, string | undefined>, print = console.log): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      domain: { type: 'string' },
      scale: { type: 'string' },
      cap: { type: 'string' },
      'ca-cert': { type: 'string' },
      'ca-key': { type: 'string' },
      'https-port': { type: 'string' },
      'http-port': { type: 'string' },
      to: { type: 'string' },
      account: { type: 'string' },
      amount: { type: 'string' },
      'transaction-id': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    print(USAGE);
    return;
  }
  const dir = values.dir ?? env.LCP_HOME;
  if (!dir) throw new UsageError('--dir (or LCP_HOME) names the currency folder');

  if (command === 'init') {
    if (!values.domain) throw new UsageError('init needs --domain');
    const ca =
      values['ca-cert'] && values['ca-key']
        ? loadCertificateAuthority(await readFile(values['ca-cert'], 'utf8'), await readFile(values['ca-key'], 'utf8'))
        : undefined;
    const settings: Record<string, string> = {};
    if (values.scale) settings.LCP_SCALE = values.scale;
    if (values.cap) settings.LCP_ISSUANCE_CAP = values.cap;
    if (values['https-port']) settings.LCP_HTTPS_PORT = values['https-port'];
    if (values['http-port']) settings.LCP_HTTP_PORT = values['http-port'];
    const created = await initCurrency({ dir, domain: values.domain, settings, ...(ca ? { ca } : {}) });
    print(`created ${values.domain} in ${dir}\ntreasury: ${created.treasury}\nsettings: ${created.configFile}`);
    if (!ca) {
      print('note: tls/cert.pem is self-signed, for local trials. Send tls/request.csr to a CA and put the');
      print('      certificate it returns in tls/cert.pem: it then names the issuer\'s own key for its domain.');
    }
    return;
  }

  const config = await loadCurrency(dir, env);
  if (command === 'serve') {
    const issuer = await startIssuer(config);
    const stop = () => void issuer.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    return;
  }

  const ledger = await openCurrencyLedger(config);
  try {
    const show = (minor: bigint) => formatAmount(minor, config.scale);
    switch (command) {
      case 'mint': {
        const to = entityOption(values.to, 'to');
        const amount = parseAmount(values.amount ?? '', config.scale);
        if (!amount.ok || amount.value === 0n) throw new UsageError(`--amount: ${amount.ok ? 'must be positive' : amount.reason}`);
        const outcome = await ledger.mint(to, amount.value, values['transaction-id'] ?? `mint-${Date.now()}`);
        if ('fault' in outcome) throw new UsageError(`${outcome.fault}: ${outcome.detail}`);
        print(`${outcome.response.result}: ${show(amount.value)} to ${to}; treasury balance ${show(await ledger.balance(ledger.settings.treasury))}`);
        break;
      }
      case 'balance': {
        const account = values.account ? entityOption(values.account, 'account') : ledger.settings.treasury;
        print(show(await ledger.balance(account)));
        break;
      }
      case 'totals': {
        const t = await ledger.totals();
        print(
          `sum ${show(t.sum)}  accounts ${t.accounts}  transfers ${t.transfers}  ` +
            `treasury ${show(t.treasuryBalance)}  fees ${show(t.feeBalance)}`,
        );
        break;
      }
      case 'statement': {
        const account = entityOption(values.account, 'account');
        for (const e of await ledger.statement(account)) {
          print(`${e.at.toISOString()}  ${e.kind.padEnd(14)} ${show(e.delta).padStart(14)}  ${e.transactionId ?? ''}  ${e.counterparty}`);
        }
        break;
      }
      default:
        throw new UsageError(`unknown command ${command}\n\n${USAGE}`);
    }
  } finally {
    await ledger.close();
  }
}
