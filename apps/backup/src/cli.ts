// lcp-backup commands: init, backup, list, restore, check, repair, peers, statement, identity.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { writeFileDurably } from '@lcp/client';
import { parseAmount, formatAmount } from '@lcp/protocol';
import { startBackup, type BackupOptions } from './app.js';
import { parseConfig } from './config.js';
import { UsageError } from './errors.js';
import { table, type Output } from './progress.js';

export const USAGE = `usage: lcp-backup <command>

  init --budget AMOUNT [--goal P] [--roots N]
                             start a backup: buys the root contracts and prints the secret
                             (keep it: with it alone, and the peer list, a new machine restores)
  init --budget AMOUNT       with LCP_BACKUP_SECRET set on a new machine: finds the catalog on
                             the peers (AMOUNT caps the reads that takes; then the backup's own
                             budget applies)
  backup PATH...             back up files and folders as a new snapshot
  list [SNAPSHOT]            the snapshots, or the files of one
  restore SNAPSHOT [PATH] --to DIR
                             restore a snapshot (or the file or folder PATH of it) into DIR
  check [--audits N]         audit: paid challenge reads of N random fragments per peer
  repair                     re-create lost fragments where redundancy fell below the goal
  peers                      each peer's price, record and estimated failure probability
  statement                  every payment: contracts, writes, reads, audits
  identity                   the buyer key; makes and keeps the secret if there is none yet
                             (fund the key when LCP_BACKUP_PAYER=issuer, then run init)

configuration: LCP_BACKUP_* variables (see apps/backup/README.md)`;

const line = (out: Output, text: string) => out.write(`${text}\n`);

/**
 * Writes the secret to this folder's secret file (0600), unless the file holds another key:
 * that one may be funded, so it is never overwritten. Returns whether the file now holds it.
 */
async function keepSecret(path: string, secret: string): Promise<boolean> {
  const existing = await readFile(path, 'utf8').then((t) => t.trim(), () => undefined);
  if (existing !== undefined && existing.split('.')[1] !== secret.split('.')[1]) return false;
  if (existing !== secret) await writeFileDurably(path, `${secret}\n`);
  return true;
}

export async function runCli(args: string[], env: Record<string, string | undefined>, options: BackupOptions = {}): Promise<void> {
  const out: Output = options.out ?? { write: (text) => void process.stdout.write(text), isTTY: process.stdout.isTTY };
  const [command, ...rest] = args;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    line(out, USAGE);
    return;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { budget: { type: 'string' }, goal: { type: 'string' }, roots: { type: 'string' }, to: { type: 'string' }, audits: { type: 'string' } },
  });
  const config = parseConfig(env);
  const running = await startBackup(config, { ...options, out });
  const { client } = running;
  try {
    switch (command) {
      case 'init': {
        const scale = config.currency.scale;
        const budgetText = values.budget;
        if (!budgetText) throw new UsageError(`init needs --budget AMOUNT\n\n${USAGE}`);
        const budget = parseAmount(budgetText, scale);
        if (!budget.ok) throw new UsageError(`--budget: ${budget.reason}`);
        const goal = Number(values.goal ?? '0.999');
        if (!(goal > 0 && goal < 1)) throw new UsageError('--goal must be a probability between 0 and 1, such as 0.999');
        // a key made now is kept before anything is bought with it: a failed init loses no key
        if (running.fresh) await keepSecret(config.secretPath, client.secret);
        const { secret, recovered } = await client.init(
          { budget: budget.value, goal, chunkBytes: config.chunkBytes, currency: config.currency },
          Number(values.roots ?? '3'),
        );
        const kept = await keepSecret(config.secretPath, secret);
        if (!kept) line(out, `note: ${config.secretPath} holds another secret and was left as it is`);
        if (recovered) {
          line(out, 'catalog recovered: `lcp-backup list` shows the snapshots');
        } else {
          line(out, `budget ${formatAmount(budget.value, scale)}, goal ${goal}`);
          line(out, `your secret (${kept ? `also written to ${config.secretPath}; ` : ''}keep a copy elsewhere):\n${secret}`);
        }
        return;
      }
      case 'backup':
        if (positionals.length === 0) throw new UsageError(`backup needs at least one PATH\n\n${USAGE}`);
        await client.backup(positionals);
        return;
      case 'list':
        line(out, client.list(positionals[0]));
        return;
      case 'restore': {
        const [snapshot, path] = positionals;
        if (!snapshot || !values.to) throw new UsageError(`restore needs SNAPSHOT and --to DIR\n\n${USAGE}`);
        await client.restore(snapshot, path, values.to);
        return;
      }
      case 'check':
        await client.check(values.audits ? Number(values.audits) : undefined);
        return;
      case 'repair':
        await client.repair();
        return;
      case 'peers':
        line(out, await client.peers());
        return;
      case 'statement': {
        const scale = client.catalog.settings.currency.scale;
        const lines = client.spending.lines();
        line(
          out,
          table(
            lines.map((l) => [l.at, l.purpose, l.peer, formatAmount(l.amount, scale), formatAmount(l.fee, scale), l.status, l.transactionId]),
            ['at', 'purpose', 'peer', 'amount', 'fee', 'status', 'transactionId'],
          ),
        );
        const totals = new Map<string, bigint>();
        for (const l of lines) if (l.status === 'paid') totals.set(l.purpose, (totals.get(l.purpose) ?? 0n) + l.amount + l.fee);
        line(out, `totals: ${[...totals].map(([p, v]) => `${p} ${formatAmount(v, scale)}`).join(', ') || 'nothing paid'}; spent ${formatAmount(client.spending.spent, scale)} of ${formatAmount(client.spending.budget, scale)}`);
        return;
      }
      case 'identity':
        // the key must outlive this command: it is the one to fund before init
        if (running.fresh) await keepSecret(config.secretPath, client.secret);
        line(out, client.buyerId);
        return;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    }
  } finally {
    await running.close();
  }
}
