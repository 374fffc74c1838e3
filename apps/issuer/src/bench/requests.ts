// Ready-made HTTP requests for the load: a SOAP transferFunds envelope as node-soap's client
// writes it (RPC/literal, parts unqualified inside tns:transferFunds), with only the counter
// and transactionId filled in per request.
import { LCP_NAMESPACE } from '@lcp/protocol';

export interface TransferTemplate {
  domain: string;
  port: number;
  path: string;
  recipient: string;
  /** Minor units written as the wire decimal, e.g. '0.01'. */
  amount: string;
  /** transactionId is this prefix followed by the counter. */
  transactionPrefix: string;
}

/** A function from messageCounter to the complete request bytes. */
export function transferRequests(t: TransferTemplate): (counter: number) => string {
  const head =
    `POST ${t.path} HTTP/1.1\r\nHost: ${t.domain}:${t.port}\r\nContent-Type: text/xml; charset=utf-8\r\n` +
    `SOAPAction: "${LCP_NAMESPACE}#transferFunds"\r\nContent-Length: `;
  const bodyHead =
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
    `xmlns:tns="${LCP_NAMESPACE}"><soap:Body><tns:transferFunds><recipient>${t.recipient}</recipient>` +
    `<amount>${t.amount}</amount><transactionId>${t.transactionPrefix}`;
  const bodyMiddle = '</transactionId><messageCounter>';
  const bodyTail = '</messageCounter></tns:transferFunds></soap:Body></soap:Envelope>';
  // every part is ASCII, so string length is byte length
  const fixedLength = bodyHead.length + bodyMiddle.length + bodyTail.length;
  return (counter) => {
    const n = String(counter);
    return `${head}${fixedLength + 2 * n.length}\r\n\r\n${bodyHead}${n}${bodyMiddle}${n}${bodyTail}`;
  };
}

/** Like transferRequests, with the recipient chosen per request (a 64-hex id, so the length is fixed). */
export function transferRequestsTo(t: Omit<TransferTemplate, 'recipient'>): (counter: number, recipient: string) => string {
  const head =
    `POST ${t.path} HTTP/1.1\r\nHost: ${t.domain}:${t.port}\r\nContent-Type: text/xml; charset=utf-8\r\n` +
    `SOAPAction: "${LCP_NAMESPACE}#transferFunds"\r\nContent-Length: `;
  const bodyHead =
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
    `xmlns:tns="${LCP_NAMESPACE}"><soap:Body><tns:transferFunds><recipient>`;
  const bodyAmount = `</recipient><amount>${t.amount}</amount><transactionId>${t.transactionPrefix}`;
  const bodyMiddle = '</transactionId><messageCounter>';
  const bodyTail = '</messageCounter></tns:transferFunds></soap:Body></soap:Envelope>';
  const fixedLength = bodyHead.length + 64 + bodyAmount.length + bodyMiddle.length + bodyTail.length;
  return (counter, recipient) => {
    const n = String(counter);
    return `${head}${fixedLength + 2 * n.length}\r\n\r\n${bodyHead}${recipient}${bodyAmount}${n}${bodyMiddle}${n}${bodyTail}`;
  };
}

/** A getDeposits request (paper mode) waiting up to `millisecondsWait`. */
export function getDepositsRequest(t: { domain: string; port: number; path: string; millisecondsWait: number }): string {
  const body =
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
    `xmlns:tns="${LCP_NAMESPACE}"><soap:Body><tns:getDeposits><millisecondsWait>${t.millisecondsWait}</millisecondsWait>` +
    '</tns:getDeposits></soap:Body></soap:Envelope>';
  return (
    `POST ${t.path} HTTP/1.1\r\nHost: ${t.domain}:${t.port}\r\nContent-Type: text/xml; charset=utf-8\r\n` +
    `SOAPAction: "${LCP_NAMESPACE}#getDeposits"\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  );
}
