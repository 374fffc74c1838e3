// The sender's side: send through nodemailer; if the gateway answers with postage due, read the
// offer from the reply, pay it (through the local LCP agent, or as an LCP holder directly) with
// the quoted reference as transactionId, and send the same message (same Message-ID) again with
// the reference. Each reference is paid once: retries only send again, and the agent answers a
// repeated payment without paying twice.
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { AgentClient } from '@lcp/agent';
import type { IssuerClient } from '@lcp/client';
import { parseAmount } from '@lcp/protocol';
import { PAYMENT_HEADER, REFUND_HEADER } from '../message.js';
import { readPostageReply, type PostageOffer } from '../postage-reply.js';

export interface PostagePayer {
  /** Where the postage should go back if the recipient marks the message as wanted. */
  refundTo(): Promise<string>;
  accepts(currency: string): boolean;
  /** Pays one offer, with its reference as transactionId. */
  pay(offer: PostageOffer): Promise<void>;
}

export interface SendWithPostageOptions {
  smtp: { host: string; port: number; requireTLS?: boolean; ca?: string; servername?: string; name?: string };
  message: { from: string; to: string | string[]; subject?: string; text?: string; messageId?: string; headers?: Record<string, string> };
  payer: PostagePayer;
  /** The most this sender pays per message, by currency (decimal); offers above are refused. */
  maxAmount?: Record<string, string>;
  /** Sends after paying, while the gateway answers "not arrived yet" (451). */
  attempts?: number;
  retryDelayMs?: number;
  /** Sees each step, for the CLI. */
  onStep?: (line: string) => void;
}

export interface SendResult {
  messageId: string;
  response: string;
  /** The offer paid, when postage was due. */
  paid?: PostageOffer;
  sends: number;
}

/** The gateway refused the message and paying could not change that (or the price is too high). */
export class PostageRefusedError extends Error {
  override name = 'PostageRefusedError';
  constructor(
    message: string,
    readonly responseCode: number | undefined,
    readonly response: string,
  ) {
    super(message);
  }
}

interface SmtpErrorShape {
  responseCode?: number;
  response?: string;
  message?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function sendWithPostage(options: SendWithPostageOptions): Promise<SendResult> {
  const { smtp, payer } = options;
  const step = options.onStep ?? (() => {});
  const domain = options.message.from.slice(options.message.from.lastIndexOf('@') + 1) || 'localhost';
  const messageId = options.message.messageId ?? `<${randomBytes(12).toString('hex')}@${domain}>`;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: false,
    requireTLS: smtp.requireTLS ?? false,
    ...(smtp.name ? { name: smtp.name } : {}),
    // like an MTA: STARTTLS when offered; the certificate is checked only when TLS is required
    tls: {
      rejectUnauthorized: smtp.requireTLS ?? false,
      ...(smtp.ca ? { ca: smtp.ca } : {}),
      ...(smtp.servername ? { servername: smtp.servername } : {}),
    },
  });
  let sends = 0;
  const send = async (extra: Record<string, string>) => {
    sends++;
    const info = await transport.sendMail({
      from: options.message.from,
      to: options.message.to,
      subject: options.message.subject ?? '',
      text: options.message.text ?? '',
      messageId,
      headers: { ...options.message.headers, ...extra },
    });
    return String(info.response ?? '');
  };
  try {
    let first: SmtpErrorShape;
    try {
      const response = await send({});
      step(`delivered without postage: ${response}`);
      return { messageId, response, sends };
    } catch (error) {
      first = error as SmtpErrorShape;
    }
    const text = first.response ?? first.message ?? '';
    const offers = readPostageReply(text);
    if (offers.length === 0) throw new PostageRefusedError(`refused: ${text}`, first.responseCode, text);
    const offer = offers.find((o) => payer.accepts(o.currency) && withinMax(o, options.maxAmount));
    if (!offer) throw new PostageRefusedError(`postage asked is not payable here: ${offers.map((o) => `${o.amount} at ${o.currency}`).join(', ')}`, first.responseCode, text);
    step(`postage due: ${offer.amount} (${offer.currency}) to ${offer.payee}, reference ${offer.ref}`);
    await payer.pay(offer);
    step(`paid ${offer.ref}`);
    const headers = { [PAYMENT_HEADER]: offer.ref, [REFUND_HEADER]: await payer.refundTo() };
    const attempts = options.attempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await send(headers);
        step(`delivered with postage ${offer.ref}: ${response}`);
        return { messageId, response, paid: offer, sends };
      } catch (error) {
        const e = error as SmtpErrorShape;
        const temporary = e.responseCode !== undefined && e.responseCode >= 400 && e.responseCode < 500;
        if (!temporary || attempt >= attempts) throw new PostageRefusedError(`refused after paying: ${e.response ?? e.message}`, e.responseCode, e.response ?? '');
        step(`not yet: ${e.response ?? e.message}; sending again`);
        await sleep(options.retryDelayMs ?? 500);
      }
    }
  } finally {
    transport.close();
  }
}

function withinMax(offer: PostageOffer, max: Record<string, string> | undefined): boolean {
  const limit = max?.[offer.currency];
  if (limit === undefined) return max === undefined;
  const a = parseAmount(offer.amount, 18);
  const b = parseAmount(limit, 18);
  return a.ok && b.ok && a.value <= b.value;
}

/** Pays through the user's local LCP agent, within the spending policy the user set there. */
export function agentPayer(agent: AgentClient): PostagePayer {
  let identity: Promise<string> | undefined;
  return {
    refundTo: () => (identity ??= agent.identity().then((i) => i.entityId)),
    accepts: () => true, // the agent's policy decides, before anything is sent
    async pay(offer) {
      for (let attempt = 0; ; attempt++) {
        try {
          const { result } = await agent.pay({ to: offer.payee, amount: offer.amount, currency: offer.currency, transactionId: offer.ref });
          if (result !== 'success') throw new PostageRefusedError(`the payment failed: ${result}`, undefined, '');
          return;
        } catch (error) {
          const code = (error as { code?: string }).code;
          // the same order again is settled by the agent with its original counter, never paid twice
          if ((code === 'paymentOutcomeUnknown' || code === 'paymentInProgress') && attempt < 5) {
            await sleep(200 * (attempt + 1));
            continue;
          }
          throw error;
        }
      }
    },
  };
}

/** Pays as an LCP holder directly (a library user with its own key at the issuer). */
export function issuerPayer(client: IssuerClient, holderId: string, currency: string): PostagePayer {
  const paid = new Set<string>();
  return {
    refundTo: async () => holderId,
    accepts: (offered) => offered === currency,
    async pay(offer) {
      if (paid.has(offer.ref)) return;
      const amount = parseAmount(offer.amount, client.scale);
      if (!amount.ok) throw new PostageRefusedError(`unreadable amount ${offer.amount}`, undefined, '');
      const { result } = await client.transferFunds({ recipient: offer.payee, amount: amount.value, transactionId: offer.ref });
      if (result !== 'success') throw new PostageRefusedError(`the payment failed: ${result}`, undefined, '');
      paid.add(offer.ref);
    },
  };
}
