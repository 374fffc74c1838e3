// The SMTP side, on smtp-server: STARTTLS, a size limit that answers 552 and hangs up as soon
// as a message goes over it (without reading the rest), mail only for the served domains (not an
// open relay), a bounded number of recipients and clients, and after DATA the postage decision.
import type { Readable } from 'node:stream';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { domainOf, isAddress, normalizeAddress } from './addresses.js';
import type { Logger } from './logger.js';
import { MessageFormatError, parseMessage, rewriteMessage } from './message.js';
import type { PostageDesk } from './postage-desk.js';
import { RelayError, type Relay } from './relay.js';

export interface SmtpGatewayOptions {
  hostname: string;
  domains: string[];
  tls: { key: string; cert: string };
  maxBytes: number;
  maxRecipients: number;
  maxClients: number;
  desk: PostageDesk;
  relay: Relay;
  log: Logger;
}

type Reply = Error & { responseCode: number };

/** An SMTP reply; several lines when `message` is an array (smtp-server sends them as one reply). */
const reply = (code: number, message: string | string[]): Reply =>
  Object.assign(new Error('reply'), { responseCode: code, message: message as string });

interface Connection {
  id: string;
  send(code: number, data: string): void;
  close(): void;
}

export function createSmtpGateway(options: SmtpGatewayOptions): SMTPServer {
  const { desk, relay, log } = options;
  const domains = new Set(options.domains);

  const server: SMTPServer = new SMTPServer({
    name: options.hostname,
    banner: 'LCP pay-to-send gateway',
    key: options.tls.key,
    cert: options.tls.cert,
    size: options.maxBytes,
    maxClients: options.maxClients,
    authOptional: true,
    disabledCommands: ['AUTH'],
    disableReverseLookup: true,
    hideDSN: true,
    socketTimeout: 60_000,
    closeTimeout: 5_000,
    logger: false,

    onMailFrom(address, _session, callback) {
      const sender = normalizeAddress(address.address);
      if (sender !== '' && !isAddress(sender)) return callback(reply(553, '5.1.7 The sender address is not one this gateway accepts.'));
      callback();
    },

    onRcptTo(address, session, callback) {
      const recipient = normalizeAddress(address.address);
      if (!isAddress(recipient)) return callback(reply(553, '5.1.3 The recipient address is not one this gateway accepts.'));
      if (!domains.has(domainOf(recipient))) return callback(reply(550, '5.7.1 Relaying denied: this gateway accepts mail only for its own domains.'));
      if (session.envelope.rcptTo.length >= options.maxRecipients) {
        return callback(reply(452, `4.5.3 Too many recipients: at most ${options.maxRecipients} per message.`));
      }
      callback();
    },

    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      let bytes = 0;
      let over = false;
      stream.on('data', (chunk: Buffer) => {
        if (over) return;
        bytes += chunk.length;
        if (bytes > options.maxBytes) {
          over = true;
          chunks.length = 0;
          refuseNow(server, session, 552, `5.3.4 Message too big: the limit is ${options.maxBytes} bytes.`);
          callback(reply(552, '5.3.4 Message too big.'));
          return;
        }
        chunks.push(chunk);
      });
      stream.once('end', () => {
        if (over) return;
        handleMessage(Buffer.concat(chunks), session).then(
          (answer) => callback(null, answer),
          (error: unknown) => callback(error as Error),
        );
      });
      stream.once('error', (error: Error) => {
        if (!over) callback(error);
      });
      (stream as Readable).resume();
    },
  });

  async function handleMessage(raw: Buffer, session: SMTPServerSession): Promise<string> {
    const envelope = {
      sender: session.envelope.mailFrom ? normalizeAddress(session.envelope.mailFrom.address) : '',
      recipients: session.envelope.rcptTo.map((r) => normalizeAddress(r.address)),
    };
    let message;
    try {
      message = parseMessage(raw);
    } catch (error) {
      if (error instanceof MessageFormatError) throw reply(550, `5.6.0 Message refused: ${error.message}.`);
      throw error;
    }
    let decision;
    try {
      decision = await desk.decide(envelope, message);
    } catch (error) {
      log.error({ err: error }, 'postage check failed');
      throw reply(451, '4.3.0 The postage check failed: try again later.');
    }
    if (decision.kind === 'refuse') {
      log.info({ sender: envelope.sender, recipients: envelope.recipients, code: decision.code }, 'message refused');
      throw reply(decision.code, decision.message);
    }
    if (decision.kind === 'duplicate') return `2.0.0 Already delivered with postage ${decision.ref}; not delivered twice.`;
    try {
      await relay.send(envelope, rewriteMessage(message, decision.postage));
    } catch (error) {
      decision.release?.(error instanceof RelayError && error.refused).catch((e: unknown) => log.error({ err: e, ref: decision.ref }, 'relay mark not cleared'));
      log.warn({ err: (error as Error).message }, 'relay failed');
      if (error instanceof RelayError && error.permanent) throw reply(554, '5.0.0 The mail server behind this gateway refused the message.');
      throw reply(451, '4.4.0 The message could not be handed on: try again later.');
    }
    // The answer does not wait for this commit: the downstream MTA has the message (and its own
    // durable queue), the reference stays locked until the commit, and a payment can only ever
    // pass the message it is bound to; a crash before the commit lets that same message through
    // once more, nothing else. The quote's "relaying" mark, committed before the relay, keeps the
    // sweep from refunding it meanwhile.
    decision.settle?.().catch((error: unknown) => log.error({ err: error, ref: decision.ref }, 'payment not marked as used'));
    log.info({ sender: envelope.sender, recipients: envelope.recipients, postage: decision.postage }, 'message relayed');
    return `2.0.0 Accepted (postage: ${decision.ref ? 'paid' : 'free'}).`;
  }

  return server;
}

/**
 * Answers at once, in the middle of DATA, and hangs up: smtp-server would otherwise read the
 * whole message (however large) before replying.
 */
function refuseNow(server: SMTPServer, session: SMTPServerSession, code: number, text: string): void {
  const connections = (server as unknown as { connections: Set<Connection> }).connections;
  for (const connection of connections) {
    if (connection.id !== session.id) continue;
    connection.send(code, text);
    connection.close();
  }
}
