// The fast path: plain LCP envelopes are read and written here without node-soap's general
// machinery; anything else falls through to node-soap, the reference path. Both call the same
// operations, and envelope.test.ts plus equivalence.test.ts show they answer the same bytes.
import type { NextFunction, Request, Response } from 'express';
import { readRequestEnvelope, writeFaultEnvelope, writeResponseEnvelope } from '@lcp/protocol';
import { isSoapFault } from './faults.js';
import { soapActionFits } from './reference-guard.js';
import type { LcpOperations } from './soap-service.js';

export function fastPath(operations: LcpOperations) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const read = readRequestEnvelope(req.body as string);
    // anything else, including a SOAPAction naming another operation, is the reference path's to refuse
    if (read.kind === 'other' || !soapActionFits(req, read.operation)) {
      next();
      return;
    }
    // node-soap answers with the request's content type; so does the fast path
    res.setHeader('Content-Type', req.headers['content-type'] ?? 'application/xml');
    operations[read.operation](read.fields, undefined, undefined, req, res).then(
      (fields) => {
        res.status(200).end(writeResponseEnvelope(read.operation, fields as Record<string, unknown>));
      },
      (error: unknown) => {
        if (!isSoapFault(error)) {
          next(error);
          return;
        }
        res.status(error.Fault.statusCode).end(writeFaultEnvelope(error.Fault.faultcode, error.Fault.faultstring));
      },
    );
  };
}
