// The issuer's domain API and its storage port. The domain (issuer.ts) holds every rule;
// a storage adapter (SQLite, PostgreSQL) only reads and writes rows inside a
// transaction, so a new adapter never touches the rules.
import type {
  Deposit,
  EntityId,
  FaultCode,
  GetDepositsRequest,
  GetDepositsResponse,
  TransferFundsRequest,
  TransferFundsResponse,
  TransferResult,
} from '@lcp/protocol';

/** The account that collects transfer and getDeposits fees. Not a key, so no holder can own it. */
export const FEE_ACCOUNT = 'fees';

export interface FeeRate {
  /** Minor units added to every transfer. */
  fixed: bigint;
  /** Proportional part in parts per million of the amount, rounded up to a whole minor unit. */
  ratePpm: bigint;
}

export interface FeeSchedule {
  /** A transfer whose connection began with a full TLS handshake. */
  transfer: FeeRate;
  /** A transfer over a resumed TLS session or a kept-alive connection (the paper's incentive). */
  resumedTransfer: FeeRate;
  /** Charged per getDepositsResponse, capped at the holder's balance (never below zero). */
  getDeposits: bigint;
}

export interface IssuerSettings {
  /** The issuer's own entity id: its treasury account, which mints by transferring. */
  treasury: EntityId;
  /** Digits after the decimal point for this currency. */
  scale: number;
  /** How far below zero the treasury may go, in minor units (the most currency in circulation). */
  issuanceCap: bigint;
  fees: FeeSchedule;
}

export interface TransferCommand {
  /** The authenticated sender: the TLS client certificate's entity id. */
  sender: EntityId;
  request: TransferFundsRequest;
  /** The request travelled over a resumed session or a reused connection. */
  resumed: boolean;
}

/** A fault refuses the request and changes nothing; a response is durable before it is returned. */
export type Refusal = { fault: FaultCode; detail: string };
export type TransferOutcome = { response: TransferFundsResponse; replayed: boolean } | Refusal;
export type DepositsOutcome = GetDepositsResponse | Refusal;

export type EntryKind = 'transfer' | 'fee' | 'getDepositsFee';

/** One line of an account statement: every balance change is one entry. */
export interface StatementEntry {
  /** The journal row it comes from (a transfer with a fee gives its sender two lines of one row). */
  id: bigint;
  account: string;
  /** Positive for credits, negative for debits, minor units. */
  delta: bigint;
  kind: EntryKind;
  /** The other side: the sender for a credit, the recipient for a debit, the payer for fee income. */
  counterparty: string;
  transactionId: string | null;
  transferId: bigint | null;
  at: Date;
}

export interface LedgerTotals {
  /** Sum of every balance, treasury and fee account included: zero at every commit. */
  sum: bigint;
  /** Accounts of entities (the fee account not counted). */
  accounts: number;
  transfers: number;
  treasuryBalance: bigint;
  feeBalance: bigint;
  /** Accounts other than the treasury whose balance is below zero: always empty. */
  negativeAccounts: string[];
}

// ---- storage port -------------------------------------------------------

export interface StoredRequest {
  bodyHash: string;
  result: TransferResult;
  fee: bigint;
}

export interface AccountState {
  balance: bigint;
  /** Highest messageCounter used by this account as a sender, 0n if none. */
  lastCounter: bigint;
  /** Highest deposit sequence assigned to this account, 0n if none. */
  depositSequence: bigint;
  /** Highest deposit sequence acknowledged (or delivered, for paper-only clients). */
  acknowledged: bigint;
}

export interface NewTransfer {
  sender: string;
  recipient: string;
  amount: bigint;
  fee: bigint;
  transactionId: string;
  userid?: string;
  counter: bigint;
  bodyHash: string;
  resumed: boolean;
}

/** What one getDeposits answer delivers; see LedgerTx.deliverDeposits. */
export interface Delivery {
  after: bigint;
  limit: number;
  acknowledgeDelivered: boolean;
  fee: bigint;
  answerEmpty: boolean;
}

/** Rows read and written inside one transaction. Every method sees the transaction's own writes. */
export interface LedgerTx {
  account(id: string): Promise<AccountState | undefined>;
  findRequest(sender: string, counter: bigint): Promise<StoredRequest | undefined>;
  /** Stores a counted request that moved nothing (e.g. insufficientFunds) and advances lastCounter. */
  recordRequest(sender: string, counter: bigint, stored: StoredRequest): Promise<void>;
  /**
   * Commits a transfer: debits sender amount+fee, credits recipient amount (creating the
   * account), credits the fee account, appends the recipient's deposit with the next
   * sequence, stores the request as `success` and advances the sender's lastCounter.
   */
  recordTransfer(transfer: NewTransfer): Promise<{ transferId: bigint; sequence: bigint }>;
  /**
   * Writes one getDeposits answer and returns the deposits it carries: those of `holder` with
   * sequence > `after`, oldest first, at most `limit`. It raises the holder's acknowledgement
   * to `after` (to the last deposit returned, if `acknowledgeDelivered` and any) and moves `fee`
   * from the holder to the fee account. If no deposit is found and `answerEmpty` is false, it
   * writes nothing (the long-poll waits). One step, so a store may make it one statement.
   */
  deliverDeposits(holder: string, delivery: Delivery): Promise<Array<Deposit & { sequence: bigint }>>;
  /**
   * Runs `work` (which uses this tx) so that if it throws, only its own writes are undone, and
   * rethrows. A store that has it lets a transfer answer its recipient's waiting long-poll in
   * the transfer's own commit; without it, the long-poll queries again after that commit.
   */
  isolated?<T>(work: () => Promise<T>): Promise<T>;
}

export interface TransactionOptions {
  /**
   * The accounts the work may write. A store with row locks (PostgreSQL) locks those that
   * exist first, in ascending id order, so that no two works wait for each other in a cycle.
   */
  lock?: readonly string[];
}

/** Told which recipients got deposits committed elsewhere (another node), or 'all' when unknown. */
export type DepositListener = (recipients: readonly string[] | 'all') => void;

export interface LedgerStore {
  /**
   * Runs `work` in one transaction and resolves after a durable commit. Concurrent calls
   * may share one commit (group commit); each still commits or rolls back on its own. A
   * store may run a work more than once (after a deadlock or a serialization failure): works
   * are functions of what they read and keep nothing from an attempt that did not commit.
   */
  transaction<T>(work: (tx: LedgerTx) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * For stores shared by several issuer processes: `listener` hears of deposits other
   * processes committed, so their long-polls wake here too. Returns an unsubscribe function.
   */
  onDeposits?(listener: DepositListener): () => void;
  /** The account as last committed, read outside the write queue and without a lock. */
  account(id: string): Promise<AccountState | undefined>;
  statement(account: string, options?: { afterId?: bigint; limit?: number }): Promise<StatementEntry[]>;
  totals(treasury: string): Promise<LedgerTotals>;
  close(): Promise<void>;
}

export interface IssuerLedger {
  readonly settings: IssuerSettings;
  transfer(command: TransferCommand): Promise<TransferOutcome>;
  /**
   * Long-polls up to request.millisecondsWait; `signal` aborts the wait (shutdown, client gone).
   * An aborted request answers the fault `unavailable` and changes nothing (no fee, no acknowledgement).
   */
  getDeposits(holder: EntityId, request: GetDepositsRequest, signal?: AbortSignal): Promise<DepositsOutcome>;
  /** Issuance: a transfer from the treasury, with the treasury's next counter. */
  mint(recipient: EntityId, amount: bigint, transactionId: string): Promise<TransferOutcome>;
  balance(account: string): Promise<bigint>;
  statement(account: string, options?: { afterId?: bigint; limit?: number }): Promise<StatementEntry[]>;
  totals(): Promise<LedgerTotals>;
  /** Wakes every long-poll (they answer with what they have) and closes the store. */
  close(): Promise<void>;
}
