// lcp-postage send: one message through a pay-to-send gateway, paying through the local agent.
//   lcp-postage send --server mx.example.org:25 --from alice@a.test --to bob@example.org \
//     --subject Hi --text "Hello" --agent-url http://127.0.0.1:7468 [--max 0.10@<wsdl>] [--starttls] [--ca FILE]
// The agent token comes from the environment (LCP_POSTAGE_AGENT_TOKEN), never from arguments.
// Or as an LCP holder directly, with its own key: --identity FILE --currency WSDL [--issuer-ca FILE]
// [--state FILE] (the holder's counter and pending transfer; kept in memory without it).
// Or from a bank account: --bank-url https://bank.com [--bank-ca FILE] --max AMOUNT@WSDL, with the
// bank token (scope spend) in LCP_POSTAGE_BANK_TOKEN.
// Both without the agent need --max: nothing else bounds what a reply can ask for.
import { readFile } from 'node:fs/promises';
import { AgentClient } from '@lcp/agent';
import { FileStateStore, IssuerClient } from '@lcp/client';
import { createHolderCertificate, loadIdentity, privateKeyPem } from '@lcp/crypto';
import { agentPayer, bankPayer, issuerPayer, sendWithPostage, type PostagePayer, type SendResult } from './send-with-postage.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage: lcp-postage send --server HOST:PORT --from ADDRESS --to ADDRESS [--to ...]
         [--subject TEXT] [--text TEXT] [--message-id <ID>] [--agent-url URL] [--max AMOUNT@CURRENCY_WSDL]
         [--starttls] [--ca FILE] [--servername NAME]
         [--identity FILE --currency WSDL [--issuer-ca FILE] [--state FILE] [--scale N]]  (pay as a holder, no agent; needs --max)
         [--bank-url https://BANK [--bank-ca FILE]]  (pay from a bank account, no agent; needs --max)
environment: LCP_POSTAGE_AGENT_TOKEN (the agent's token for this application, when paying through it)
             LCP_POSTAGE_BANK_TOKEN (a bank token of scope spend, with --bank-url)`;

export async function runSendCli(argv: string[], env: Record<string, string | undefined>, out: (line: string) => void = console.log): Promise<SendResult> {
  const [command, ...rest] = argv;
  if (command !== 'send') throw new UsageError(USAGE);
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === '--starttls') {
      flags.add(arg);
      continue;
    }
    const value = rest[i + 1];
    if (!arg.startsWith('--') || value === undefined) throw new UsageError(USAGE);
    values.set(arg, [...(values.get(arg) ?? []), value]);
    i++;
  }
  const one = (name: string) => values.get(name)?.[0];
  const server = one('--server');
  const from = one('--from');
  const to = values.get('--to') ?? [];
  if (!server || !/^[^:]+:\d+$/.test(server) || !from || to.length === 0) throw new UsageError(USAGE);
  const [host, port] = server.split(':') as [string, string];
  const maxAmount: Record<string, string> = {};
  for (const m of values.get('--max') ?? []) {
    const at = m.indexOf('@');
    if (at < 1) throw new UsageError('--max takes AMOUNT@CURRENCY_WSDL');
    maxAmount[m.slice(at + 1)] = m.slice(0, at);
  }
  const ca = one('--ca');
  const servername = one('--servername');
  const messageId = one('--message-id');
  // paying with its own key or from a bank account, nothing but --max bounds what a gateway (or
  // whoever answers on a plaintext connection) can ask; a bank token's daily limit is no bound per message
  const bankUrl = one('--bank-url');
  if (one('--identity') && Object.keys(maxAmount).length === 0) throw new UsageError('--identity needs --max AMOUNT@CURRENCY_WSDL (the most postage to pay)');
  if (bankUrl && Object.keys(maxAmount).length === 0) throw new UsageError('--bank-url needs --max AMOUNT@CURRENCY_WSDL (the most postage to pay)');
  if (bankUrl && one('--identity')) throw new UsageError('pay either from a bank (--bank-url) or as a holder (--identity), not both');
  if (bankUrl && !/^https:\/\/[^/\s]+\/?$/.test(bankUrl)) throw new UsageError('--bank-url takes the bank\'s https origin, e.g. https://bank.com');
  const holder = one('--identity') ? await holderPayer(one) : undefined;
  let payer: PostagePayer;
  if (holder) payer = holder.payer;
  else if (bankUrl) {
    const token = env.LCP_POSTAGE_BANK_TOKEN;
    if (!token) throw new UsageError('LCP_POSTAGE_BANK_TOKEN is not set');
    const bankCa = one('--bank-ca');
    payer = bankPayer({ url: bankUrl, token, ...(bankCa ? { caPem: await readFile(bankCa, 'utf8') } : {}) });
  } else {
    const token = env.LCP_POSTAGE_AGENT_TOKEN;
    if (!token) throw new UsageError('LCP_POSTAGE_AGENT_TOKEN is not set');
    payer = agentPayer(new AgentClient({ url: one('--agent-url') ?? 'http://127.0.0.1:7468', token }));
  }
  const result = await sendWithPostage({
    smtp: { host, port: Number(port), requireTLS: flags.has('--starttls'), ...(ca ? { ca: await readFile(ca, 'utf8') } : {}), ...(servername ? { servername } : {}) },
    message: { from, to, subject: one('--subject') ?? '', text: one('--text') ?? '', ...(messageId ? { messageId } : {}) },
    payer,
    ...(Object.keys(maxAmount).length > 0 ? { maxAmount } : {}),
    onStep: out,
  }).finally(() => holder?.client.close());
  out(`message ${result.messageId} delivered${result.paid ? ` (postage ${result.paid.amount} paid, reference ${result.paid.ref})` : ' (free)'}`);
  return result;
}

/** --identity: the sender pays as an LCP holder with its own key, at the one currency named. */
async function holderPayer(one: (name: string) => string | undefined): Promise<{ payer: PostagePayer; client: IssuerClient }> {
  const currency = one('--currency');
  const scale = Number(one('--scale') ?? '2');
  if (!currency || !/^https?:\/\//.test(currency)) throw new UsageError('--identity needs --currency WSDL_URL');
  if (!Number.isInteger(scale) || scale < 0 || scale > 18) throw new UsageError('--scale takes 0-18');
  const identity = await loadIdentity(one('--identity') as string);
  const issuerCa = one('--issuer-ca');
  const state = one('--state');
  const client = await IssuerClient.connect({
    wsdlUrl: currency,
    credentials: { certPem: await createHolderCertificate(identity), keyPem: privateKeyPem(identity) },
    scale,
    ...(issuerCa ? { caPem: await readFile(issuerCa, 'utf8') } : {}),
    ...(state ? { state: new FileStateStore(state) } : {}),
  });
  return { payer: issuerPayer(client, identity.id, currency), client };
}
