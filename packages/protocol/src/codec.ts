// Codecs between the typed messages and the objects node-soap reads from and writes to
// the wire (strings in WSDL part order). Decoding validates everything an issuer must not
// trust; failures name a stable fault code. The XML itself is node-soap's job.
import { formatAmount, parseAmount, parseSignedAmount } from './amount.js';
import { type FaultCode, isTransferResult } from './codes.js';
import { isEntityId } from './entity-id.js';
import { LIMITS } from './limits.js';
import type {
  Deposit,
  GetDepositsRequest,
  GetDepositsResponse,
  TransferFundsRequest,
  TransferFundsResponse,
} from './messages.js';

export type Decoded<T> = { ok: true; value: T } | { ok: false; fault: FaultCode; detail: string };

/** A message as node-soap reads it: element name to text (or, for bad input, anything). */
export type WireObject = Record<string, unknown>;

// printable ASCII without the XML specials: every SOAP stack then carries it unchanged
const TRANSACTION_ID = /^[\x20-\x25\x27-\x3b\x3d\x3f-\x7e]+$/;
const USERID = /^[A-Za-z0-9._-]+$/;

export const isTransactionId = (text: string): boolean =>
  text.length <= LIMITS.maxTransactionIdLength && TRANSACTION_ID.test(text);
export const isUserid = (text: string): boolean => text.length <= LIMITS.maxUseridLength && USERID.test(text);
const UNSIGNED = /^[0-9]+$/;

const fail = (fault: FaultCode, detail: string): { ok: false; fault: FaultCode; detail: string } => ({
  ok: false,
  fault,
  detail,
});

/** A present element's text; an empty element reads as absent (zeep and PHP send <x/> for "no value"). */
function text(wire: WireObject, name: string): string | undefined | null {
  if (!Object.hasOwn(wire, name)) return undefined;
  const value = wire[name];
  if (value === undefined || value === '' || value === null) return undefined;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0) {
    return undefined;
  }
  return typeof value === 'string' ? value : null; // null: present but not text (nested, repeated)
}

function decodeUnsigned(raw: string, max: bigint): bigint | undefined {
  if (!UNSIGNED.test(raw) || raw.length > 20) return undefined;
  const value = BigInt(raw);
  return value <= max ? value : undefined;
}

function isWireObject(value: unknown): value is WireObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An operation element with no children reads as one whose every element is missing. */
const elementsOf = (wire: unknown): unknown => (wire === undefined || wire === null || wire === '' ? {} : wire);

export function decodeTransferFundsRequest(received: unknown, scale: number): Decoded<TransferFundsRequest> {
  const wire = elementsOf(received);
  if (!isWireObject(wire)) return fail('malformedRequest', 'transferFunds needs its elements');
  const recipient = text(wire, 'recipient');
  if (recipient === null || recipient === undefined || !isEntityId(recipient)) {
    return fail('invalidRecipient', 'recipient must be 64 lowercase hex characters');
  }
  const amountText = text(wire, 'amount');
  if (amountText === null || amountText === undefined) return fail('invalidAmount', 'amount is missing');
  const amount = parseAmount(amountText, scale);
  if (!amount.ok) return fail('invalidAmount', amount.reason);
  if (amount.value === 0n) return fail('invalidAmount', 'amount must be greater than zero');
  const transactionId = text(wire, 'transactionId');
  if (transactionId === null || transactionId === undefined || !isTransactionId(transactionId)) {
    return fail('invalidTransactionId', `transactionId must be 1 to ${LIMITS.maxTransactionIdLength} printable ASCII characters other than < > &`);
  }
  const counterText = text(wire, 'messageCounter');
  const messageCounter =
    typeof counterText === 'string' ? decodeUnsigned(counterText, LIMITS.maxMessageCounter) : undefined;
  if (messageCounter === undefined || messageCounter === 0n) {
    return fail('invalidCounter', 'messageCounter must be an integer from 1 to 2^63-1');
  }
  const userid = text(wire, 'userid');
  if (userid === null || (userid !== undefined && !isUserid(userid))) {
    return fail('invalidUserid', `userid must be 1 to ${LIMITS.maxUseridLength} characters of [A-Za-z0-9._-]`);
  }
  return {
    ok: true,
    value: { recipient, amount: amount.value, transactionId, messageCounter, ...(userid ? { userid } : {}) },
  };
}

export function encodeTransferFundsRequest(message: TransferFundsRequest, scale: number): Record<string, string> {
  return {
    recipient: message.recipient,
    amount: formatAmount(message.amount, scale),
    transactionId: message.transactionId,
    messageCounter: message.messageCounter.toString(),
    ...(message.userid ? { userid: message.userid } : {}),
  };
}

export function decodeGetDepositsRequest(received: unknown): Decoded<GetDepositsRequest> {
  const wire = elementsOf(received);
  if (!isWireObject(wire)) return fail('malformedRequest', 'getDeposits needs its elements');
  const waitText = text(wire, 'millisecondsWait');
  if (typeof waitText !== 'string' || !UNSIGNED.test(waitText) || waitText.length > 40) {
    return fail('invalidWait', 'millisecondsWait must be a non-negative integer');
  }
  const wait = BigInt(waitText);
  const millisecondsWait = Number(wait > BigInt(LIMITS.maxWaitMs) ? BigInt(LIMITS.maxWaitMs) : wait);
  const ackText = text(wire, 'acknowledge');
  if (ackText === null) return fail('invalidAcknowledgement', 'acknowledge must be a sequence number');
  if (ackText === undefined) return { ok: true, value: { millisecondsWait } };
  const acknowledge = decodeUnsigned(ackText, LIMITS.maxMessageCounter);
  if (acknowledge === undefined) return fail('invalidAcknowledgement', 'acknowledge must be a sequence number');
  return { ok: true, value: { millisecondsWait, acknowledge } };
}

export function encodeGetDepositsRequest(message: GetDepositsRequest): Record<string, string> {
  return {
    millisecondsWait: String(message.millisecondsWait),
    ...(message.acknowledge !== undefined ? { acknowledge: message.acknowledge.toString() } : {}),
  };
}

export function encodeTransferFundsResponse(message: TransferFundsResponse, scale: number): Record<string, string> {
  return { result: message.result, fee: formatAmount(message.fee, scale) };
}

export function decodeTransferFundsResponse(wire: unknown, scale: number): Decoded<TransferFundsResponse> {
  if (!isWireObject(wire)) return fail('malformedRequest', 'transferFundsResponse needs its elements');
  const result = text(wire, 'result');
  if (typeof result !== 'string' || !isTransferResult(result)) {
    return fail('malformedRequest', `unknown result ${JSON.stringify(result)}`);
  }
  const fee = parseAmount(text(wire, 'fee') ?? '0', scale);
  if (!fee.ok) return fail('malformedRequest', `fee: ${fee.reason}`);
  return { ok: true, value: { result, fee: fee.value } };
}

export function encodeGetDepositsResponse(message: GetDepositsResponse, scale: number): WireObject {
  const deposit = message.deposits.map((d) => ({
    transactionId: d.transactionId,
    amount: formatAmount(d.amount, scale),
    ...(d.userid ? { userid: d.userid } : {}),
    ...(d.sequence !== undefined ? { sequence: d.sequence.toString() } : {}),
  }));
  return {
    deposits: deposit.length > 0 ? { deposit } : {},
    fee: formatAmount(message.fee, scale),
    balance: formatAmount(message.balance, scale),
  };
}

export function decodeGetDepositsResponse(wire: unknown, scale: number): Decoded<GetDepositsResponse> {
  if (!isWireObject(wire)) return fail('malformedRequest', 'getDepositsResponse needs its elements');
  const list = isWireObject(wire.deposits) ? wire.deposits.deposit : undefined;
  const items: unknown[] = list === undefined ? [] : Array.isArray(list) ? list : [list];
  const deposits: Deposit[] = [];
  for (const item of items) {
    if (!isWireObject(item)) return fail('malformedRequest', 'deposit needs its elements');
    const transactionId = text(item, 'transactionId');
    const amount = parseAmount(text(item, 'amount') ?? '', scale);
    if (typeof transactionId !== 'string' || !amount.ok) return fail('malformedRequest', 'deposit is malformed');
    const userid = text(item, 'userid');
    const sequenceText = text(item, 'sequence');
    const sequence = typeof sequenceText === 'string' ? decodeUnsigned(sequenceText, LIMITS.maxMessageCounter) : undefined;
    deposits.push({
      transactionId,
      amount: amount.value,
      ...(typeof userid === 'string' ? { userid } : {}),
      ...(sequence !== undefined ? { sequence } : {}),
    });
  }
  const fee = parseAmount(text(wire, 'fee') ?? '0', scale);
  const balance = parseSignedAmount(text(wire, 'balance') ?? '', scale);
  if (!fee.ok || !balance.ok) return fail('malformedRequest', 'fee or balance is malformed');
  return { ok: true, value: { deposits, fee: fee.value, balance: balance.value } };
}
