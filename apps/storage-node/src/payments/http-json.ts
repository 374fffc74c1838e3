// A JSON GET for the agent and bank APIs: @lcp/client's bounded GET, with its failures as
// PaymentVerifierError and an unreadable body as undefined.
import type { LookupFunction } from 'node:net';
import { boundedGet } from '@lcp/client';
import { PaymentVerifierError } from './payment-verifier.js';

export interface JsonGetOptions {
  headers?: Record<string, string>;
  caPem?: string;
  lookup?: LookupFunction;
  timeoutMs: number;
  maxBytes?: number;
}

export async function getJson(url: string, options: JsonGetOptions): Promise<{ status: number; body: unknown }> {
  let answer: { status: number; body: string };
  try {
    answer = await boundedGet(new URL(url), {
      ...options,
      headers: { accept: 'application/json, application/problem+json', ...options.headers },
      maxBytes: options.maxBytes ?? 64 * 1024,
    });
  } catch (error) {
    throw new PaymentVerifierError((error as Error).message, { cause: error });
  }
  let body: unknown;
  try {
    body = answer.body ? JSON.parse(answer.body) : undefined;
  } catch {
    body = undefined;
  }
  return { status: answer.status, body };
}
