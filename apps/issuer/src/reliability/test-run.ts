// One reliability run: a fresh currency served by a child `lcp-issuer serve` behind the fault
// proxy, holders driving IssuerClient through it as `plan` says, kill -9 of the issuer at the
// planned points, then a clean phase and a check of everything the holders were told against
// the ledger. The model here is independent of the issuer: it only knows what each holder's
// program saw (answers, faults, deposits, the counters it sent).
import https from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHolderCertificate, loadIdentity, privateKeyPem } from '@lcp/crypto';
import {
  IssuerClient,
  LcpFaultError,
  MemoryStateStore,
  type HolderState,
  type HolderStateStore,
  type TransferOrder,
} from '@lcp/client';
import { FEE_ACCOUNT, transferFee, type IssuerLedger, type StatementEntry } from '@lcp/issuer-core';
import { LCP_NAMESPACE, SOAP_PATH, formatAmount, parseAmount, type EntityId, type TransferFundsResponse } from '@lcp/protocol';
import { initCurrency } from '../currency.js';
import { demoCa, loopback, newHolder } from '../test-support.js';
import { IssuerProcess, openLedger } from './test-issuer-process.js';
import type { Op, Plan } from './test-plan.js';
import { FaultProxy, type ExchangeAction, type ProxyStats } from './test-proxy.js';

const SCALE = 2;
const OPENING_BALANCE = 20_000n;
const FEES = {
  transfer: { fixed: 2n, ratePpm: 15_000n },
  resumedTransfer: { fixed: 1n, ratePpm: 12_000n },
};
/** Client timeout beyond millisecondsWait: short, so a held request makes it give up and retransmit. */
const CLIENT_TIMEOUT_MS = 800;
/** Operations in flight at once, across holders (each holder runs one at a time). */
const CONCURRENCY = 6;
const INVALID_RECIPIENT = 'BOCF...7E24';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Status =
  /** Not handed to the client yet, or found never sent after a client crash. */
  | 'unsent'
  /** Handed to the client; no answer seen yet. */
  | 'unknown'
  /** The client returned an answer (a result). */
  | 'told'
  /** The client reported a fault: the issuer refused it and nothing changed. */
  | 'fault'
  /** Not attempted: an earlier transfer of the same holder was still unsettled. */
  | 'skipped';

interface TransferRecord {
  txid: string;
  from: number;
  to: number;
  recipient: string;
  amount: bigint;
  status: Status;
  response?: TransferFundsResponse;
  fault?: string;
  /** In doubt because the holder's program crashed with it in flight: it may never have been sent. */
  mayBeUnsent: boolean;
  /** The one messageCounter its (re)transmissions carried, as seen on the wire. */
  counter?: bigint;
}

/** A state store that refuses every write once its program has "crashed", like a dead process. */
class FencedStore implements HolderStateStore {
  dead = false;
  constructor(private readonly inner: HolderStateStore) {}
  load(): Promise<HolderState> {
    if (this.dead) return Promise.reject(new Error('crashed'));
    return this.inner.load();
  }
  save(state: HolderState): Promise<void> {
    if (this.dead) return Promise.reject(new Error('crashed'));
    return this.inner.save(state);
  }
}

interface Live {
  /** h0#2: the second program of holder h0. */
  name: string;
  /** Set once connected: a Live handed to an operation always has one. */
  client: IssuerClient | undefined;
  store: FencedStore;
  alive: boolean;
  /** `acknowledge` of the getDeposits this program has in flight (one request at a time). */
  lastAck: bigint | undefined;
}

type Running = Live & { client: IssuerClient };
type Lane = 'transfers' | 'deposits';

interface Delivery {
  txid: string;
  amount: bigint;
}

interface Holder {
  index: number;
  name: string;
  id: EntityId;
  credentials: { certPem: string; keyPem: string };
  /** The holder's durable state, which survives its program's crashes. */
  store: MemoryStateStore;
  live: Live | undefined;
  ready: Promise<Live>;
  /**
   * Operations waiting for this holder's program, one at a time per lane: transfers in one,
   * deposit collection in the other when the holder collects concurrently, else in the same.
   */
  lanes: Record<Lane, { queue: Array<{ run: (live: Running) => Promise<void>; done: () => void }>; running: boolean }>;
  /** Bumped by a crash: what the dead program was running no longer holds up the queue. */
  generation: number;
  /** The op in flight, so a crash knows which transfer it leaves in doubt. */
  inFlight: TransferRecord | undefined;
  inDoubt: TransferRecord | undefined;
  /** Deposits taken out of the inbox by waitForDeposit. */
  taken: string[];
  /** Highest `acknowledge` whose response was seen: a lower bound of the issuer's mark. */
  confirmedMark: bigint;
  /** Every deposit sequence a live program saw on the wire, with what it carried. */
  delivered: Map<bigint, Delivery>;
  deliveries: number;
  counterOf: Map<string, bigint>;
  txidOf: Map<bigint, string>;
  highestCounter: bigint;
}

/**
 * A deliberate bug, to show the checks catch it (the run must then fail):
 * - new-counter: a holder sends an answered transfer again with a new counter (paid twice);
 * - paper-mode: a holder polls once without `acknowledge` and drops the answer (deposits lost);
 * - forget-answer: the model forgets one answer it was given (a transfer nobody knows of).
 */
export type Mutant = 'new-counter' | 'paper-mode' | 'forget-answer';

export interface RunSettings {
  /** Every proxy decision and chunk. */
  trace?: (line: string) => void;
  /** What the holders' programs do and see. */
  events?: (line: string) => void;
  mutant?: Mutant;
}

export interface RunReport {
  operations: number;
  faults: ProxyStats;
  crashes: number;
  clientCrashes: number;
  transfers: Record<Status | 'success' | 'insufficientFunds' | 'issuanceCapExceeded', number>;
  deliveries: number;
  replays: number;
  /** transferFunds requests the clients sent again with the same counter (their own retries and settling). */
  retransmissions: number;
  /** Transfers left without an answer that the holder settled later, by recoverPending and by sending the same order again. */
  settled: { recover: number; resend: number };
  lost: number;
  doubled: number;
  violations: string[];
  issuerErrors: string[];
  ms: number;
  /** Milliseconds spent in each phase. */
  phases: Record<string, number>;
}

const first = (xml: string, tag: string): string | undefined => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];

function minor(text: string | undefined): bigint {
  const parsed = parseAmount(text ?? '', SCALE);
  if (!parsed.ok) throw new Error(`not an amount: ${text}`);
  return parsed.value;
}

export async function runPlan(plan: Plan, settings: RunSettings): Promise<RunReport> {
  const started = performance.now();
  const phases: Record<string, number> = {};
  let phaseStart = started;
  const phase = (name: string): void => {
    const now = performance.now();
    phases[name] = Math.round(now - phaseStart);
    phaseStart = now;
  };
  const violations: string[] = [];
  const t0 = performance.now();
  const event = (text: string): void => settings.events?.(`${Math.round(performance.now() - t0)} ${text}`);
  const violation = (text: string): void => {
    if (violations.length < 200) violations.push(text);
  };
  const ca = await demoCa();
  const dir = await mkdtemp(join(tmpdir(), 'lcp-reliability-'));
  const proxy = await FaultProxy.start();
  if (settings.trace) proxy.trace = settings.trace;
  const issuer = new IssuerProcess(dir);
  const cap = BigInt(plan.holders) * OPENING_BALANCE + 5_000n;
  let operations = 0;
  let clientCrashes = 0;
  let replays = 0;
  let retransmissions = 0;
  const settled = { recover: 0, resend: 0 };
  const records: TransferRecord[] = [];
  const inflight = new Set<Promise<void>>();

  try {
    const { treasury: treasuryId } = await initCurrency({
      dir,
      domain: 'money.com',
      ca,
      settings: {
        LCP_HOST: '127.0.0.1',
        LCP_HTTPS_PORT: '0',
        LCP_HTTP_PORT: '0',
        // the WSDL sends holders to the proxy, which forwards to wherever the issuer listens now
        LCP_PUBLIC_URL: `https://money.com:${proxy.port}/lcp`,
        LCP_ISSUANCE_CAP: cap.toString(),
        LCP_FEE_FIXED: FEES.transfer.fixed.toString(),
        LCP_FEE_RATE_PPM: FEES.transfer.ratePpm.toString(),
        LCP_FEE_RESUMED_FIXED: FEES.resumedTransfer.fixed.toString(),
        LCP_FEE_RESUMED_RATE_PPM: FEES.resumedTransfer.ratePpm.toString(),
        LCP_GETDEPOSITS_FEE: '0',
        LCP_LOG_LEVEL: 'info',
      },
    });
    const treasuryIdentity = await loadIdentity(join(dir, 'identity.pem'));
    const treasuryCredentials = { certPem: await createHolderCertificate(treasuryIdentity), keyPem: privateKeyPem(treasuryIdentity) };
    const people = await Promise.all(Array.from({ length: plan.holders }, () => newHolder()));
    const holders: Holder[] = [...people.map((p) => ({ id: p.id, credentials: p })), { id: treasuryId as EntityId, credentials: treasuryCredentials }].map(
      ({ id, credentials }, index) => ({
        index,
        name: index === plan.holders ? 'treasury' : `h${index}`,
        id,
        credentials: { certPem: credentials.certPem, keyPem: credentials.keyPem },
        store: new MemoryStateStore(),
        live: undefined,
        ready: Promise.reject(new Error('not connected')),
        lanes: { transfers: { queue: [], running: false }, deposits: { queue: [], running: false } },
        generation: 0,
        inFlight: undefined,
        inDoubt: undefined,
        taken: [],
        confirmedMark: 0n,
        delivered: new Map(),
        deliveries: 0,
        counterOf: new Map(),
        txidOf: new Map(),
        highestCounter: 0n,
      }),
    );
    for (const h of holders) h.ready.catch(() => undefined);
    const treasury = holders[plan.holders] as Holder;
    const holderAt = (i: number): Holder => holders[i] as Holder;

    // opening balances: minted before the first start, and known to the model like any transfer
    const opening = await openLedger(dir);
    try {
      for (const h of holders.slice(0, plan.holders)) {
        const txid = `fund-${h.name}`;
        const outcome = await opening.mint(h.id, OPENING_BALANCE, txid);
        if ('fault' in outcome || outcome.response.result !== 'success') throw new Error(`opening mint failed: ${JSON.stringify(outcome)}`);
        records.push({
          txid,
          from: treasury.index,
          to: h.index,
          recipient: h.id,
          amount: OPENING_BALANCE,
          status: 'told',
          response: outcome.response,
          mayBeUnsent: false,
        });
      }
    } finally {
      await opening.close();
    }

    // ---- the issuer, and restarting it -------------------------------------------------
    let faultIndex = 0;
    let faultsOn = true;
    proxy.decide = ({ exchange }): ExchangeAction => {
      if (!faultsOn) return { kind: 'pass' };
      const action = plan.faults[faultIndex++ % plan.faults.length] as ExchangeAction;
      // exchange 0 is the ClientHello: only dropping it means anything there
      if (exchange === 0) return action.kind === 'drop' ? action : { kind: 'pass' };
      return action;
    };
    let issuerUp: Promise<void> = issuer.start().then((served) => {
      proxy.upstreamPort = served.httpsPort;
    });
    await issuerUp;

    phase('setup');
    // ---- holders' programs ---------------------------------------------------------------
    const observeRequest = (h: Holder, xml: string): void => {
      if (xml.includes(':transferFunds>')) {
        const counter = BigInt(first(xml, 'messageCounter') ?? '0');
        const txid = first(xml, 'transactionId') ?? '';
        const known = h.counterOf.get(txid);
        if (known !== undefined && known !== counter) violation(`${h.name} sent ${txid} with counters ${known} and ${counter}`);
        const other = h.txidOf.get(counter);
        if (other !== undefined && other !== txid) violation(`${h.name} sent counter ${counter} for ${other} and for ${txid}`);
        if (known !== undefined) retransmissions++;
        if (known === undefined) {
          if (counter <= h.highestCounter) violation(`${h.name} sent the new order ${txid} with counter ${counter}, not above ${h.highestCounter}`);
          h.counterOf.set(txid, counter);
          h.txidOf.set(counter, txid);
          if (counter > h.highestCounter) h.highestCounter = counter;
        }
      }
    };
    const observeResponse = (h: Holder, live: Live, xml: string): void => {
      if (!xml.includes('getDepositsResponse')) return;
      const ack = live.lastAck;
      const floor = ack !== undefined && ack > h.confirmedMark ? ack : h.confirmedMark;
      for (const match of xml.matchAll(/<deposit>(.*?)<\/deposit>/g)) {
        const inner = match[1] ?? '';
        const sequence = BigInt(first(inner, 'sequence') ?? '0');
        const delivery = { txid: first(inner, 'transactionId') ?? '', amount: minor(first(inner, 'amount')) };
        h.deliveries++;
        if (sequence <= floor) violation(`${h.name} got deposit ${sequence} (${delivery.txid}) again after acknowledging up to ${floor}`);
        const seen = h.delivered.get(sequence);
        if (seen && (seen.txid !== delivery.txid || seen.amount !== delivery.amount)) {
          violation(`${h.name}: deposit ${sequence} was ${seen.txid}/${seen.amount}, now ${delivery.txid}/${delivery.amount}`);
        }
        h.delivered.set(sequence, delivery);
      }
      if (ack !== undefined && ack > h.confirmedMark) h.confirmedMark = ack;
    };

    /** h's current program once connected, following crashes that happen while waiting. */
    const program = async (h: Holder): Promise<Running> => {
      for (;;) {
        const ready = h.ready;
        try {
          const live = await ready;
          if (live.client && (live.alive || h.ready === ready)) return live as Running;
        } catch (error) {
          if (h.ready === ready) throw error;
        }
      }
    };
    /** Starts a new program for h; it is h's program (and can crash) even before it has connected. */
    const connect = async (h: Holder): Promise<Live> => {
      const store = new FencedStore(h.store);
      const live: Live = { name: `${h.name}#${h.generation}`, client: undefined, store, alive: true, lastAck: undefined };
      h.live = live;
      for (let attempt = 0; ; attempt++) {
        await issuerUp;
        const served = issuer.current;
        try {
          if (!served) throw new Error('the issuer is down');
          const client = await IssuerClient.connect({
            wsdlUrl: served.wsdlUrl,
            credentials: h.credentials,
            caPem: ca.certPem,
            lookup: loopback,
            state: store,
            scale: SCALE,
            timeoutMs: CLIENT_TIMEOUT_MS,
            retries: plan.retries[h.index] ?? 5,
            onMessage: ({ direction, xml }) => {
              if (typeof xml === 'string' && settings.events) {
                const what = direction === 'request' ? `${first(xml, 'transactionId') ?? 'getDeposits'} ${first(xml, 'messageCounter') ?? first(xml, 'acknowledge') ?? ''}` : xml.replace(/.*<soap:Body>|<\/soap:Body>.*/g, '').slice(0, 200);
                event(`${live.name}${live.alive ? '' : ' (dead)'} ${direction} ${what}`);
              } else if (settings.events) event(`${live.name} ${direction} (none)`);
              if (!live.alive || typeof xml !== 'string') return;
              if (direction === 'request') {
                if (xml.includes(':getDeposits>')) {
                  const ack = first(xml, 'acknowledge');
                  live.lastAck = ack === undefined ? undefined : BigInt(ack);
                } else observeRequest(h, xml);
              } else observeResponse(h, live, xml);
            },
          });
          if (!live.alive) {
            client.close();
            throw new Error(`${live.name} crashed before it connected`);
          }
          live.client = client;
          return live;
        } catch (error) {
          if (!live.alive || attempt >= 30) throw error;
          await sleep(100);
        }
      }
    };
    const crashClient = (h: Holder, counted = true): void => {
      if (counted) clientCrashes++;
      event(`${h.live?.name ?? h.name} crashes${h.inFlight ? ` with ${h.inFlight.txid} in flight` : ''}`);
      const old = h.live;
      if (old) {
        old.alive = false;
        old.store.dead = true;
        old.client?.close();
      }
      h.live = undefined;
      if (h.inFlight && h.inFlight.status === 'unknown') {
        h.inFlight.mayBeUnsent = true;
        h.inDoubt = h.inFlight;
      }
      h.inFlight = undefined;
      h.generation++;
      h.ready = connect(h);
      h.ready.catch(() => undefined); // a program that crashes before connecting; program() follows h.ready
      // the dead program's operations are abandoned: the queues go on with the new program
      for (const lane of ['transfers', 'deposits'] as const) {
        h.lanes[lane].running = false;
        pump(h, lane);
      }
    };
    /** Runs h's next operation on h's current program; an operation never moves to another program. */
    function pump(h: Holder, name: Lane): void {
      const lane = h.lanes[name];
      if (lane.running || lane.queue.length === 0) return;
      lane.running = true;
      const generation = h.generation;
      void (async () => {
        let live: Running | undefined;
        try {
          live = await program(h);
        } catch (error) {
          violation(`${h.name} could not start its program: ${String(error)}`);
        }
        if (h.generation !== generation) return; // crashed meanwhile: the crash pumps again
        const job = lane.queue.shift();
        if (job && live) await job.run(live).catch((error: unknown) => violation(`${h.name}: ${String(error)}`));
        job?.done();
        if (h.generation !== generation) return;
        lane.running = false;
        pump(h, name);
      })();
    }
    for (const h of holders) {
      h.ready = connect(h);
      await program(h);
    }

    const told = (record: TransferRecord, response: TransferFundsResponse): void => {
      event(`${record.txid} told ${response.result} ${response.fee}`);
      if (record.status === 'unsent' && record.mayBeUnsent) violation(`${record.txid} was found unsent, then answered`);
      record.status = 'told';
      record.response = response;
    };
    const refused = (record: TransferRecord, error: LcpFaultError): void => {
      event(`${record.txid} refused ${error.code}`);
      record.status = 'fault';
      record.fault = error.code ?? error.faultcode;
    };
    const isFinal = (error: unknown): error is LcpFaultError => error instanceof LcpFaultError && !error.retryable;
    const orderOf = (r: TransferRecord): TransferOrder => ({ recipient: r.recipient, amount: r.amount, transactionId: r.txid });

    /** Settles h's transfer left in doubt through `live`; true when none is left. */
    const settle = async (h: Holder, live: Running, how: 'recover' | 'resend'): Promise<boolean> => {
      const record = h.inDoubt;
      if (!record) return true;
      event(`${live.name} settles ${record.txid} (${record.status}) by ${how}`);
      if (record.status === 'unknown') {
        operations++;
        try {
          if (how === 'resend' && !record.mayBeUnsent) {
            // the same order again: the client sees it is the pending one and returns its answer
            told(record, await live.client.transferFunds(orderOf(record)));
          } else {
            const recovered = await live.client.recoverPending();
            if (!recovered) {
              if (record.mayBeUnsent) record.status = 'unsent';
              else violation(`${h.name}: ${record.txid} ended without an answer but the client has nothing pending`);
            } else if (recovered.order.transactionId !== record.txid) {
              violation(`${h.name}: recovered ${recovered.order.transactionId}, expected ${record.txid}`);
            } else told(record, recovered.response);
          }
        } catch (error) {
          if (isFinal(error)) refused(record, error);
          else return false; // still no answer (or this program died): try again later
        }
        const now = record.status as Status; // changed by told() or refused()
        if (now === 'told' || now === 'fault') settled[how === 'resend' && !record.mayBeUnsent ? 'resend' : 'recover']++;
      }
      if (h.inDoubt === record) h.inDoubt = undefined;
      return true;
    };

    const runTransfer = async (h: Holder, op: Extract<Op, { kind: 'transfer' }>, index: number, live: Running): Promise<void> => {
      const to = holderAt(op.to);
      const record: TransferRecord = {
        txid: `op${index}-${h.name}`,
        from: h.index,
        to: to.index,
        recipient: op.invalid ? INVALID_RECIPIENT : to.id,
        amount: BigInt(op.amount),
        status: 'unsent',
        mayBeUnsent: false,
      };
      records.push(record);
      // a holder whose last transfer is still unanswered tries again a little later before giving up on this one
      let clear = await settle(h, live, op.settle);
      for (let attempt = 0; !clear && live.alive && attempt < 2; attempt++) {
        await sleep(150);
        clear = await settle(h, live, op.settle);
      }
      if (!clear || !live.alive) {
        record.status = 'skipped';
        return;
      }
      record.status = 'unknown';
      h.inFlight = record;
      operations++;
      event(`${live.name} sends ${record.txid}`);
      try {
        told(record, await live.client.transferFunds(orderOf(record)));
      } catch (error) {
        event(`${live.name} ${record.txid} failed: ${String(error)}`);
        if (isFinal(error)) refused(record, error);
        else if (live.alive) h.inDoubt = record; // a crashed program's transfer was put in doubt by the crash
      } finally {
        if (h.inFlight === record) h.inFlight = undefined;
      }
    };

    const runCollect = async (live: Running, waitMs: number): Promise<void> => {
      operations++;
      try {
        await live.client.collectDeposits(waitMs);
      } catch {
        // no answer: the deposits stay unacknowledged and come again
      }
    };

    const runWaitFor = async (h: Holder, timeoutMs: number, index: number, live: Running): Promise<void> => {
      const expected = records.find(
        (r) => r.to === h.index && r.status === 'told' && r.response?.result === 'success' && !h.taken.includes(r.txid),
      );
      const txid = expected?.txid ?? `nothing-${index}`;
      operations++;
      try {
        const deposit = await live.client.waitForDeposit(txid, timeoutMs);
        if (!deposit) return;
        if (!expected) violation(`${h.name} took a deposit ${txid} nobody sent`);
        else if (deposit.transactionId !== txid || deposit.amount !== expected.amount) {
          violation(`${h.name} waited for ${txid}/${expected.amount} and took ${deposit.transactionId}/${deposit.amount}`);
        }
        h.taken.push(deposit.transactionId);
      } catch {
        // no answer in time
      }
    };

    const runOp = (op: Op, index: number, live: Running): Promise<void> => {
      switch (op.kind) {
        case 'transfer':
          return runTransfer(holderAt(op.from), op, index, live);
        case 'collect':
          return runCollect(live, op.waitMs);
        case 'waitFor':
          return runWaitFor(holderAt(op.who), op.timeoutMs, index, live);
        case 'clientCrash':
          return Promise.resolve();
      }
    };
    const ownerOf = (op: Op): Holder => holderAt(op.kind === 'transfer' ? op.from : op.who);

    // ---- the run -------------------------------------------------------------------------
    const crashes = [...plan.crashes];
    for (const [index, op] of plan.ops.entries()) {
      while (crashes[0] && crashes[0].at <= index) {
        const { downMs } = crashes.shift() as { at: number; downMs: number };
        await issuerUp; // the previous restart must be done before the next kill
        await issuer.kill();
        issuerUp = sleep(downMs)
          .then(() => issuer.start())
          .then((served) => {
            proxy.upstreamPort = served.httpsPort;
          });
      }
      const h = ownerOf(op);
      if (op.kind === 'clientCrash') {
        crashClient(h);
        continue;
      }
      while (inflight.size >= CONCURRENCY) await Promise.race(inflight);
      let done: () => void = () => undefined;
      const running = new Promise<void>((resolve) => (done = resolve));
      inflight.add(running);
      void running.then(() => inflight.delete(running));
      const lane: Lane = op.kind !== 'transfer' && plan.concurrentDeposits[h.index] ? 'deposits' : 'transfers';
      h.lanes[lane].queue.push({ run: (live) => runOp(op, index, live), done });
      pump(h, lane);
    }
    await Promise.allSettled([...inflight]);
    await issuerUp;
    await proxy.idle(); // held requests are delivered late before the checks begin

    phase('operations');
    if (settings.mutant === 'forget-answer') {
      const victim = records.find((r) => r.status === 'told' && r.response?.result === 'success' && !r.txid.startsWith('fund-'));
      if (victim) {
        victim.status = 'unknown';
        delete victim.response;
      }
    }
    // ---- clean phase: no faults; every holder restarts its program and settles ---------------
    faultsOn = false;
    const faults = proxy.takeStats();
    for (const h of holders) crashClient(h, false);
    for (const h of holders) {
      const live = await program(h);
      for (let attempt = 0; h.inDoubt && attempt < 5; attempt++) await settle(h, live, 'recover');
      if (h.inDoubt) violation(`${h.name} is stuck: ${h.inDoubt.txid} has no answer after the clean restart`);
    }
    // only now is every transfer settled: no deposit can appear after this
    for (const h of holders) {
      const live = await program(h);
      if (settings.mutant === 'paper-mode' && h.index === 0) await live.client.getDeposits({ millisecondsWait: 0 });
      for (let attempt = 0; attempt < 20; attempt++) {
        operations++;
        if ((await live.client.collectDeposits(0)) === 0) break;
      }
    }
    // every deposit a program took or holds now
    const inboxes = new Map<Holder, string[]>();
    for (const h of holders) inboxes.set(h, (await (await program(h)).client.inbox()).map((d) => d.transactionId));
    // ...and nothing above the mark is left to deliver
    // ...and the balance each holder is shown is the one its answers add up to
    const shown = toldBalances(holders, records);
    for (const h of holders) {
      const again = await (await program(h)).client.getDeposits({ millisecondsWait: 0, acknowledge: h.confirmedMark });
      if (again.deposits.length > 0) violation(`${h.name}: ${again.deposits.length} deposits still delivered after all were acknowledged`);
      if (again.balance !== (shown.get(h.id) ?? 0n)) violation(`${h.name}: getDeposits shows balance ${again.balance}, its answers add up to ${shown.get(h.id)}`);
    }

    phase('settle');
    // ---- counters, from the outside: every answer is replayed, misuse is refused ----------
    for (const h of holders) {
      const agent = new https.Agent({ keepAlive: true, ca: ca.certPem, cert: h.credentials.certPem, key: h.credentials.keyPem });
      try {
        const mine = records.filter((r) => r.from === h.index && r.status === 'told' && h.counterOf.has(r.txid));
        for (const r of mine) {
          const counter = h.counterOf.get(r.txid) as bigint;
          r.counter = counter;
          const answer = await postTransfer(proxy.port, agent, r.recipient, r.amount, r.txid, counter);
          replays++;
          const expected = r.response as TransferFundsResponse;
          if (answer.result !== expected.result || answer.fee !== formatAmount(expected.fee, SCALE)) {
            violation(`${h.name}: ${r.txid} (counter ${counter}) replayed as ${JSON.stringify(answer)}, was told ${expected.result}/${expected.fee}`);
          }
        }
        if (settings.mutant === 'new-counter' && mine[0]) {
          const again = mine[0];
          await postTransfer(proxy.port, agent, again.recipient, again.amount, again.txid, h.highestCounter + 1n);
        }
        const sample = mine[0];
        if (sample?.counter !== undefined) {
          const reused = await postTransfer(proxy.port, agent, sample.recipient, sample.amount + 1n, sample.txid, sample.counter);
          if (reused.fault !== 'soap:Client.counterReused') violation(`${h.name}: a used counter with another body gave ${JSON.stringify(reused)}`);
        }
        // a counter never used, below the highest used one (results use counters, faults do not)
        const lowest = mine.reduce<bigint | undefined>((low, r) => (low === undefined || (r.counter as bigint) < low ? r.counter : low), undefined);
        if (lowest !== undefined) {
          const low = await postTransfer(proxy.port, agent, holderAt((h.index + 1) % holders.length).id, 1n, `low-${h.name}`, lowest - 1n);
          if (low.fault !== 'soap:Client.counterTooLow') violation(`${h.name}: an unused counter below the last gave ${JSON.stringify(low)}`);
        }
      } finally {
        agent.destroy();
      }
    }
    for (const h of holders) (await program(h)).client.close();

    phase('replays');
    // ---- the ledger, with the issuer stopped ------------------------------------------------
    const exit = await issuer.stop();
    if (exit !== 0) violation(`the issuer's graceful stop exited with ${exit}`);
    // nothing in these runs is a reason for the issuer to fail a request (kill -9 logs nothing)
    for (const line of issuer.errors) violation(`the issuer logged an error: ${line}`);
    const ledger = await openLedger(dir);
    let lost = 0;
    let doubled = 0;
    try {
      ({ lost, doubled } = await checkLedger(ledger, holders, records, cap, inboxes, violation));
    } finally {
      await ledger.close();
    }

    phase('ledger');
    const transfers = { unsent: 0, unknown: 0, told: 0, fault: 0, skipped: 0, success: 0, insufficientFunds: 0, issuanceCapExceeded: 0 };
    for (const r of records) {
      transfers[r.status]++;
      if (r.response) transfers[r.response.result]++;
    }
    const deliveries = holders.reduce((n, h) => n + h.deliveries, 0);
    return {
      operations,
      faults,
      crashes: issuer.kills,
      clientCrashes,
      transfers,
      deliveries,
      replays,
      retransmissions,
      settled,
      lost,
      doubled,
      violations,
      issuerErrors: issuer.errors,
      ms: Math.round(performance.now() - started),
      phases,
    };
  } finally {
    proxy.decide = () => ({ kind: 'pass' });
    await Promise.allSettled([...inflight]);
    await issuer.kill();
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every account's balance as the holders' answers imply it. */
function toldBalances(holders: Holder[], records: TransferRecord[]): Map<string, bigint> {
  const balances = new Map<string, bigint>([[FEE_ACCOUNT, 0n]]);
  const add = (account: string, delta: bigint) => balances.set(account, (balances.get(account) ?? 0n) + delta);
  for (const r of records) {
    if (r.status !== 'told' || r.response?.result !== 'success') continue;
    add((holders[r.from] as Holder).id, -(r.amount + r.response.fee));
    add(r.recipient, r.amount);
    add(FEE_ACCOUNT, r.response.fee);
  }
  return balances;
}

/** A transferFunds envelope straight to the issuer (through the proxy), with a chosen counter. */
function postTransfer(
  port: number,
  agent: https.Agent,
  recipient: string,
  amount: bigint,
  txid: string,
  counter: bigint,
): Promise<{ result?: string; fee?: string; fault?: string }> {
  const body =
    `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="${LCP_NAMESPACE}">` +
    `<soap:Body><tns:transferFunds><recipient>${recipient}</recipient><amount>${formatAmount(amount, SCALE)}</amount>` +
    `<transactionId>${txid}</transactionId><messageCounter>${counter}</messageCounter></tns:transferFunds></soap:Body></soap:Envelope>`;
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: 'money.com',
        port,
        path: SOAP_PATH,
        method: 'POST',
        agent,
        lookup: loopback,
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${LCP_NAMESPACE}#transferFunds"` },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          const fault = first(text, 'faultcode');
          resolve(fault ? { fault } : { result: first(text, 'result') ?? '', fee: first(text, 'fee') ?? '' });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** All journal rows of the ledger, seen from their senders' statements. */
async function statementOf(ledger: IssuerLedger, account: string): Promise<StatementEntry[]> {
  const entries: StatementEntry[] = [];
  for (let after = 0n; ; ) {
    const page = await ledger.statement(account, { afterId: after, limit: 10_000 });
    entries.push(...page);
    const last = page.at(-1);
    if (!last || page.length < 10_000) return entries;
    after = last.id;
  }
}

interface Row {
  id: bigint;
  txid: string | null;
  sender: string;
  recipient: string;
  amount: bigint;
  fee: bigint;
}

async function checkLedger(
  ledger: IssuerLedger,
  holders: Holder[],
  records: TransferRecord[],
  cap: bigint,
  inboxes: Map<Holder, string[]>,
  violation: (text: string) => void,
): Promise<{ lost: number; doubled: number }> {
  const treasury = holders[holders.length - 1] as Holder;
  const nameOf = new Map(holders.map((h) => [h.id as string, h.name]));
  // the journal, from the sending side (every sender is one of the model's accounts)
  const rows = new Map<bigint, Row>();
  const credits = new Map<bigint, string>();
  for (const h of holders) {
    const entries = await statementOf(ledger, h.id);
    for (const e of entries) {
      if (e.kind === 'getDepositsFee') violation(`${h.name} paid a getDeposits fee, configured as 0`);
      if (e.kind === 'transfer' && e.delta < 0n) {
        rows.set(e.id, { id: e.id, txid: e.transactionId, sender: h.id, recipient: e.counterparty, amount: -e.delta, fee: 0n });
      } else if (e.kind === 'transfer' && e.delta > 0n) credits.set(e.id, h.id);
    }
    for (const e of entries) {
      if (e.kind === 'fee' && e.delta < 0n) {
        const row = rows.get(e.id);
        if (row) row.fee = -e.delta;
        else violation(`fee line ${e.id} of ${h.name} without its transfer`);
      }
    }
  }
  for (const row of rows.values()) {
    if (credits.get(row.id) !== row.recipient) violation(`transfer ${row.id} (${row.txid}) is not credited to its recipient`);
  }
  const totals = await ledger.totals();
  if (totals.transfers !== rows.size) violation(`${totals.transfers} transfers in the ledger, ${rows.size} sent by known accounts`);

  const byTxid = new Map<string, Row[]>();
  for (const row of rows.values()) {
    const list = byTxid.get(row.txid ?? '') ?? [];
    list.push(row);
    byTxid.set(row.txid ?? '', list);
  }
  const recordOf = new Map(records.map((r) => [r.txid, r]));
  let lost = 0;
  let doubled = 0;
  for (const r of records) {
    const found = byTxid.get(r.txid) ?? [];
    const success = r.status === 'told' && r.response?.result === 'success';
    if (success) {
      if (found.length === 0) {
        lost++;
        violation(`acknowledged ${r.txid} is not in the ledger`);
      } else if (found.length > 1) {
        doubled++;
        violation(`acknowledged ${r.txid} is in the ledger ${found.length} times`);
      }
      const row = found[0];
      const sender = (holders[r.from] as Holder).id;
      if (row && (row.sender !== sender || row.recipient !== r.recipient || row.amount !== r.amount || row.fee !== r.response?.fee)) {
        violation(`${r.txid}: told ${r.amount}+${r.response?.fee} from ${holders[r.from]?.name}, ledger has ${row.amount}+${row.fee} from ${nameOf.get(row.sender)}`);
      }
      // the fee is the one of the two rates, none for the treasury
      const fee = r.response?.fee ?? 0n;
      const allowed =
        r.from === treasury.index ? [0n] : [transferFee(r.amount, FEES.transfer), transferFee(r.amount, FEES.resumedTransfer)];
      if (!allowed.includes(fee)) violation(`${r.txid}: fee ${fee} is not one of ${allowed.join(', ')}`);
    } else {
      if (found.length > 0) {
        doubled += found.length;
        violation(`${r.txid} (${r.status}${r.response ? ` ${r.response.result}` : ''}${r.fault ? ` ${r.fault}` : ''}) is in the ledger`);
      }
      if (r.status === 'told' && r.response?.fee !== 0n) violation(`${r.txid}: ${r.response?.result} charged ${r.response?.fee}`);
      if (r.status === 'unknown') violation(`${r.txid} never got an answer`);
      if (r.status === 'fault' && r.fault !== 'invalidRecipient') violation(`${r.txid} was refused with ${r.fault}`);
    }
  }
  // the issuer used each sender's counters in increasing order (journal ids are commit order)
  for (const h of holders) {
    const counters = [...rows.values()]
      .filter((row) => row.sender === h.id && row.txid !== null && h.counterOf.has(row.txid))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((row) => h.counterOf.get(row.txid as string) as bigint);
    counters.forEach((c, i) => {
      if (i > 0 && c <= (counters[i - 1] as bigint)) violation(`${h.name}: counter ${c} committed after ${counters[i - 1]}`);
    });
  }
  for (const [txid, list] of byTxid) {
    if (!recordOf.has(txid)) violation(`the ledger has ${list.length} transfer(s) ${txid} no holder sent or was told of`);
  }

  // balances: exactly what the holders were told, and the invariants
  const expected = toldBalances(holders, records);
  let sum = 0n;
  for (const [account, balance] of expected) {
    const actual = await ledger.balance(account);
    sum += actual;
    if (actual !== balance) violation(`${nameOf.get(account) ?? account}: balance ${actual}, the holders were told of ${balance}`);
    if (account !== treasury.id && actual < 0n) violation(`${nameOf.get(account) ?? account} is below zero: ${actual}`);
  }
  if (sum !== 0n) violation(`the balances of the model's accounts sum to ${sum}`);
  if (totals.sum !== 0n) violation(`the ledger's balances sum to ${totals.sum}`);
  if (totals.negativeAccounts.length > 0) violation(`accounts below zero: ${totals.negativeAccounts.join(', ')}`);
  if (totals.treasuryBalance < -cap) violation(`the treasury is at ${totals.treasuryBalance}, beyond the cap ${cap}`);
  if (totals.accounts !== holders.length) violation(`${totals.accounts} accounts, expected ${holders.length}`);

  // deposits: each successful transfer delivered to its recipient at least once, and in its program's hands exactly once
  for (const h of holders) {
    const sent = records.filter((r) => r.to === h.index && r.status === 'told' && r.response?.result === 'success');
    const wire = new Set([...h.delivered.values()].map((d) => d.txid));
    const sequences = [...h.delivered.keys()].sort((a, b) => (a < b ? -1 : 1));
    sequences.forEach((s, i) => {
      if (s !== BigInt(i + 1)) violation(`${h.name}: deposit sequences are not 1..n (${sequences.slice(0, 10).join(',')}...)`);
    });
    for (const r of sent) if (!wire.has(r.txid)) violation(`${h.name} never received the deposit of ${r.txid}`);
    if (wire.size !== sent.length || h.delivered.size !== sent.length) {
      violation(`${h.name}: ${h.delivered.size} deposits delivered, ${sent.length} transfers to it`);
    }
    const held = [...(inboxes.get(h) ?? []), ...h.taken];
    const heldSet = new Set(held);
    if (heldSet.size !== held.length) violation(`${h.name} holds a deposit twice: ${held.filter((t, i) => held.indexOf(t) !== i).join(', ')}`);
    const sentSet = new Set(sent.map((r) => r.txid));
    for (const t of heldSet) if (!sentSet.has(t)) violation(`${h.name} holds ${t}, which is no successful transfer to it`);
    for (const t of sentSet) if (!heldSet.has(t)) violation(`${h.name} lost the deposit of ${t}`);
  }
  return { lost, doubled };
}
