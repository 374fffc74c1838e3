// The fast path: plain LCP envelopes are read and written here without node-soap's general
// machinery; anything else falls through to node-soap, the reference path. Both call the same
// operations, and envelope.test.ts plus equivalence.test.ts show they answer the same bytes.
import type { ServerResponse } from 'node:http';
import { readRequestEnvelope, writeFaultEnvelope, writeResponseEnvelope } from '@lcp/protocol';
import { isSoapFault } from './faults.js';
import { soapActionFits } from './reference-guard.js';
import type { GuardedRequest, Next } from './request-guard.js';
import type { LcpOperations } from './soap-service.js';

export function fastPath(operations: LcpOperations) {
  return (req: GuardedRequest, res: ServerResponse, next: Next): void => {
    const read = readRequestEnvelope(req.body ?? '');
    // anything else, including a SOAPAction naming another operation, is the reference path's to refuse
    if (read.kind === 'other' || !soapActionFits(req, read.operation)) {
      next();
      return;
    }
    // node-soap answers with the request's content type; so does the fast path
    res.setHeader('Content-Type', req.headers['content-type'] ?? 'application/xml');
    operations[read.operation](read.fields, undefined, undefined, req, res)
      .then(
        (fields) => {
          res.statusCode = 200;
          res.end(writeResponseEnvelope(read.operation, fields as Record<string, unknown>));
        },
        (error: unknown) => {
          if (!isSoapFault(error)) throw error;
          res.statusCode = error.Fault.statusCode;
          res.end(writeFaultEnvelope(error.Fault.faultcode, error.Fault.faultstring));
        },
      )
      .catch(next); // anything else, a throw while writing included, is an internal fault
  };
}
