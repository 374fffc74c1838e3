// Limits in front of node-soap, which has none of its own: body size, no compression, no
// DTDs/entities/processing instructions, bounded nesting, no prototype-polluting names.
// A request that breaks one is answered with a SOAP fault here and never reaches the parser.
import express, { type NextFunction, type Request, type Response } from 'express';
import { LIMITS, type FaultCode } from '@lcp/protocol';
import { sendFault } from './faults.js';

const FORBIDDEN_NAMES = /<\s*\/?\s*(?:[A-Za-z0-9_.-]+:)?(?:__proto__|constructor|prototype)[\s/>]/;

/** Checks the raw XML without parsing it: a linear scan with a depth counter. */
export function screenXml(xml: string): FaultCode | undefined {
  if (xml.includes('<!')) return 'xmlNotAllowed'; // DOCTYPE, ENTITY, CDATA: none is needed by LCP
  if (/<\?(?!xml[\s?])/i.test(xml)) return 'xmlNotAllowed'; // processing instructions
  if (FORBIDDEN_NAMES.test(xml)) return 'malformedRequest';
  let depth = 0;
  for (let i = xml.indexOf('<'); i !== -1; i = xml.indexOf('<', i + 1)) {
    const next = xml.charCodeAt(i + 1);
    if (next === 47 /* / */) {
      depth--;
    } else if (next !== 63 /* ? */) {
      const end = xml.indexOf('>', i);
      if (end === -1) return 'malformedRequest';
      if (xml.charCodeAt(end - 1) !== 47 /* self-closing */) depth++;
      if (depth > LIMITS.maxXmlDepth) return 'tooDeep';
    }
  }
  return undefined;
}

const readBody = express.raw({ type: () => true, limit: LIMITS.maxBodyBytes, inflate: false });

export function requestGuard(req: Request, res: Response, next: NextFunction): void {
  if (req.method !== 'POST') {
    next();
    return;
  }
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    sendFault(res, 'unsupportedEncoding', 'send the request uncompressed');
    return;
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > LIMITS.maxBodyBytes) {
    // refuse before reading the body, then close so the client stops sending
    res.setHeader('Connection', 'close');
    sendFault(res, 'requestTooLarge', `the limit is ${LIMITS.maxBodyBytes} bytes`);
    return;
  }
  readBody(req, res, (error?: unknown) => {
    if (error) {
      const type = (error as { type?: string }).type;
      res.setHeader('Connection', 'close');
      if (type === 'entity.too.large') sendFault(res, 'requestTooLarge', `the limit is ${LIMITS.maxBodyBytes} bytes`);
      else sendFault(res, 'malformedRequest', 'the request body could not be read');
      return;
    }
    const body: unknown = req.body;
    const xml = Buffer.isBuffer(body) ? body.toString('utf8') : '';
    const problem = xml.length === 0 ? 'malformedRequest' : screenXml(xml);
    if (problem) {
      sendFault(res, problem, '');
      return;
    }
    next();
  });
}
