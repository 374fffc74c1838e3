// Alice's media player buying a video (the paper's Figure 2 from Alice's side): negotiate with
// the publisher (1), pay through the local agent (2), wait for the retrieval instructions
// (4'), fetch the bytes from the peer that stores them (7) and check them.
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { childTraceparent } from '@lcp/protocol';
import { StorageNodeClient, type RetrievalInstruction } from '@lcp/storage-node';
import type { AgentClient } from '@lcp/agent';

export interface BuyOptions {
  /** The publisher's HTTPS origin, e.g. https://video.com */
  publisher: string;
  videoId: string;
  /** The issuer's WSDL URL of the currency to pay in. */
  currency: string;
  agent: AgentClient;
  /** The user's certificate and key: step 7 is made as the reader the instructions name. */
  credentials: { certPem: string; keyPem: string };
  caPem?: string;
  lookup?: LookupFunction;
  /** Puts the whole purchase in one W3C trace. */
  traceparent?: string;
  /** How long to wait for the publisher to deliver the instructions. */
  timeoutMs?: number;
  onProgress?: (event: BuyProgress) => void;
}

export type BuyProgress =
  | { step: '1'; price: string; payee: string; transactionId: string }
  | { step: '2'; result: string; fee: string }
  | { step: "4'"; nodeId: string; url: string; size: number }
  | { step: 'download'; received: number; size: number }
  | { step: '7'; bytes: number; sha256: string };

export class PurchaseFailedError extends Error {
  override name = 'PurchaseFailedError';
}

interface PurchaseView {
  purchaseId: string;
  price: string;
  payee: string;
  transactionId: string;
  status: string;
  instruction?: RetrievalInstruction;
  detail?: string;
}

function publisherJson(options: BuyOptions, method: string, path: string, body?: unknown, traceparent?: string): Promise<{ status: number; json: unknown }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const request = https.request(
      new URL(path, options.publisher),
      {
        method,
        ...(options.caPem ? { ca: options.caPem } : {}),
        ...(options.lookup ? { lookup: options.lookup } : {}),
        headers: {
          accept: 'application/json',
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          ...(traceparent ? { traceparent } : {}),
        },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          try {
            resolve({ status: response.statusCode ?? 0, json: JSON.parse(text) });
          } catch {
            reject(new PurchaseFailedError(`the publisher answered ${response.statusCode} without JSON`));
          }
        });
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

/** Buys `videoId` and returns its bytes, checked against the signed instructions' sha256. */
export async function buyVideo(options: BuyOptions): Promise<{ bytes: Buffer; purchase: PurchaseView }> {
  const { agent } = options;
  const trace = options.traceparent;
  const span = () => (trace ? childTraceparent(trace) : undefined);
  const { entityId: buyer } = await agent.identity();

  // (1) negotiate: price, currency, whom to pay, and the transactionId both sides will know it by
  const negotiated = await publisherJson(options, 'POST', '/purchases', { videoId: options.videoId, currency: options.currency, buyer }, span());
  if (negotiated.status !== 201) throw new PurchaseFailedError(`the publisher refused: ${JSON.stringify(negotiated.json)}`);
  const offer = negotiated.json as PurchaseView;
  options.onProgress?.({ step: '1', price: offer.price, payee: offer.payee, transactionId: offer.transactionId });

  // (2) pay through the agent, which holds the key and applies the user's spending policy
  const paid = await agent.pay({ to: offer.payee, amount: offer.price, currency: options.currency, transactionId: offer.transactionId }, span());
  options.onProgress?.({ step: '2', ...paid });
  if (paid.result !== 'success') throw new PurchaseFailedError(`the payment was not made: ${paid.result}`);

  // (3)-(4') happen between the publisher, the issuer, the peer and its bank; wait for the outcome
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let purchase = offer;
  while (purchase.status === 'awaiting-payment' || purchase.status === 'paid') {
    const wait = Math.max(0, Math.min(30_000, deadline - Date.now()));
    if (wait === 0) throw new PurchaseFailedError(`no instructions after ${options.timeoutMs ?? 60_000} ms (status ${purchase.status})`);
    purchase = (await publisherJson(options, 'GET', `/purchases/${encodeURIComponent(offer.purchaseId)}?wait=${wait}`)).json as PurchaseView;
  }
  const instruction = purchase.instruction;
  if (purchase.status !== 'ready' || !instruction) {
    throw new PurchaseFailedError(`the purchase ended ${purchase.status}${purchase.detail ? `: ${purchase.detail}` : ''}`);
  }
  options.onProgress?.({ step: "4'", nodeId: instruction.nodeId, url: instruction.url, size: instruction.size });

  // (7) fetch from the peer as the reader the instructions name; the client checks size and sha256
  const node = StorageNodeClient.forInstruction(instruction, {
    credentials: options.credentials,
    ...(options.lookup ? { lookup: options.lookup } : {}),
  });
  try {
    const seven = span();
    const onBytes = (received: number) => options.onProgress?.({ step: 'download', received, size: instruction.size });
    const bytes = await node.retrieve(instruction, { ...(seven ? { traceparent: seven } : {}), onBytes });
    options.onProgress?.({ step: '7', bytes: bytes.length, sha256: instruction.sha256 });
    return { bytes, purchase };
  } finally {
    node.close();
  }
}
