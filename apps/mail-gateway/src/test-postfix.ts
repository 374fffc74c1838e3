// The downstream MTA for the tests: the real Postfix from Debian, run as its own instance
// (`postfix -c DIR`) with its own config, queue and data directories in a temp folder, listening
// on 127.0.0.1 on a free port, delivering the given addresses' mail to maildirs
// (DIR/mail/<domain>/<user>/); other addresses in those domains are unknown users. Needs root (Postfix's master runs as root and drops to the
// postfix user); stopped and removed by stop().
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const NOBODY = 65534;

export interface TestPostfix {
  port: number;
  dir: string;
  /** The messages delivered to `address`, as raw text, oldest first. */
  mailbox(address: string): Promise<string[]>;
  /** Waits until `address` has at least `count` messages (or fails after `timeoutMs`). */
  waitForMail(address: string, count: number, timeoutMs?: number): Promise<string[]>;
  log(): Promise<string>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const MASTER_CF = (port: number) => `# only what local delivery over SMTP on loopback needs; nothing chrooted
127.0.0.1:${port} inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
flush unix n - n 1000? 0 flush
showq unix n - n - - showq
`;

export async function startTestPostfix(mailboxes: string[]): Promise<TestPostfix> {
  if (process.getuid?.() !== 0) throw new Error('the Postfix fixture needs root (Postfix master runs as root)');
  const dir = await mkdtemp(join(tmpdir(), 'lcp-postfix-'));
  await chmod(dir, 0o755); // the postfix user must reach data/ and nobody must reach mail/
  const conf = join(dir, 'conf');
  const mail = join(dir, 'mail');
  await Promise.all(['conf', 'queue', 'data', 'mail'].map((d) => mkdir(join(dir, d))));
  await chown(mail, NOBODY, NOBODY);
  const { stdout: postfixUid } = await run('id', ['-u', 'postfix']);
  await chown(join(dir, 'data'), Number(postfixUid.trim()), 0);
  const port = await freePort();
  // texthash: a plain file, no postmap (a regexp map may not substitute into mailbox paths)
  const domains = [...new Set(mailboxes.map((a) => a.split('@')[1] as string))];
  await writeFile(join(conf, 'mailboxes'), mailboxes.map((a) => `${a} ${a.split('@')[1]}/${a.split('@')[0]}/\n`).join(''));
  await writeFile(
    join(conf, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `config_directory = ${conf}`,
      `queue_directory = ${join(dir, 'queue')}`,
      `data_directory = ${join(dir, 'data')}`,
      'mail_owner = postfix',
      'setgid_group = postdrop',
      'myhostname = mx.test.invalid',
      'mydestination =',
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
      `virtual_mailbox_domains = ${domains.join(', ')}`,
      `virtual_mailbox_base = ${mail}`,
      `virtual_mailbox_maps = texthash:${join(conf, 'mailboxes')}`,
      'alias_maps =',
      'alias_database =',
      `virtual_uid_maps = static:${NOBODY}`,
      `virtual_gid_maps = static:${NOBODY}`,
      'virtual_minimum_uid = 1',
      `maillog_file_prefixes = ${dir}`,
      `maillog_file = ${join(dir, 'maillog')}`,
      'smtputf8_enable = no',
      'smtpd_banner = $myhostname ESMTP (test Postfix)',
      // the gateway's pool may keep many connections
      'smtpd_client_connection_count_limit = 0',
      '',
    ].join('\n'),
  );
  await writeFile(join(conf, 'master.cf'), MASTER_CF(port));
  const postfix = (command: string) => run('postfix', ['-c', conf, command], { timeout: 30_000 });
  try {
    await postfix('start');
    await waitForPort(port, 15_000);
  } catch (error) {
    await postfix('abort').catch(() => {});
    const log = await readFile(join(dir, 'maillog'), 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`Postfix did not start: ${(error as Error).message}\n${log}`);
  }

  const mailbox = async (address: string): Promise<string[]> => {
    const [user, domain] = address.toLowerCase().split('@') as [string, string];
    const folder = join(mail, domain, user, 'new');
    const names = (await readdir(folder).catch(() => [] as string[])).sort();
    return Promise.all(names.map((n) => readFile(join(folder, n), 'utf8')));
  };
  return {
    port,
    dir,
    mailbox,
    async waitForMail(address, count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const messages = await mailbox(address);
        if (messages.length >= count) return messages;
        if (Date.now() > deadline) throw new Error(`${address} has ${messages.length} messages, expected ${count}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    log: () => readFile(join(dir, 'maillog'), 'utf8').catch(() => ''),
    async stop() {
      await postfix('stop').catch(() => postfix('abort').catch(() => {}));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
