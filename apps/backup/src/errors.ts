// The errors a user can act on, each with a message that says what happened and what to do.
export { BudgetExhaustedError } from './spending.js';
export { PeerUnreachableError } from './peers.js';
export { TamperedError } from './sealing.js';
export { SecretFormatError } from './secret.js';

/** The secret does not open this backup (another user's, or mistyped). */
export class WrongSecretError extends Error {
  override name = 'WrongSecretError';
}

/** Fewer than k fragments of a chunk could be fetched. */
export class ChunkUnavailableError extends Error {
  override name = 'ChunkUnavailableError';
}

/** No set of peers meets the redundancy goal. */
export class NoPlanError extends Error {
  override name = 'NoPlanError';
}

/** A command was used the wrong way (unknown snapshot, not initialised, ...). */
export class UsageError extends Error {
  override name = 'UsageError';
}
