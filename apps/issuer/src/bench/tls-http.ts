// A minimal HTTP/1.1 client over one kept-alive TLS connection: writes ready-made request bytes
// and parses just enough of the answer (status, Content-Length or chunked body). node:http's
// client costs the load generator several times more CPU per request, and on a 2-core machine
// every cycle it spends is taken from the server being measured.
import tls from 'node:tls';

export interface HttpResponse {
  status: number;
  body: string;
  /** The server announced `Connection: close`. */
  close: boolean;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/** Parses one response at the start of `buffer`, or undefined while it is incomplete. */
export function parseResponse(buffer: Buffer): { response: HttpResponse; consumed: number } | undefined {
  const headerEnd = buffer.indexOf(HEADER_END);
  if (headerEnd === -1) return undefined;
  const lines = buffer.toString('latin1', 0, headerEnd).split('\r\n');
  const status = Number((lines[0] ?? '').split(' ')[1]);
  let length: number | undefined;
  let chunked = false;
  let close = false;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim().toLowerCase();
    if (name === 'content-length') length = Number(value);
    else if (name === 'transfer-encoding') chunked = value.includes('chunked');
    else if (name === 'connection') close = value === 'close';
  }
  let position = headerEnd + HEADER_END.length;
  if (!chunked) {
    if (length === undefined) throw new Error(`response without a length (HTTP ${status}) is not supported`);
    if (buffer.length < position + length) return undefined;
    return { response: { status, body: buffer.toString('utf8', position, position + length), close }, consumed: position + length };
  }
  const parts: Buffer[] = [];
  for (;;) {
    const lineEnd = buffer.indexOf(CRLF, position);
    if (lineEnd === -1) return undefined;
    const size = parseInt(buffer.toString('latin1', position, lineEnd), 16);
    if (!Number.isFinite(size)) throw new Error('bad chunk size');
    position = lineEnd + CRLF.length;
    if (size === 0) {
      // no trailers expected: the last chunk is followed by an empty line
      if (buffer.length < position + CRLF.length) return undefined;
      return { response: { status, body: Buffer.concat(parts).toString('utf8'), close }, consumed: position + CRLF.length };
    }
    if (buffer.length < position + size + CRLF.length) return undefined;
    parts.push(buffer.subarray(position, position + size));
    position += size + CRLF.length;
  }
}

export class TlsHttpConnection {
  readonly socket: tls.TLSSocket;
  #buffer: Buffer = Buffer.alloc(0);
  #pending: { resolve(response: HttpResponse): void; reject(error: Error): void } | undefined;
  #failure: Error | undefined;

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('the connection closed')));
  }

  static open(options: tls.ConnectionOptions): Promise<TlsHttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect(options, () => {
        socket.off('error', reject);
        resolve(new TlsHttpConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Sends one request; the next may only be sent once this one is answered. */
  request(bytes: string | Buffer): Promise<HttpResponse> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#pending) return Promise.reject(new Error('one request at a time'));
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.#failure ??= new Error('closed by the client');
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let parsed: ReturnType<typeof parseResponse>;
    try {
      parsed = parseResponse(this.#buffer);
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    if (!parsed) return;
    this.#buffer = this.#buffer.subarray(parsed.consumed);
    const pending = this.#pending;
    this.#pending = undefined;
    if (!pending) this.#fail(new Error('a response nobody asked for'));
    else pending.resolve(parsed.response);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
  }
}
