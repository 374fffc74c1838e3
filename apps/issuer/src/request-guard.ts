// Limits in front of node-soap, which has none of its own: body size, no compression, no
// DTDs/entities/processing instructions, bounded nesting and references, no prototype-polluting names.
// A request that breaks one is answered with a SOAP fault here and never reaches the parser.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { LIMITS, type FaultCode } from '@lcp/protocol';
import { sendFault } from './faults.js';

// Names of Object.prototype members, as elements or as xsi:type values, would reach node-soap's
// object handling (and crash it). Written without nested quantifiers: linear on any input.
const PROTOTYPE_NAMES = [...Object.getOwnPropertyNames(Object.prototype), 'prototype'].join('|');
const FORBIDDEN_NAMES = new RegExp(
  `<\\/?(?:[A-Za-z0-9_.-]+:)?(?:${PROTOTYPE_NAMES})[\\s/>]|\\btype\\s*=\\s*["'](?:[A-Za-z0-9_.-]+:)?(?:${PROTOTYPE_NAMES})["']`,
);

/** Checks the raw XML without parsing it: a linear scan with a depth counter. */
export function screenXml(xml: string): FaultCode | undefined {
  if (xml.includes('<!')) return 'xmlNotAllowed'; // DOCTYPE, ENTITY, CDATA: none is needed by LCP
  if (/<\?(?!xml[\s?])/i.test(xml)) return 'xmlNotAllowed'; // processing instructions
  let references = 0;
  for (let i = xml.indexOf('&'); i !== -1; i = xml.indexOf('&', i + 1)) {
    if (++references > LIMITS.maxReferences) return 'tooManyReferences';
  }
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

/** How long a refused request's connection stays open after the answer, its input read and dropped. */
const LINGER_MS = 2_000;

/**
 * Closes the connection once the answer is written, without resetting it. Closing a socket
 * with unread input makes TCP send a reset, which can destroy the answer in the client's
 * buffers before it is read (why nginx has lingering_close). So the sending side is closed
 * after the answer, what the client still sends is read and dropped for at most LINGER_MS or
 * until it closes its side, and then the socket is destroyed. Node's HTTP server ends a
 * `Connection: close` exchange with socket.destroySoon(), so that is where this takes over.
 */
function closeLingering(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('Connection', 'close');
  const socket: Socket = req.socket;
  socket.destroySoon = function lingeringClose(this: Socket): void {
    // never before the answer is flushed: destroy() would drop what is still being written
    const destroyOnceSent = (): void => {
      if (this.writableFinished) this.destroy();
      else this.once('finish', () => this.destroy());
    };
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    this.once('close', () => clearTimeout(timer));
    this.end();
    if (this.readableEnded) destroyOnceSent(); // the client has already closed its side
    else this.once('end', destroyOnceSent);
    req.resume(); // the rest of the body, if any, flows to no listener
  };
}

/** Reads the body up to `limit` bytes; past it, stops reading at once (no draining a huge body). */
function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | 'tooLarge' | 'unreadable'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffer | 'tooLarge' | 'unreadable') => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onError);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        finish('tooLarge');
      } else {
        chunks.push(chunk);
      }
    };
    const onEnd = () => finish(Buffer.concat(chunks, size));
    const onError = () => finish('unreadable');
    req.on('data', onData).once('end', onEnd).once('error', onError).once('close', onError);
  });
}

/** A request whose body the guard has read and screened: `body` is its text. */
export type GuardedRequest = IncomingMessage & { body?: string };

/** The next step after a plain handler: the reference path, or with an error, the internal fault. */
export type Next = (error?: unknown) => void;

/** Reads and screens a POST's body; `next()` once it passed, `next(error)` if something threw. */
export function requestGuard(req: GuardedRequest, res: ServerResponse, next: Next): void {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    sendFault(res, 'unsupportedEncoding', 'send the request uncompressed');
    return;
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > LIMITS.maxBodyBytes) {
    // refuse before reading the body, then close so the client stops sending
    closeLingering(req, res);
    sendFault(res, 'requestTooLarge', `the limit is ${LIMITS.maxBodyBytes} bytes`);
    return;
  }
  readLimited(req, LIMITS.maxBodyBytes)
    .then((body) => {
      if (body === 'tooLarge' || body === 'unreadable') {
        closeLingering(req, res);
        if (body === 'tooLarge') sendFault(res, 'requestTooLarge', `the limit is ${LIMITS.maxBodyBytes} bytes`);
        else sendFault(res, 'malformedRequest', 'the request body could not be read');
        return;
      }
      const xml = body.toString('utf8');
      const problem = xml.length === 0 ? 'malformedRequest' : screenXml(xml);
      if (problem) {
        sendFault(res, problem, '');
        return;
      }
      req.body = xml; // decoded once: the fast path, the reference guard and node-soap all read this string
      next();
    })
    .catch(next); // a throw here or in what `next` started: the caller answers it
}
