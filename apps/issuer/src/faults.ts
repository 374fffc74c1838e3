// The one place that turns a fault code into a SOAP 1.1 fault: the object node-soap and the fast
// path answer with, and the envelope for faults raised before either sees the request (the same
// bytes node-soap writes). None carries a stack trace or a path.
import type { ServerResponse } from 'node:http';
import { FAULTS, soapFaultCode, writeFaultEnvelope, type FaultCode } from '@lcp/protocol';

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

export function sendFault(res: ServerResponse, code: FaultCode, detail: string): void {
  res.statusCode = FAULTS[code].http;
  res.setHeader('Content-Type', 'text/xml; charset=utf-8');
  res.end(writeFaultEnvelope(soapFaultCode(code), faultText(code, detail)));
}
