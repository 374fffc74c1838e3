// What node-soap does not check before it dispatches: that the body is well-formed XML, that
// it names one of LCP's operations in LCP's namespace, and that a SOAPAction header, when
// sent, names the same operation (node-soap would follow the header, not the body).
import type { IncomingMessage, ServerResponse } from 'node:http';
import sax from 'sax';
import { LCP_NAMESPACE, LCP_OPERATIONS, SOAP_ENVELOPE_NAMESPACE } from '@lcp/protocol';
import { sendFault } from './faults.js';
import type { GuardedRequest, Next } from './request-guard.js';

/** The operation the body's first element in soap:Body names, or why there is none. */
export function bodyOperation(xml: string): { operation: string } | { problem: string } {
  const parser = sax.parser(true, { xmlns: true });
  const path: Array<{ local: string; uri: string }> = [];
  let found: { local: string; uri: string } | undefined;
  let problem: string | undefined;
  parser.onerror = (error) => {
    problem ??= `not well-formed XML (${error.message.split('\n')[0]})`;
    throw error;
  };
  parser.onopentag = (node) => {
    const tag = node as sax.QualifiedTag;
    const parent = path.at(-1);
    if (!found && path.length === 2 && parent?.local === 'Body' && parent.uri === SOAP_ENVELOPE_NAMESPACE) {
      found = { local: tag.local, uri: tag.uri };
    }
    path.push({ local: tag.local, uri: tag.uri });
  };
  parser.onclosetag = () => void path.pop();
  try {
    parser.write(xml).close();
  } catch {
    return { problem: problem ?? 'not well-formed XML' };
  }
  if (!found) return { problem: 'soap:Body holds no operation' };
  if (found.uri !== LCP_NAMESPACE || !(LCP_OPERATIONS as readonly string[]).includes(found.local)) {
    return { problem: `unknown operation {${found.uri}}${found.local}` };
  }
  return { operation: found.local };
}

/** An empty SOAPAction, or exactly the WSDL's for the body's operation (node-soap dispatches on it). */
export function soapActionFits(req: IncomingMessage, operation: string): boolean {
  const action = String(req.headers.soapaction ?? '').replace(/^"|"$/g, '');
  return action === '' || action === `${LCP_NAMESPACE}#${operation}`;
}

export function referenceGuard(req: GuardedRequest, res: ServerResponse, next: Next): void {
  const read = bodyOperation(req.body ?? '');
  if ('problem' in read) {
    sendFault(res, 'malformedRequest', read.problem);
    return;
  }
  if (!soapActionFits(req, read.operation)) {
    sendFault(res, 'malformedRequest', `SOAPAction must be "${LCP_NAMESPACE}#${read.operation}" (or empty) for this body`);
    return;
  }
  next();
}
