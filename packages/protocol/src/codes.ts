// The registry of everything an issuer can answer besides data: transfer results (a
// definitive answer that uses up the message counter) and SOAP faults (the request was
// refused and changed nothing). Codes are stable: clients may switch on them.

export const TRANSFER_RESULTS = {
  success: 'The transfer was committed: the sender was debited amount + fee, the recipient credited amount.',
  insufficientFunds: "The sender's balance does not cover amount + fee. Nothing moved.",
  issuanceCapExceeded: "The issuer's treasury would go below its issuance cap. Nothing moved.",
} as const;

export type TransferResult = keyof typeof TRANSFER_RESULTS;

export function isTransferResult(text: string): text is TransferResult {
  return Object.hasOwn(TRANSFER_RESULTS, text);
}

/** SOAP 1.1 fault codes: `soap:Client.<code>` when the request is at fault, `soap:Server.<code>` otherwise. */
export const FAULTS = {
  noClientCertificate: { side: 'Client', http: 403, text: 'A TLS client certificate with an Ed25519 key is required: it names the account.' },
  malformedRequest: { side: 'Client', http: 400, text: 'The request is not a well-formed LCP message for this WSDL.' },
  xmlNotAllowed: { side: 'Client', http: 400, text: 'DTDs, entity declarations and processing instructions are refused.' },
  requestTooLarge: { side: 'Client', http: 413, text: 'The request body is larger than the limit.' },
  tooDeep: { side: 'Client', http: 400, text: 'The XML nests deeper than the limit.' },
  tooManyReferences: { side: 'Client', http: 400, text: 'The XML holds more character or entity references than the limit.' },
  unsupportedEncoding: { side: 'Client', http: 415, text: 'Compressed request bodies are not accepted.' },
  invalidRecipient: { side: 'Client', http: 400, text: 'recipient must be another entity: 64 lowercase hex characters.' },
  invalidAmount: { side: 'Client', http: 400, text: 'amount must be a positive exact decimal within the currency scale.' },
  invalidTransactionId: { side: 'Client', http: 400, text: 'transactionId must be 1 to 128 printable ASCII characters other than < > &.' },
  invalidUserid: { side: 'Client', http: 400, text: 'userid must be 1 to 64 characters of [A-Za-z0-9._-].' },
  invalidCounter: { side: 'Client', http: 400, text: 'messageCounter must be an integer from 1 to 2^63-1.' },
  counterReused: { side: 'Client', http: 409, text: 'This messageCounter was already used with a different request.' },
  counterTooLow: { side: 'Client', http: 409, text: 'messageCounter must be higher than the last one used.' },
  invalidWait: { side: 'Client', http: 400, text: 'millisecondsWait must be a non-negative integer.' },
  invalidAcknowledgement: { side: 'Client', http: 400, text: 'acknowledge names a deposit sequence that was never delivered.' },
  tooManyConnections: { side: 'Client', http: 429, text: 'This account has too many open connections.' },
  unavailable: { side: 'Server', http: 503, text: 'The issuer is shutting down or overloaded; retransmit later.' },
  internal: { side: 'Server', http: 500, text: 'The issuer failed; nothing was acknowledged. Retransmit with the same counter.' },
} as const satisfies Record<string, { side: 'Client' | 'Server'; http: number; text: string }>;

export type FaultCode = keyof typeof FAULTS;

export function isFaultCode(text: string): text is FaultCode {
  return Object.hasOwn(FAULTS, text);
}

/** The SOAP 1.1 faultcode QName for a code, e.g. `soap:Client.invalidAmount`. */
export function soapFaultCode(code: FaultCode): string {
  return `soap:${FAULTS[code].side}.${code}`;
}

/** Reads our code back out of a faultcode QName (any prefix); undefined for foreign faults. */
export function faultCodeFromSoap(faultcode: string): FaultCode | undefined {
  const local = faultcode.slice(faultcode.indexOf(':') + 1);
  const code = local.slice(local.indexOf('.') + 1);
  return local.includes('.') && isFaultCode(code) ? code : undefined;
}
