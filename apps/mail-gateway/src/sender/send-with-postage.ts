// The sender's side: send through nodemailer; if the gateway answers with postage due, read the
// offer from the reply, pay it (through the local LCP agent, or as an LCP holder directly) with
// the quoted reference as transactionId, and send the same message (same Message-ID) again with
// the reference. Each reference is paid once: retries only send again, the agent answers a
// repeated payment without paying twice, and the bank answers a repeated Idempotency-Key with
// the first answer. The payee is a key, or a bank customer's name (bob@bank.com): the bank pays
// a name itself; the agent and a holder pay the key and userid its name document gives.
import { randomBytes } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import nodemailer from 'nodemailer';
import type { AgentClient } from '@lcp/agent';
import { resolve, type IssuerClient } from '@lcp/client';
import { parseAmount } from '@lcp/protocol';
import { BankApi, BankApiError, type BankApiOptions } from '../bank-api.js';
import { PAYMENT_HEADER, REFUND_HEADER } from '../message.js';
import { isEntityId } from '../payees.js';
import { readPostageReply, type PostageOffer } from '../postage-reply.js';

export interface PostagePayer {
  /** Where the postage should go back (wanted, or never used): an entity id or a payment name. */
  refundTo(): Promise<string>;
  /** Whether this payer can pay this offer at all (its currency, its payee). */
  accepts(offer: PostageOffer): boolean;
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
    // named already on the first send: the gateway refunds postage paid but never used there
    const refundHeader = { [REFUND_HEADER]: await payer.refundTo() };
    let first: SmtpErrorShape;
    try {
      const response = await send(refundHeader);
      step(`delivered without postage: ${response}`);
      return { messageId, response, sends };
    } catch (error) {
      first = error as SmtpErrorShape;
    }
    const text = first.response ?? first.message ?? '';
    const offers = readPostageReply(text);
    if (offers.length === 0) throw new PostageRefusedError(`refused: ${text}`, first.responseCode, text);
    const offer = offers.find((o) => payer.accepts(o) && withinMax(o, options.maxAmount));
    if (!offer) throw new PostageRefusedError(`postage asked is not payable here: ${offers.map((o) => `${o.amount} at ${o.currency}`).join(', ')}`, first.responseCode, text);
    step(`postage due: ${offer.amount} (${offer.currency}) to ${offer.payee}, reference ${offer.ref}`);
    await payer.pay(offer);
    step(`paid ${offer.ref}`);
    const headers = { [PAYMENT_HEADER]: offer.ref, ...refundHeader };
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

/** How a payee's payment name is turned into a key (and userid): its bank's name document. */
export interface NameOptions {
  /** Trust anchors for banks' certificates; the system's by default. */
  caPem?: string;
  lookup?: LookupFunction;
  /** HTTPS port of a bank's domain (tests and demos); 443 otherwise. */
  port?: (domain: string) => number | undefined;
}

/** The key (and userid) to send a transferFundsRequest to for this offer. */
export async function payeeAccount(offer: PostageOffer, names: NameOptions = {}): Promise<{ entityId: string; userid?: string }> {
  if (isEntityId(offer.payee)) return { entityId: offer.payee };
  const port = names.port?.(offer.payee.slice(offer.payee.lastIndexOf('@') + 1));
  const document = await resolve(offer.payee, { ...(names.caPem ? { caPem: names.caPem } : {}), ...(names.lookup ? { lookup: names.lookup } : {}), ...(port ? { port } : {}) });
  const account = document.accounts.find((a) => a.wsdl === offer.currency);
  if (!account) throw new PostageRefusedError(`${offer.payee} takes no payments in ${offer.currency}`, undefined, '');
  return { entityId: account.entityId, ...(document.userid ? { userid: document.userid } : {}) };
}

/** Pays through the user's local LCP agent, within the spending policy the user set there. */
export function agentPayer(agent: AgentClient, names: NameOptions = {}): PostagePayer {
  let identity: Promise<string> | undefined;
  return {
    refundTo: () => (identity ??= agent.identity().then((i) => i.entityId)),
    accepts: () => true, // the agent's policy decides, before anything is sent
    async pay(offer) {
      const to = await payeeAccount(offer, names);
      for (let attempt = 0; ; attempt++) {
        try {
          const { result } = await agent.pay({ to: to.entityId, ...(to.userid ? { userid: to.userid } : {}), amount: offer.amount, currency: offer.currency, transactionId: offer.ref });
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
export function issuerPayer(client: IssuerClient, holderId: string, currency: string, names: NameOptions = {}): PostagePayer {
  const paid = new Set<string>();
  return {
    refundTo: async () => holderId,
    accepts: (offer) => offer.currency === currency,
    async pay(offer) {
      if (paid.has(offer.ref)) return;
      const amount = parseAmount(offer.amount, client.scale);
      if (!amount.ok) throw new PostageRefusedError(`unreadable amount ${offer.amount}`, undefined, '');
      const to = await payeeAccount(offer, names);
      const { result } = await client.transferFunds({ recipient: to.entityId, ...(to.userid ? { userid: to.userid } : {}), amount: amount.value, transactionId: offer.ref });
      if (result !== 'success') throw new PostageRefusedError(`the payment failed: ${result}`, undefined, '');
      paid.add(offer.ref);
    },
  };
}

/**
 * Pays from a bank account (section 5.1) with a token of scope `spend`: POST /api/v1/payments
 * to the payee as quoted (a key, or a name the bank resolves, which is a book transfer when it
 * is a customer of the same bank). The Idempotency-Key is the reference, so a payment repeated
 * (a lost answer, a restarted program using the same token) is answered from the first one.
 * Refunds come back to the customer's payment name (alice@bank.com). Use it with a maxAmount.
 */
export function bankPayer(options: BankApiOptions): PostagePayer {
  const bank = new BankApi(options);
  let name: Promise<string> | undefined;
  return {
    refundTo: () => (name ??= bank.customer()),
    // the bank decides its currencies; only maxAmount bounds the amount a reply asks for (the
    // token's daily limit is no bound per message), so give one
    accepts: () => true,
    async pay(offer) {
      const order = { to: offer.payee, amount: offer.amount, currency: offer.currency, transactionId: offer.ref };
      for (let attempt = 0; ; attempt++) {
        let answer;
        try {
          answer = await bank.pay(order, `postage_${offer.ref}`);
        } catch (error) {
          // no answer, or the first request with this key still running: the same key again is safe
          if (error instanceof BankApiError && attempt < 5) {
            await sleep(200 * (attempt + 1));
            continue;
          }
          throw error;
        }
        // 202: the bank sent it and the issuer has not answered yet; the gateway answers 451 until it arrives
        if (answer.kind === 'pending') return;
        if (answer.kind === 'refused') throw new PostageRefusedError(`the bank refused the payment: ${answer.code}${answer.detail ? `: ${answer.detail}` : ''}`, undefined, '');
        if (answer.result !== 'success') throw new PostageRefusedError(`the payment failed: ${answer.result}`, undefined, '');
        return;
      }
    },
  };
}
