import type { LookupFunction } from 'node:net';

/**
 * Resolves every name to 127.0.0.1: the demo and the tests run the paper's names (money.com,
 * bank.com, ...) on loopback, with certificates that still name them.
 */
export const loopbackLookup: LookupFunction = (_hostname, options, callback) => {
  if ((options as { all?: boolean }).all) {
    (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
      { address: '127.0.0.1', family: 4 },
    ]);
  } else {
    callback(null, '127.0.0.1', 4);
  }
};
