// An LCP holder's connection to one issuer: discovers the issuer from its lcp.wsdl, talks
// through node-soap over TLS with the holder's certificate, keeps one keep-alive agent (one
// secure context, cached TLS sessions) so sessions resume, and retransmits safely.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import tls from 'node:tls';
import * as soap from 'soap';
import {
  decodeGetDepositsResponse,
  decodeTransferFundsResponse,
  encodeGetDepositsRequest,
  encodeTransferFundsRequest,
  faultCodeFromSoap,
  LCP_PORT,
  LCP_SERVICE,
  type Deposit,
  type EntityId,
  type GetDepositsRequest,
  type GetDepositsResponse,
  type TransferFundsResponse,
} from '@lcp/protocol';
import { LcpFaultError, LcpNetworkError, LcpProtocolError } from './errors.js';
import {
  MemoryStateStore,
  type HolderState,
  type HolderStateStore,
  type PendingTransfer,
  type StoredDeposit,
} from './holder-state.js';

export interface HolderCredentials {
  /** The holder's TLS certificate (self-signed for plain holders). */
  certPem: string;
  keyPem: string;
}

export interface IssuerClientOptions {
  /** Where the issuer serves its WSDL, e.g. http://money.com/lcp.wsdl */
  wsdlUrl: string;
  credentials: HolderCredentials;
  /** Trust anchors for the issuer's certificate; the system's by default. */
  caPem?: string;
  /** Digits after the point in this currency (a property of the currency, like its name). */
  scale?: number;
  /** Counter, pending request and deposit inbox; in memory unless given (see FileStateStore). */
  state?: HolderStateStore;
  /** Name resolution override, e.g. to run the paper's names on loopback. */
  lookup?: LookupFunction;
  /** Per-request timeout beyond millisecondsWait. */
  timeoutMs?: number;
  /** How many times a request is retransmitted after a network error or a server fault. */
  retries?: number;
  /** Sees every SOAP message as it goes out and comes back (the demo narrates with it). */
  onMessage?: (event: { direction: 'request' | 'response'; xml: string }) => void;
}

export interface TransferOrder {
  recipient: EntityId | string;
  amount: bigint;
  transactionId: string;
  userid?: string;
}

export interface CallOptions {
  /** W3C traceparent sent with the request, so the issuer can record it in the same trace. */
  traceparent?: string;
}

const RETRY_DELAYS_MS = [50, 200, 500, 1000, 2000];

interface SoapErrorShape {
  root?: { Envelope?: { Body?: { Fault?: { faultcode?: string; faultstring?: string } } } };
  code?: string;
  message?: string;
}

function classify(error: unknown): LcpFaultError | LcpNetworkError {
  const shaped = error as SoapErrorShape;
  const fault = shaped?.root?.Envelope?.Body?.Fault;
  if (fault?.faultcode) {
    const faultcode = String(fault.faultcode);
    return new LcpFaultError(faultCodeFromSoap(faultcode), faultcode, String(fault.faultstring ?? faultcode));
  }
  return new LcpNetworkError(`issuer unreachable or answer lost: ${shaped?.code ?? shaped?.message ?? String(error)}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The WSDL comes over plain HTTP, so its service address is checked: it must be https on the
 * same host the WSDL came from, whose certificate TLS then verifies. Otherwise anyone on the
 * path could send the holder's payments to another server.
 */
function checkServiceAddress(client: soap.Client, wsdlUrl: string): void {
  const services = (client as unknown as { wsdl: { definitions: { services: Record<string, { ports: Record<string, { location?: string }> }> } } })
    .wsdl.definitions.services;
  const location = services[LCP_SERVICE]?.ports[LCP_PORT]?.location;
  const address = location ? new URL(location) : undefined;
  if (address?.protocol !== 'https:' || address.hostname !== new URL(wsdlUrl).hostname) {
    throw new LcpProtocolError(`the WSDL at ${wsdlUrl} names service address ${location ?? '(none)'}: it must be https on the same host`);
  }
}

function toDeposit(d: StoredDeposit): Deposit {
  return {
    transactionId: d.transactionId,
    amount: BigInt(d.amount),
    ...(d.userid ? { userid: d.userid } : {}),
    ...(d.sequence ? { sequence: BigInt(d.sequence) } : {}),
  };
}

const sameOrder = (pending: PendingTransfer, order: TransferOrder): boolean =>
  pending.recipient === order.recipient &&
  pending.amount === order.amount.toString() &&
  pending.transactionId === order.transactionId &&
  (pending.userid ?? '') === (order.userid ?? '');

export class IssuerClient {
  readonly scale: number;
  readonly #soap: soap.Client;
  readonly #agent: https.Agent;
  readonly #store: HolderStateStore;
  readonly #options: IssuerClientOptions;
  /** The holder's state, loaded once; changed in memory (one event loop: no races) and saved whole. */
  #state: Promise<HolderState> | undefined;
  /** One transfer at a time per holder and issuer: counters must arrive in order. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(client: soap.Client, agent: https.Agent, options: IssuerClientOptions) {
    this.#soap = client;
    this.#agent = agent;
    this.#options = options;
    this.#store = options.state ?? new MemoryStateStore();
    this.scale = options.scale ?? 2;
  }

  static async connect(options: IssuerClientOptions): Promise<IssuerClient> {
    const secureContext = tls.createSecureContext({
      cert: options.credentials.certPem,
      key: options.credentials.keyPem,
      ...(options.caPem ? { ca: options.caPem } : {}),
    });
    const lookup = options.lookup ? { lookup: options.lookup } : {};
    const agent = new https.Agent({ keepAlive: true, maxSockets: 16, secureContext, ...lookup });
    const wsdlAgent = new http.Agent({ keepAlive: false, ...lookup });
    const client = await soap.createClientAsync(options.wsdlUrl, {
      wsdl_options: { httpAgent: wsdlAgent, timeout: options.timeoutMs ?? 10_000 },
    });
    checkServiceAddress(client, options.wsdlUrl);
    client.setSecurity({ addOptions: (request: Record<string, unknown>) => void (request.httpsAgent = agent), toXML: () => '' });
    if (options.onMessage) {
      const notify = options.onMessage;
      client.on('request', (xml: string) => notify({ direction: 'request', xml }));
      client.on('response', (xml: string) => notify({ direction: 'response', xml }));
    }
    return new IssuerClient(client, agent, options);
  }

  #load(): Promise<HolderState> {
    this.#state ??= this.#store.load();
    return this.#state;
  }

  /**
   * transferFunds with safe retransmission: the counter and the request are saved before the
   * first send; a lost answer is asked for again with the same counter, which the issuer
   * answers from its stored response without moving funds twice. If an earlier call ended
   * without an answer (LcpNetworkError, or a crash), it is settled first; when it was this
   * same order, its answer is returned instead of paying again.
   */
  transferFunds(order: TransferOrder, call: CallOptions = {}): Promise<TransferFundsResponse> {
    const run = this.#queue.then(async () => {
      const state = await this.#load();
      if (state.pending) {
        const pending = state.pending;
        const answer = await this.#settlePending(state, call);
        if (sameOrder(pending, order)) return answer;
        // another order: keep the earlier one's answer for recoverPending(), then send this one
        state.recovered = { ...pending, result: answer.result, fee: answer.fee.toString() };
      }
      state.counter = (BigInt(state.counter) + 1n).toString();
      state.pending = {
        counter: state.counter,
        recipient: order.recipient,
        amount: order.amount.toString(),
        transactionId: order.transactionId,
        ...(order.userid ? { userid: order.userid } : {}),
      };
      await this.#store.save(state);
      return this.#settlePending(state, call);
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The outcome of a transfer left without an answer by an earlier call or a crash: settles it
   * now, or returns (once) the answer it got when a later order settled it first. Undefined if none.
   */
  recoverPending(): Promise<{ order: TransferOrder; response: TransferFundsResponse } | undefined> {
    const run = this.#queue.then(async () => {
      const state = await this.#load();
      const toOrder = (p: PendingTransfer): TransferOrder => ({
        recipient: p.recipient,
        amount: BigInt(p.amount),
        transactionId: p.transactionId,
        ...(p.userid ? { userid: p.userid } : {}),
      });
      if (state.pending) {
        const order = toOrder(state.pending);
        return { order, response: await this.#settlePending(state) };
      }
      const recovered = state.recovered;
      if (!recovered) return undefined;
      delete state.recovered;
      await this.#store.save(state);
      const result = recovered.result as TransferFundsResponse['result'];
      return { order: toOrder(recovered), response: { result, fee: BigInt(recovered.fee) } };
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Sends (again) the transfer recorded as pending. An answer or a fault (the issuer refused it
   * and changed nothing) clears it; without an answer it stays pending for the next call.
   */
  async #settlePending(state: HolderState, call: CallOptions = {}): Promise<TransferFundsResponse> {
    const pending = state.pending;
    if (!pending) throw new Error('no pending transfer');
    const args = encodeTransferFundsRequest(
      {
        recipient: pending.recipient as EntityId,
        amount: BigInt(pending.amount),
        transactionId: pending.transactionId,
        messageCounter: BigInt(pending.counter),
        ...(pending.userid ? { userid: pending.userid } : {}),
      },
      this.scale,
    );
    let wire: unknown;
    try {
      wire = await this.#call('transferFundsAsync', args, 0, call);
    } catch (error) {
      if (error instanceof LcpFaultError && !error.retryable) {
        delete state.pending;
        await this.#store.save(state);
      }
      throw error;
    }
    delete state.pending;
    await this.#store.save(state);
    const decoded = decodeTransferFundsResponse(wire, this.scale);
    if (!decoded.ok) throw new LcpProtocolError(`unreadable transferFundsResponse: ${decoded.detail}`);
    return decoded.value;
  }

  /** The paper's getDeposits, with the acknowledgement extension when `acknowledge` is given. */
  async getDeposits(request: GetDepositsRequest, call: CallOptions = {}): Promise<GetDepositsResponse> {
    const wire = await this.#call('getDepositsAsync', encodeGetDepositsRequest(request), request.millisecondsWait, call);
    const decoded = decodeGetDepositsResponse(wire, this.scale);
    if (!decoded.ok) throw new LcpProtocolError(`unreadable getDepositsResponse: ${decoded.detail}`);
    return decoded.value;
  }

  /**
   * Waits until the deposit with `transactionId` has arrived, up to `timeoutMs`. Deposits are
   * acknowledged only once they are saved in the holder's inbox, so none is lost to a crash;
   * other deposits stay in the inbox for later calls.
   */
  async waitForDeposit(transactionId: string, timeoutMs: number, call: CallOptions = {}): Promise<Deposit | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.#load();
      const index = state.inbox.findIndex((d) => d.transactionId === transactionId);
      if (index !== -1) {
        const [found] = state.inbox.splice(index, 1);
        await this.#store.save(state);
        return found && toDeposit(found);
      }
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await this.collectDeposits(left, call);
    }
  }

  /** One acknowledged getDeposits: new deposits go to the saved inbox. Returns how many were new. */
  async collectDeposits(millisecondsWait: number, call: CallOptions = {}): Promise<number> {
    const state = await this.#load();
    const response = await this.getDeposits({ millisecondsWait, acknowledge: BigInt(state.acknowledged) }, call);
    // read the acknowledgement again: a concurrent call may have taken some of these already
    let highest = BigInt(state.acknowledged);
    let added = 0;
    for (const deposit of response.deposits) {
      if (deposit.sequence === undefined || deposit.sequence <= highest) continue;
      highest = deposit.sequence;
      added++;
      state.inbox.push({
        transactionId: deposit.transactionId,
        amount: deposit.amount.toString(),
        ...(deposit.userid ? { userid: deposit.userid } : {}),
        sequence: deposit.sequence.toString(),
      });
    }
    state.acknowledged = highest.toString();
    await this.#store.save(state);
    return added;
  }

  /** Deposits saved in the inbox and not yet taken. */
  async inbox(): Promise<Deposit[]> {
    return (await this.#load()).inbox.map(toDeposit);
  }

  async #call(method: string, args: Record<string, unknown>, waitMs: number, call: CallOptions): Promise<unknown> {
    const headers = call.traceparent ? { traceparent: call.traceparent } : undefined;
    const retries = this.#options.retries ?? RETRY_DELAYS_MS.length;
    const timeout = waitMs + (this.#options.timeoutMs ?? 10_000);
    for (let attempt = 0; ; attempt++) {
      try {
        const operation = (this.#soap as unknown as Record<string, (a: unknown, o: unknown, h: unknown) => Promise<unknown[]>>)[method];
        if (!operation) throw new Error(`the WSDL has no operation for ${method}`);
        const [result] = await operation.call(this.#soap, args, { timeout }, headers);
        return result;
      } catch (error) {
        const classified = classify(error);
        const retryable = classified instanceof LcpNetworkError || classified.retryable;
        if (!retryable || attempt >= retries) throw classified;
        await sleep(RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)] ?? 1000);
      }
    }
  }

  close(): void {
    this.#agent.destroy();
  }
}
