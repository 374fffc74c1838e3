// The message as the gateway reads it: CRLF line endings only (a bare CR or LF is refused, which
// also stops SMTP smuggling through the downstream MTA), a well-formed header block, and the few
// headers postage depends on. Headers the gateway writes are removed from what senders send.
import { payeeOrUndefined } from './payees.js';

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 256 * 1024;
const FIELD_NAME = /^[!-9;-~]+$/;
const MESSAGE_ID = /^<[!-;=?-~]{1,250}>$/;
/** Postage references are made by the gateway: the same alphabet on the way back. */
export const REFERENCE = /^pst_[A-Za-z0-9_-]{22}$/;

/** Headers only the gateway writes: removed from incoming messages. */
export const GATEWAY_HEADER = 'X-LCP-Postage';
/** The sender's payment reference, read at DATA. */
export const PAYMENT_HEADER = 'X-LCP-Payment';
/** Where the sender wants the postage back if the recipient marks the message as wanted. */
export const REFUND_HEADER = 'X-LCP-Refund-To';

export class MessageFormatError extends Error {
  override name = 'MessageFormatError';
}

export interface ParsedMessage {
  /** Header fields in order, each with its raw bytes (folded lines kept) and unfolded value. */
  fields: { name: string; lower: string; raw: Buffer; value: string }[];
  body: Buffer;
  messageId?: string;
  payment?: string;
  refundTo?: string;
  /** Message-IDs named by In-Reply-To and References. */
  inReplyTo: string[];
}

/** Refuses a bare CR, a bare LF or a NUL anywhere in the message. */
export function checkLineEndings(raw: Buffer): void {
  for (let i = raw.indexOf(0x0a); i !== -1; i = raw.indexOf(0x0a, i + 1)) {
    if (raw[i - 1] !== 0x0d) throw new MessageFormatError('a bare LF in the message');
  }
  for (let i = raw.indexOf(0x0d); i !== -1; i = raw.indexOf(0x0d, i + 1)) {
    if (raw[i + 1] !== 0x0a) throw new MessageFormatError('a bare CR in the message');
  }
  if (raw.includes(0x00)) throw new MessageFormatError('a NUL byte in the message');
}

function single(fields: ParsedMessage['fields'], lower: string): string | undefined {
  const found = fields.filter((f) => f.lower === lower);
  if (found.length > 1) throw new MessageFormatError(`more than one ${found[0]?.name} header`);
  return found[0]?.value.trim();
}

export function parseMessage(raw: Buffer): ParsedMessage {
  checkLineEndings(raw);
  let end = raw.indexOf(CRLF_CRLF);
  // a message that is only headers, or whose headers end the message
  if (end === -1) end = raw.length;
  if (end > MAX_HEADER_BYTES) throw new MessageFormatError('the header block is too large');
  const headerText = raw.subarray(0, end);
  const body = raw.subarray(Math.min(raw.length, end + 4));
  const fields: ParsedMessage['fields'] = [];
  const lines = headerText.length === 0 ? [] : headerText.toString('latin1').split('\r\n');
  if (lines[lines.length - 1] === '') lines.pop(); // headers that end the message
  for (const line of lines) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      const last = fields[fields.length - 1];
      if (!last) throw new MessageFormatError('the message starts with a continuation line');
      last.raw = Buffer.concat([last.raw, Buffer.from(`\r\n${line}`, 'latin1')]);
      last.value += line;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!FIELD_NAME.test(name)) throw new MessageFormatError('a header line without a field name');
    fields.push({ name, lower: name.toLowerCase(), raw: Buffer.from(line, 'latin1'), value: line.slice(colon + 1) });
  }
  const messageId = single(fields, 'message-id');
  if (messageId !== undefined && !MESSAGE_ID.test(messageId)) throw new MessageFormatError('an unreadable Message-ID');
  const payment = single(fields, PAYMENT_HEADER.toLowerCase());
  if (payment !== undefined && !REFERENCE.test(payment)) throw new MessageFormatError(`an unreadable ${PAYMENT_HEADER} header`);
  const refundText = single(fields, REFUND_HEADER.toLowerCase());
  const refundTo = refundText === undefined ? undefined : payeeOrUndefined(refundText);
  if (refundText !== undefined && !refundTo) throw new MessageFormatError(`${REFUND_HEADER} must be an entity id (64 hex digits) or a payment name such as alice@bank.com`);
  const inReplyTo = fields
    .filter((f) => f.lower === 'in-reply-to' || f.lower === 'references')
    .flatMap((f) => f.value.match(/<[^<>\s]{1,250}>/g) ?? []);
  return {
    fields,
    body,
    inReplyTo,
    ...(messageId ? { messageId } : {}),
    ...(payment ? { payment } : {}),
    ...(refundTo ? { refundTo } : {}),
  };
}

/**
 * The message to relay: the gateway's own header first (values made by the gateway from
 * checked data only), the sender's headers without any copy of the gateway's, the body as is.
 */
export function rewriteMessage(message: ParsedMessage, postage: string): Buffer {
  if (/[\r\n]/.test(postage)) throw new Error('a header value with a line break'); // a bug, not input
  const kept = message.fields.filter((f) => f.lower !== GATEWAY_HEADER.toLowerCase());
  const parts: Buffer[] = [Buffer.from(`${GATEWAY_HEADER}: ${postage}\r\n`, 'latin1')];
  for (const f of kept) parts.push(f.raw, Buffer.from('\r\n'));
  parts.push(Buffer.from('\r\n'), message.body);
  return Buffer.concat(parts);
}
