// Every limit an issuer enforces, in one place, so the protocol document and the
// server cannot drift apart. See docs/protocol.md, "Limits".

export const LIMITS = {
  /** Largest request body accepted, in bytes; a transfer request is well under 1 KiB. */
  maxBodyBytes: 64 * 1024,
  /** Deepest element nesting accepted in a request (an LCP request needs 5). */
  maxXmlDepth: 16,
  /**
   * Character and entity references (&...;) in one request. An LCP request needs at most 128 (a
   * transactionId of quotes written as &quot;); a flood of them costs the XML parsers ~20 times a transfer.
   */
  maxReferences: 256,
  /** millisecondsWait above this is clamped to it. */
  maxWaitMs: 60_000,
  /** transactionId length. */
  maxTransactionIdLength: 128,
  /** userid length. */
  maxUseridLength: 64,
  /** Deposits returned by one getDepositsResponse; more wait for the next request. */
  maxDepositsPerResponse: 1000,
  /** Largest messageCounter (int64, as stored). */
  maxMessageCounter: 2n ** 63n - 1n,
} as const;
