// A buyer's and a reader's client for a storage node. The node's certificate is self-signed
// with its Ed25519 identity, so the client pins the node by entity id: every TLS connection is
// checked to present that key before a request is sent on it. Signed documents (offer,
// contract, instruction) are checked against the same id.
import { createHash } from 'node:crypto';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { entityIdFromSocket } from '@lcp/crypto';
import type { ProblemCode } from './problems.js';
import { verifyDocument, type SignedKind } from './signing.js';
import {
  contractListSchema,
  contractSchema,
  contractStatusSchema,
  encodeInstruction,
  offerSchema,
  PAYMENT_HEADER,
  RETRIEVAL_HEADER,
  retrievalInstructionSchema,
  writeReceiptSchema,
  type ByteRange,
  type Contract,
  type ContractList,
  type ContractStatus,
  type Offer,
  type RetrievalInstruction,
  type WriteReceipt,
} from './wire.js';

export interface StorageNodeClientOptions {
  /** The node's HTTPS origin, e.g. https://bob.example:8443 */
  url: string;
  /** The node's entity id: the key its TLS certificate must carry. */
  nodeId: string;
  /** This party's certificate and key (the buyer's, or the reader's for retrieve). */
  credentials?: { certPem: string; keyPem: string };
  lookup?: LookupFunction;
  timeoutMs?: number;
}

export interface CallOptions {
  traceparent?: string;
  /** Bytes of the response received so far, as they arrive (a download's progress). */
  onBytes?: (received: number) => void;
}

/** The node refused with a problem document; `code` is its stable code. */
export class StorageNodeProblemError extends Error {
  override name = 'StorageNodeProblemError';
  constructor(
    readonly code: ProblemCode | string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The server is not the node asked for, or it answered something this client cannot accept. */
export class StorageNodeIdentityError extends Error {
  override name = 'StorageNodeIdentityError';
}

const MAX_JSON_BYTES = 256 * 1024;

/** An https.Agent that hands a socket to a request only after checking the peer's key. */
class PinnedAgent extends https.Agent {
  constructor(
    readonly nodeId: string,
    options: https.AgentOptions,
  ) {
    // the certificate is self-signed: no CA can vouch for it, the pinned key does. No session
    // resumption: a resumed TLS session shows no server certificate to check the key against.
    super({ ...options, rejectUnauthorized: false, maxCachedSessions: 0 });
  }

  override createConnection(options: https.RequestOptions, callback?: (error: Error | null, socket: Duplex) => void): Duplex | null | undefined {
    const create = https.Agent.prototype.createConnection as unknown as (this: https.Agent, o: object) => TLSSocket;
    const socket = create.call(this, options);
    const done = callback ?? (() => undefined);
    const failed = (error: Error) => done(error, socket);
    socket.once('error', failed);
    socket.once('secureConnect', () => {
      socket.off('error', failed);
      const presented = entityIdFromSocket(socket);
      if (presented !== this.nodeId) {
        const error = new StorageNodeIdentityError(`the server presented key ${presented ?? '(none or not Ed25519)'}, not node ${this.nodeId}`);
        socket.destroy();
        done(error, socket);
        return;
      }
      done(null, socket);
    });
    // returning nothing makes http wait for the callback, so no byte is sent before the check
    return undefined;
  }
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export class StorageNodeClient {
  readonly #agent: PinnedAgent;
  readonly #options: StorageNodeClientOptions;

  constructor(options: StorageNodeClientOptions) {
    this.#options = options;
    this.#agent = new PinnedAgent(options.nodeId, {
      keepAlive: true,
      maxSockets: 8,
      ...(options.credentials ? { cert: options.credentials.certPem, key: options.credentials.keyPem } : {}),
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
  }

  get nodeId(): string {
    return this.#options.nodeId;
  }

  /** GET /offer: the node's current signed offer. */
  async offer(call: CallOptions = {}): Promise<Offer> {
    const response = await this.#json('GET', '/offer', undefined, call);
    return this.#signed('offer', offerSchema.parse(response));
  }

  /** POST /contracts: buys a contract on `offerId` with the payment of its contract price. */
  async buyContract(request: { offerId: string; paymentTransactionId: string }, call: CallOptions = {}): Promise<Contract> {
    const response = await this.#json('POST', '/contracts', request, call, 201);
    return this.#signed('contract', contractSchema.parse(response));
  }

  /** GET /contracts/{id}: the contract and its usage (buyer only). */
  async contract(contractId: string, call: CallOptions = {}): Promise<ContractStatus> {
    const status = contractStatusSchema.parse(await this.#json('GET', `/contracts/${encodeURIComponent(contractId)}`, undefined, call));
    this.#signed('contract', status.contract);
    return status;
  }

  /**
   * GET /contracts: this client's own contracts at the node, newest first; with `objectPrefix`,
   * only those holding an object whose id starts with it. Each contract's signature is checked.
   */
  async contracts(query: { objectPrefix?: string } = {}, call: CallOptions = {}): Promise<ContractList> {
    const search = query.objectPrefix === undefined ? '' : `?objectPrefix=${encodeURIComponent(query.objectPrefix)}`;
    const list = contractListSchema.parse(await this.#json('GET', `/contracts${search}`, undefined, call));
    for (const entry of list.contracts) this.#signed('contract', entry.contract);
    return list;
  }

  /** PUT /contracts/{id}/objects/{objectId}: a paid write (write price × KB, every started KB). */
  async write(contractId: string, objectId: string, bytes: Buffer, paymentTransactionId: string, call: CallOptions = {}): Promise<WriteReceipt> {
    const response = await this.#request(
      'PUT',
      `/contracts/${encodeURIComponent(contractId)}/objects/${encodeURIComponent(objectId)}`,
      bytes,
      { 'content-type': 'application/octet-stream', [PAYMENT_HEADER]: paymentTransactionId },
      call,
    );
    return writeReceiptSchema.parse(expectJson(response, 201));
  }

  /**
   * POST .../retrievals (Figure 2, step 4): signed instructions for `reader`'s one read (step 4').
   * With `range`, a ranged read of those bytes, paid at the read price per KB of the range.
   */
  async requestRetrieval(
    contractId: string,
    objectId: string,
    request: { reader: string; paymentTransactionId: string; range?: ByteRange },
    call: CallOptions = {},
  ): Promise<RetrievalInstruction> {
    const path = `/contracts/${encodeURIComponent(contractId)}/objects/${encodeURIComponent(objectId)}/retrievals`;
    const instruction = this.#signed('retrieval', retrievalInstructionSchema.parse(await this.#json('POST', path, request, call, 201)));
    const sameRange = request.range
      ? instruction.range?.offset === request.range.offset && instruction.range.length === request.range.length
      : instruction.range === undefined;
    if (instruction.reader !== request.reader || instruction.objectId !== objectId || instruction.contractId !== contractId || !sameRange) {
      throw new StorageNodeIdentityError('the node answered instructions for another read');
    }
    return instruction;
  }

  /**
   * GET /retrieve (step 7), as the reader: presents the instruction over TLS with this client's
   * certificate and returns the bytes, checked against the instruction's size and sha256. A
   * ranged read's bytes are checked for their length only: whoever asked for the range knows
   * what they must be (the node's own record names the whole object).
   */
  async retrieve(instruction: RetrievalInstruction, call: CallOptions = {}): Promise<Buffer> {
    this.#signed('retrieval', instruction);
    const path = new URL(instruction.url).pathname;
    const { range } = instruction;
    const expected = range ? range.length : instruction.size;
    const response = await this.#request('GET', path, undefined, { [RETRIEVAL_HEADER]: encodeInstruction(instruction) }, call, expected);
    if (range) {
      if (response.status !== 206) expectJson(response, 206);
      if (response.body.length !== range.length) {
        throw new StorageNodeIdentityError(`the node sent ${response.body.length} bytes for a range of ${range.length}`);
      }
      return response.body;
    }
    if (response.status !== 200) expectJson(response, 200);
    const sha256 = createHash('sha256').update(response.body).digest('hex');
    if (response.body.length !== instruction.size || sha256 !== instruction.sha256) {
      throw new StorageNodeIdentityError(`the node sent ${response.body.length} bytes with sha256 ${sha256}, not the instructed object`);
    }
    return response.body;
  }

  /** A client for the node an instruction names, with the reader's credentials: what Alice does in step 7. */
  static forInstruction(instruction: RetrievalInstruction, options: Omit<StorageNodeClientOptions, 'url' | 'nodeId'>): StorageNodeClient {
    return new StorageNodeClient({ ...options, url: new URL(instruction.url).origin, nodeId: instruction.nodeId });
  }

  close(): void {
    this.#agent.destroy();
  }

  #signed<T extends { signature: string; nodeId: string }>(kind: SignedKind, document: T): T {
    if (document.nodeId !== this.#options.nodeId || !verifyDocument(kind, document, this.#options.nodeId)) {
      throw new StorageNodeIdentityError(`the ${kind} is not signed by node ${this.#options.nodeId}`);
    }
    return document;
  }

  async #json(method: string, path: string, body: unknown, call: CallOptions, expected = 200): Promise<unknown> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const response = await this.#request(method, path, payload, payload ? { 'content-type': 'application/json' } : {}, call);
    return expectJson(response, expected);
  }

  #request(
    method: string,
    path: string,
    body: Buffer | undefined,
    headers: Record<string, string>,
    call: CallOptions,
    maxBytes = MAX_JSON_BYTES,
  ): Promise<RawResponse> {
    const target = new URL(path, this.#options.url);
    return new Promise((resolve, reject) => {
      const request = https.request(
        target,
        {
          method,
          agent: this.#agent,
          timeout: this.#options.timeoutMs ?? 30_000,
          headers: {
            accept: 'application/json, application/problem+json, application/octet-stream',
            ...headers,
            ...(body ? { 'content-length': String(body.length) } : {}),
            ...(call.traceparent ? { traceparent: call.traceparent } : {}),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            // a problem document may be larger than a tiny object: allow it room
            if (size > Math.max(maxBytes, MAX_JSON_BYTES)) {
              request.destroy(new StorageNodeIdentityError(`the node sent more than ${maxBytes} bytes`));
              return;
            }
            chunks.push(chunk);
            call.onBytes?.(size);
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer from ${target.host} in time`)));
      request.on('error', reject);
      request.end(body);
    });
  }
}

function expectJson(response: RawResponse, expected: number): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (response.status === expected) return parsed;
  const problem = (parsed ?? {}) as { code?: unknown; title?: unknown; detail?: unknown };
  const code = typeof problem.code === 'string' ? problem.code : `http${response.status}`;
  const text = [problem.title, problem.detail].filter((t) => typeof t === 'string').join(': ');
  throw new StorageNodeProblemError(code, response.status, text || `HTTP ${response.status}`);
}
