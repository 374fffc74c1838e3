// lcp-postage send: one message through a pay-to-send gateway, paying through the local agent.
//   lcp-postage send --server mx.example.org:25 --from alice@a.test --to bob@example.org \
//     --subject Hi --text "Hello" --agent-url http://127.0.0.1:7468 [--max 0.10@<wsdl>] [--starttls] [--ca FILE]
// The agent token comes from the environment (LCP_POSTAGE_AGENT_TOKEN), never from arguments.
import { readFile } from 'node:fs/promises';
import { AgentClient } from '@lcp/agent';
import { agentPayer, sendWithPostage, type SendResult } from './send-with-postage.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage: lcp-postage send --server HOST:PORT --from ADDRESS --to ADDRESS [--to ...]
         [--subject TEXT] [--text TEXT] [--message-id <ID>] [--agent-url URL] [--max AMOUNT@CURRENCY_WSDL]
         [--starttls] [--ca FILE] [--servername NAME]
environment: LCP_POSTAGE_AGENT_TOKEN (the agent's token for this application)`;

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
  const token = env.LCP_POSTAGE_AGENT_TOKEN;
  if (!server || !/^[^:]+:\d+$/.test(server) || !from || to.length === 0) throw new UsageError(USAGE);
  if (!token) throw new UsageError('LCP_POSTAGE_AGENT_TOKEN is not set');
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
  const result = await sendWithPostage({
    smtp: { host, port: Number(port), requireTLS: flags.has('--starttls'), ...(ca ? { ca: await readFile(ca, 'utf8') } : {}), ...(servername ? { servername } : {}) },
    message: { from, to, subject: one('--subject') ?? '', text: one('--text') ?? '', ...(messageId ? { messageId } : {}) },
    payer: agentPayer(new AgentClient({ url: one('--agent-url') ?? 'http://127.0.0.1:7468', token })),
    ...(Object.keys(maxAmount).length > 0 ? { maxAmount } : {}),
    onStep: out,
  });
  out(`message ${result.messageId} delivered${result.paid ? ` (postage ${result.paid.amount} paid, reference ${result.paid.ref})` : ' (free)'}`);
  return result;
}
