// The paper's four messages (section 3), typed. Amounts are minor units; counters are bigint.
import type { TransferResult } from './codes.js';
import type { EntityId } from './entity-id.js';

export interface TransferFundsRequest {
  recipient: EntityId;
  amount: bigint;
  transactionId: string;
  messageCounter: bigint;
  /** Extension (opaque banking): the recipient's customer name at a bank. */
  userid?: string;
}

export interface TransferFundsResponse {
  result: TransferResult;
  fee: bigint;
}

export interface GetDepositsRequest {
  /** Already clamped to LIMITS.maxWaitMs when decoded by an issuer. */
  millisecondsWait: number;
  /** Extension: every deposit up to this sequence was processed; deliver only later ones. */
  acknowledge?: bigint;
}

export interface Deposit {
  transactionId: string;
  amount: bigint;
  userid?: string;
  /** Extension: the deposit's number in the recipient's journal (1, 2, 3, ...). */
  sequence?: bigint;
}

export interface GetDepositsResponse {
  deposits: Deposit[];
  fee: bigint;
  balance: bigint;
}
