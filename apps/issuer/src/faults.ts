// The one place that turns a fault code into a SOAP 1.1 fault: node-soap's format for
// faults raised in a service method, and a hand-written envelope for faults raised before
// node-soap sees the request. Neither carries a stack trace or a path.
import type { Response } from 'express';
import { FAULTS, soapFaultCode, type FaultCode } from '@lcp/protocol';

/** The specific reason when there is one, else the code's general meaning. */
const faultText = (code: FaultCode, detail: string): string => detail || FAULTS[code].text;

export interface SoapFault {
  Fault: { faultcode: string; faultstring: string; statusCode: number };
}

export function isSoapFault(error: unknown): error is SoapFault {
  return typeof error === 'object' && error !== null && 'Fault' in error;
}

/** What a node-soap service method throws (or rejects with) to answer with a fault. */
export function soapFault(code: FaultCode, detail: string): SoapFault {
  return {
    Fault: {
      faultcode: soapFaultCode(code),
      faultstring: faultText(code, detail),
      statusCode: FAULTS[code].http,
    },
  };
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function faultEnvelope(code: FaultCode, detail: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>' +
    `<faultcode>${soapFaultCode(code)}</faultcode>` +
    `<faultstring>${escapeXml(faultText(code, detail))}</faultstring>` +
    '</soap:Fault></soap:Body></soap:Envelope>'
  );
}

export function sendFault(res: Response, code: FaultCode, detail: string): void {
  res.status(FAULTS[code].http).type('text/xml; charset=utf-8').send(faultEnvelope(code, detail));
}
