import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.js';

const base = { LCP_STORAGE_HOME: '/var/lib/bob', LCP_STORAGE_CURRENCY_WSDL: 'http://money.com/lcp.wsdl' };

describe('storage node configuration', () => {
  it("defaults to the paper's contract: 10 for 1 MB, 1 per KB written, 4 per KB read, two weeks", () => {
    const config = parseConfig(base);
    expect(config.prices).toEqual({ contract: 10_00n, writePerKb: 1_00n, readPerKb: 4_00n });
    expect(config.contractBytes).toBe(1024 * 1024);
    expect(config.contractSeconds).toBe(14 * 24 * 3600);
    expect(config.databasePath).toBe('/var/lib/bob/storage.sqlite');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names the variable that is wrong', () => {
    const bad: [Record<string, string>, string][] = [
      [{ LCP_STORAGE_CONTRACT_PRICE: 'ten' }, 'LCP_STORAGE_CONTRACT_PRICE'],
      [{ LCP_STORAGE_READ_PRICE_PER_KB: '0.001' }, 'LCP_STORAGE_READ_PRICE_PER_KB'],
      [{ LCP_STORAGE_WRITE_PRICE_PER_KB: '0' }, 'LCP_STORAGE_WRITE_PRICE_PER_KB'],
      [{ LCP_STORAGE_PORT: 'https' }, 'LCP_STORAGE_PORT'],
      [{ LCP_STORAGE_PAYEE: 'bank' }, 'LCP_STORAGE_BANK_NAME'],
      [{ LCP_STORAGE_PAYEE: 'agent' }, 'LCP_STORAGE_AGENT_TOKEN'],
      [{ LCP_STORAGE_CONTRACT_BYTES: '2048', LCP_STORAGE_CAPACITY_BYTES: '1024' }, 'LCP_STORAGE_CONTRACT_BYTES'],
      [{ LCP_STORAGE_PUBLIC_URL: 'http://bob.example' }, 'LCP_STORAGE_PUBLIC_URL'],
    ];
    for (const [settings, variable] of bad) {
      expect(() => parseConfig({ ...base, ...settings })).toThrow(ConfigError);
      expect(() => parseConfig({ ...base, ...settings })).toThrow(variable);
    }
    expect(() => parseConfig({})).toThrow('LCP_STORAGE_HOME');
  });
});
