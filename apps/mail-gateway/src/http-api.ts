// The recipients' interface, HTTP on 127.0.0.1 only, each recipient (or domain) with its own
// bearer token from the policy: the paid messages it received, refunds (the recipient marks a
// paid message as wanted and the postage goes back to the sender: Penny Black's refund), and
// what makes mail free: known correspondents and the Message-IDs of mail it sent (replies).
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { isAddress, normalizeAddress } from './addresses.js';
import type { Logger } from './logger.js';
import { hashToken, policyFor, type Policy } from './policy.js';
import type { PostageBook } from './postage-book.js';

export interface RefundOutcome {
  status: number;
  body: Record<string, unknown>;
}

export interface ApiDeps {
  policy: Policy;
  book: PostageBook;
  refund(ref: string, recipient: string): Promise<RefundOutcome>;
  scaleOf(currency: string): number;
  log: Logger;
}

const MAX_BODY = 16 * 1024;
const LOOPBACK_HOSTS = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/;
const MESSAGE_ID = /^<[!-;=?-~]{1,250}>$/;

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', 'cache-control': 'no-store' });
  res.end(json);
}

const problem = (res: http.ServerResponse, status: number, code: string, detail?: string) =>
  send(res, status, { type: `urn:lcp:mail:${code}`, title: code, status, code, ...(detail ? { detail } : {}) });

function readJson(req: http.IncomingMessage): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        resolve(value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined);
      } catch {
        resolve(undefined);
      }
    });
    req.on('error', () => resolve(undefined));
  });
}

export function recipientsApi(deps: ApiDeps): http.RequestListener {
  const { policy, book, log } = deps;
  const owners = [...policy.recipients.values()].filter((r) => r.tokenHash);

  /** The policy key (address or @domain) whose token this is. */
  const ownerOf = (req: http.IncomingMessage): string | undefined => {
    const match = /^Bearer (\S{8,200})$/.exec(req.headers.authorization ?? '');
    if (!match?.[1]) return undefined;
    const hash = Buffer.from(hashToken(match[1]), 'hex');
    return owners.find((o) => timingSafeEqual(Buffer.from(o.tokenHash as string, 'hex'), hash))?.owner;
  };
  /** Whether the owner speaks for this recipient address: its own entry, or the domain's. */
  const speaksFor = (owner: string, recipient: string) => policyFor(policy, recipient)?.owner === owner;

  /** The address a request is about: the owner's own, or `recipient` for a domain's token. */
  const subject = (owner: string, body: Record<string, unknown>): string | undefined => {
    const named = typeof body.recipient === 'string' ? normalizeAddress(body.recipient) : owner.startsWith('@') ? undefined : owner;
    return named && isAddress(named) && speaksFor(owner, named) ? named : undefined;
  };

  return (req, res) => {
    void (async () => {
      if (!LOOPBACK_HOSTS.test(req.headers.host ?? '')) return problem(res, 403, 'forbiddenHost');
      // the container's healthcheck: up once SMTP and this interface listen (both start before it answers)
      if (req.method === 'GET' && req.url === '/healthz') return send(res, 200, { ok: true });
      const owner = ownerOf(req);
      if (!owner) {
        res.setHeader('www-authenticate', 'Bearer');
        return problem(res, 401, 'unauthorized');
      }
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (req.method === 'GET' && path === '/v1/messages') {
        const messages = book.paidMessages((r) => speaksFor(owner, r)).map((q) => ({
          reference: q.ref,
          sender: q.sender,
          messageId: q.messageId,
          recipients: Object.keys(q.shares).filter((r) => speaksFor(owner, r)),
          currency: q.paidCurrency,
          amount: q.paidAmount,
          deliveredAt: q.deliveredAt && new Date(q.deliveredAt).toISOString(),
          refundable: Boolean(q.refundTo),
        }));
        return send(res, 200, { messages });
      }
      if (req.method !== 'POST') return problem(res, 404, 'notFound');
      const body = await readJson(req);
      if (!body) return problem(res, 400, 'badRequest', 'a JSON object is expected');
      const recipient = subject(owner, body);
      if (!recipient) return problem(res, 403, 'notYourRecipient', 'name a recipient address this token speaks for');
      if (path === '/v1/refunds') {
        if (typeof body.reference !== 'string') return problem(res, 400, 'badRequest', 'reference is required');
        const outcome = await deps.refund(body.reference, recipient);
        return send(res, outcome.status, outcome.body);
      }
      if (path === '/v1/correspondents') {
        const address = typeof body.address === 'string' ? normalizeAddress(body.address) : '';
        if (!isAddress(address)) return problem(res, 400, 'badRequest', 'address must be a mail address');
        book.addCorrespondent(recipient, address);
        return send(res, 200, { recipient, correspondent: address });
      }
      if (path === '/v1/sent') {
        const messageId = typeof body.messageId === 'string' ? body.messageId.trim() : '';
        const to = Array.isArray(body.to) ? body.to.filter((a): a is string => typeof a === 'string').map(normalizeAddress) : [];
        if (!MESSAGE_ID.test(messageId) || !to.every(isAddress)) return problem(res, 400, 'badRequest', 'messageId <...> and to [addresses] are required');
        book.addSentMessage(recipient, messageId);
        for (const address of to) book.addCorrespondent(recipient, address);
        return send(res, 200, { recipient, messageId, correspondents: to });
      }
      return problem(res, 404, 'notFound');
    })().catch((error: unknown) => {
      log.error({ err: error }, 'request failed');
      if (!res.headersSent) problem(res, 500, 'internal');
      else res.destroy();
    });
  };
}
