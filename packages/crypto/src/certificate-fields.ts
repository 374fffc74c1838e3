import type { JsonName } from '@peculiar/x509';

const DAY_MS = 24 * 60 * 60 * 1000;
// Backdating absorbs small clock differences between the signer and the verifier.
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Longest commonName X.520 allows (ub-common-name); an entity id is exactly this long. */
export const MAX_COMMON_NAME_LENGTH = 64;

export function validityPeriod(validDays: number, now = Date.now()): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(validDays) || validDays <= 0) {
    throw new RangeError(`validDays must be a positive number, got ${validDays}`);
  }
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + validDays * DAY_MS) };
}

// A structured name, not an "CN=..." string, so commas or equals signs in a name are never parsed as syntax.
export function commonNameSubject(commonName: string): JsonName {
  if (commonName.length === 0 || commonName.length > MAX_COMMON_NAME_LENGTH) {
    throw new RangeError(`A commonName must be 1 to ${MAX_COMMON_NAME_LENGTH} characters, got ${commonName.length}`);
  }
  return [{ CN: [commonName] }];
}
