// A GET (or a POST of a small body) over http or https that reads at most `maxBytes` of the
// answer and gives up after `timeoutMs`; TLS certificates are verified (Node's default) against
// `caPem` or the system roots. Shared by name resolution and by the apps' calls to agents and banks.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

export interface BoundedGetOptions {
  headers?: Record<string, string>;
  caPem?: string;
  lookup?: LookupFunction;
  timeoutMs: number;
  maxBytes: number;
}

export interface BoundedRequestOptions extends BoundedGetOptions {
  method?: 'GET' | 'POST';
  /** Sent with its content-length; give its content-type in `headers`. */
  body?: string;
}

/** Why a bounded GET failed: the answer was too large, or there was none (network, TLS, timeout). */
export class BoundedGetError extends Error {
  override name = 'BoundedGetError';
  constructor(
    readonly reason: 'tooLarge' | 'unreachable',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function boundedGet(url: URL, options: BoundedGetOptions): Promise<{ status: number; body: string }> {
  return boundedRequest(url, options);
}

export function boundedRequest(url: URL, options: BoundedRequestOptions): Promise<{ status: number; body: string }> {
  const transport = url.protocol === 'https:' ? https : http;
  const { body } = options;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      url,
      {
        method: options.method ?? 'GET',
        agent: false,
        headers: { ...options.headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
        timeout: options.timeoutMs,
        ...(options.caPem ? { ca: options.caPem } : {}),
        ...(options.lookup ? { lookup: options.lookup } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            request.destroy(new BoundedGetError('tooLarge', `${url.host} answered more than ${options.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', (error) => reject(new BoundedGetError('unreachable', `${url.host}: ${error.message}`, { cause: error })));
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    // includes certificate errors: an unknown CA or a certificate for another name
    request.on('error', (error) =>
      reject(error instanceof BoundedGetError ? error : new BoundedGetError('unreachable', `${url.host}: ${error.message}`, { cause: error })),
    );
    request.end(body);
  });
}
