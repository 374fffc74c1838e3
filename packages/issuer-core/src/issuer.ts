// Every rule of the issuer: counters, fees, balances, the issuance cap, deposits and their
// acknowledgement. The store only reads and writes rows inside one transaction per request.
import { createHash } from 'node:crypto';
import {
  type EntityId,
  type FaultCode,
  type GetDepositsRequest,
  type TransferFundsRequest,
  type TransferResult,
  isEntityId,
  isTransactionId,
  isUserid,
  LIMITS,
  MAX_MINOR_UNITS,
  assertScale,
} from '@lcp/protocol';
import { DepositWaiters, type ClaimedWaiter } from './deposit-waiters.js';
import {
  FEE_ACCOUNT,
  type DepositsOutcome,
  type FeeRate,
  type IssuerLedger,
  type IssuerSettings,
  type LedgerStore,
  type LedgerTx,
  type Refusal,
  type TransferOutcome,
} from './types.js';

const PPM = 1_000_000n;

type TransferBody = Pick<TransferFundsRequest, 'recipient' | 'amount' | 'transactionId' | 'userid'>;

const refuse = (fault: FaultCode, detail: string): Refusal => ({ fault, detail });

/** A long-poll answered inside a transfer's transaction, told its answer after the commit. */
type Answered = { waiter: ClaimedWaiter<DepositsOutcome>; answer: DepositsOutcome };

export function isRefusal(outcome: object): outcome is Refusal {
  return 'fault' in outcome;
}

/** fixed + ceil(amount * ratePpm / 1e6), in minor units. */
export function transferFee(amount: bigint, rate: FeeRate): bigint {
  return rate.fixed + (amount * rate.ratePpm + PPM - 1n) / PPM;
}

/**
 * The request's identity for retransmission: the same counter with the same body is the
 * same request. JSON of an array of strings is unambiguous (no separator can be forged).
 */
export function transferBodyHash(body: TransferBody): string {
  const canonical = JSON.stringify([body.recipient, body.amount.toString(), body.transactionId, body.userid ?? '']);
  return createHash('sha256').update(canonical).digest('hex');
}

function checkSettings(settings: IssuerSettings): void {
  assertScale(settings.scale);
  if (settings.treasury === FEE_ACCOUNT) throw new RangeError('the treasury cannot be the fee account');
  if (settings.issuanceCap < 0n || settings.issuanceCap > MAX_MINOR_UNITS) {
    throw new RangeError('issuanceCap must be from 0 to 2^63-1 minor units');
  }
  const { transfer, resumedTransfer, getDeposits } = settings.fees;
  for (const rate of [transfer, resumedTransfer]) {
    if (rate.fixed < 0n || rate.ratePpm < 0n) throw new RangeError('fees must not be negative');
  }
  if (getDeposits < 0n) throw new RangeError('fees must not be negative');
}

/** The checks the wire codec already made, repeated so no caller can bypass them. */
function checkTransferBody(body: TransferBody): Refusal | undefined {
  if (!isEntityId(body.recipient)) return refuse('invalidRecipient', 'recipient must be 64 lowercase hex characters');
  if (body.amount <= 0n || body.amount > MAX_MINOR_UNITS) {
    return refuse('invalidAmount', 'amount must be greater than zero and at most 2^63-1 minor units');
  }
  if (!isTransactionId(body.transactionId)) {
    return refuse(
      'invalidTransactionId',
      `transactionId must be 1 to ${LIMITS.maxTransactionIdLength} printable ASCII characters other than < > &`,
    );
  }
  if (body.userid !== undefined && !isUserid(body.userid)) {
    return refuse('invalidUserid', `userid must be 1 to ${LIMITS.maxUseridLength} characters of [A-Za-z0-9._-]`);
  }
  return undefined;
}

export function createIssuerLedger(store: LedgerStore, settings: IssuerSettings): IssuerLedger {
  checkSettings(settings);
  const { treasury, issuanceCap, fees } = settings;
  const waiters = new DepositWaiters<DepositsOutcome>();
  // deposits committed by other nodes on a shared store wake this node's long-polls too
  const unsubscribe = store.onDeposits?.((recipients) => {
    if (recipients === 'all') waiters.wakeAll();
    else for (const recipient of recipients) waiters.wake(recipient);
  });
  const polls = new Set<Promise<unknown>>();
  let closing = false;
  let closed: Promise<void> | undefined;

  /** One code path for transfers and mints; `counter` undefined means "the sender's next". */
  async function runTransfer(
    sender: string,
    body: TransferBody,
    counter: bigint | undefined,
    resumed: boolean,
  ): Promise<TransferOutcome> {
    if (sender === FEE_ACCOUNT) throw new TypeError('the fee account cannot send');
    if (sender === body.recipient) return refuse('invalidRecipient', 'recipient must be another entity than the sender');
    const invalid = checkTransferBody(body);
    if (invalid) return invalid;
    if (counter !== undefined && (counter < 1n || counter > LIMITS.maxMessageCounter)) {
      return refuse('invalidCounter', 'messageCounter must be an integer from 1 to 2^63-1');
    }
    const bodyHash = transferBodyHash(body);
    // long-polls of the recipient answered inside this transfer's transaction, told after its commit
    const answered: Answered[] = [];
    const requery = (): void => {
      for (const { waiter } of answered.splice(0)) waiter.settle('woken');
    };

    let outcome: TransferOutcome;
    try {
      outcome = await store.transaction(async (tx): Promise<TransferOutcome> => {
        requery(); // a store that runs the work again has undone what the last attempt answered
        const account = await tx.account(sender);
        const lastCounter = account?.lastCounter ?? 0n;
        const messageCounter = counter ?? lastCounter + 1n;
        // A request is stored only with the sender's last counter raised to its own, so a counter
        // above the last one is new: only a lower or equal one can be a retransmission.
        const previous = messageCounter <= lastCounter ? await tx.findRequest(sender, messageCounter) : undefined;
        if (previous) {
          if (previous.bodyHash !== bodyHash) {
            return refuse('counterReused', `messageCounter ${messageCounter} was already used with a different request`);
          }
          return { response: { result: previous.result, fee: previous.fee }, replayed: true };
        }
        if (messageCounter <= lastCounter) {
          return refuse('counterTooLow', `messageCounter must be higher than ${lastCounter}`);
        }

        const balance = account?.balance ?? 0n;
        const fromTreasury = sender === treasury;
        const fee = fromTreasury ? 0n : transferFee(body.amount, resumed ? fees.resumedTransfer : fees.transfer);
        let result: TransferResult = 'success';
        if (fromTreasury) {
          if (balance - body.amount < -issuanceCap) result = 'issuanceCapExceeded';
        } else if (balance < body.amount + fee) {
          result = 'insufficientFunds';
        }
        if (result !== 'success') {
          // A definitive answer: it uses up the counter, and a retransmission gets it again.
          await tx.recordRequest(sender, messageCounter, { bodyHash, result, fee: 0n });
          return { response: { result, fee: 0n }, replayed: false };
        }
        await tx.recordTransfer({
          sender,
          recipient: body.recipient,
          amount: body.amount,
          fee,
          transactionId: body.transactionId,
          ...(body.userid !== undefined ? { userid: body.userid } : {}),
          counter: messageCounter,
          bodyHash,
          resumed,
        });
        answered.push(...(await answerWaiting(tx, body.recipient)));
        return { response: { result: 'success', fee }, replayed: false };
      }, { lock: [sender, body.recipient] });
    } catch (error) {
      requery();
      throw error;
    }

    // The commit is durable: only now may a long-poll see (and answer with) the deposit.
    for (const { waiter, answer } of answered) waiter.settle({ answer });
    if (!isRefusal(outcome) && !outcome.replayed && outcome.response.result === 'success') {
      waiters.wake(body.recipient);
    }
    return outcome;
  }

  /** Runs the waiting long-polls of `recipient` inside `tx`, each isolated: one that fails queries again later. */
  async function answerWaiting(tx: LedgerTx, recipient: string): Promise<Answered[]> {
    const answered: Answered[] = [];
    if (!tx.isolated) return answered;
    for (const waiter of waiters.claim(recipient)) {
      try {
        const answer = await tx.isolated(() => waiter.answer(tx));
        if (answer === 'wait') waiter.settle('woken');
        else answered.push({ waiter, answer });
      } catch {
        waiter.settle('woken');
      }
    }
    return answered;
  }

  async function pollDeposits(
    holder: string,
    request: GetDepositsRequest,
    signal: AbortSignal | undefined,
  ): Promise<DepositsOutcome> {
    const { acknowledge } = request;
    const wait = request.millisecondsWait;
    if (!Number.isFinite(wait) || wait < 0) return refuse('invalidWait', 'millisecondsWait must be a non-negative integer');
    if (acknowledge !== undefined && acknowledge < 0n) {
      return refuse('invalidAcknowledgement', 'acknowledge must be a sequence number');
    }
    const deadline = performance.now() + Math.min(wait, LIMITS.maxWaitMs);
    const paperMode = acknowledge === undefined;

    const mayWait = (): boolean => !closing && !signal?.aborted && deadline - performance.now() > 0;
    const answer = async (tx: LedgerTx): Promise<DepositsOutcome | 'wait'> => {
      // A holder who has hung up gets nothing, so nothing is written for it: no fee, no acknowledgement.
      if (signal?.aborted) return 'wait';
      const account = await tx.account(holder);
      const sequence = account?.depositSequence ?? 0n;
      if (acknowledge !== undefined && acknowledge > sequence) {
        return refuse('invalidAcknowledgement', `acknowledge ${acknowledge} is above the last deposit (${sequence})`);
      }
      const acknowledged = account?.acknowledged ?? 0n;
      const balance = account?.balance ?? 0n;
      const chargeable = holder === treasury || holder === FEE_ACCOUNT || balance <= 0n ? 0n : balance;
      const fee = fees.getDeposits < chargeable ? fees.getDeposits : chargeable;
      // Waiting writes nothing, so an abort during the wait leaves the account untouched.
      const answerEmpty = !mayWait();
      const deposits = await tx.deliverDeposits(holder, {
        after: acknowledge !== undefined && acknowledge > acknowledged ? acknowledge : acknowledged,
        limit: LIMITS.maxDepositsPerResponse,
        acknowledgeDelivered: paperMode, // paper mode: this reply delivers (and so acknowledges) what it carries
        fee,
        answerEmpty,
      });
      if (deposits.length === 0 && !answerEmpty) return 'wait';
      return { deposits, fee, balance: balance - fee };
    };

    for (;;) {
      if (signal?.aborted) return refuse('unavailable', 'the request was aborted before it was answered');
      // Register before querying: a deposit committed after the query still wakes this request.
      // A transfer to `holder` may also run `answer` in its own transaction while this waits.
      const waiter = waiters.register(holder, answer);
      try {
        const found = await store.transaction(answer, { lock: [holder] });
        if (found !== 'wait') return found;
        const end = await waiter.wait(deadline - performance.now(), signal);
        if (typeof end === 'object') return end.answer; // answered in the commit that brought the deposit
        if (end === 'aborted') return refuse('unavailable', 'the request was aborted before it was answered');
        // 'woken' or 'timeout': query again; past the deadline the query answers whatever it finds.
      } finally {
        waiter.cancel();
      }
    }
  }

  const ledger: IssuerLedger = {
    settings,

    transfer(command) {
      const { sender, request, resumed } = command;
      const body: TransferBody = {
        recipient: request.recipient,
        amount: request.amount,
        transactionId: request.transactionId,
        ...(request.userid !== undefined ? { userid: request.userid } : {}),
      };
      return runTransfer(sender, body, request.messageCounter, resumed);
    },

    mint(recipient: EntityId, amount: bigint, transactionId: string) {
      return runTransfer(treasury, { recipient, amount, transactionId }, undefined, false);
    },

    getDeposits(holder, request, signal) {
      const poll = pollDeposits(holder, request, signal);
      polls.add(poll);
      const forget = (): void => {
        polls.delete(poll);
      };
      poll.then(forget, forget);
      return poll;
    },

    async balance(account) {
      return (await store.account(account))?.balance ?? 0n;
    },

    statement(account, options) {
      return store.statement(account, options);
    },

    totals() {
      return store.totals(treasury);
    },

    close() {
      closed ??= (async () => {
        closing = true;
        unsubscribe?.();
        waiters.close();
        await Promise.allSettled([...polls]);
        await store.close();
      })();
      return closed;
    },
  };
  return ledger;
}
