// A small JSON GET over http or https with a size cap and a deadline, for the agent and bank
// APIs. Certificates are verified (Node's default) against `caPem` or the system roots.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { PaymentVerifierError } from './payment-verifier.js';

export interface JsonGetOptions {
  headers?: Record<string, string>;
  caPem?: string;
  lookup?: LookupFunction;
  timeoutMs: number;
  maxBytes?: number;
}

export function getJson(url: string, options: JsonGetOptions): Promise<{ status: number; body: unknown }> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  const maxBytes = options.maxBytes ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const request = transport.get(
      target,
      {
        agent: false,
        headers: { accept: 'application/json, application/problem+json', ...options.headers },
        timeout: options.timeoutMs,
        ...(options.caPem ? { ca: options.caPem } : {}),
        ...(options.lookup ? { lookup: options.lookup } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            request.destroy(new PaymentVerifierError(`${target.host} answered more than ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: response.statusCode ?? 0, body });
        });
        response.on('error', (error) => reject(new PaymentVerifierError(`${target.host}: ${error.message}`, { cause: error })));
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error) =>
      reject(error instanceof PaymentVerifierError ? error : new PaymentVerifierError(`${target.host}: ${error.message}`, { cause: error })),
    );
  });
}
