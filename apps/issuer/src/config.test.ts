// The store is chosen by configuration: LCP_DATABASE_URL selects PostgreSQL, its absence SQLite.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.js';

const base = { LCP_DOMAIN: 'money.com', LCP_DATABASE: 'ledger.sqlite', LCP_IDENTITY_KEY: 'k', LCP_TLS_CERT: 'c', LCP_TLS_KEY: 'k' };

describe('store selection', () => {
  it('uses SQLite when no LCP_DATABASE_URL is set', () => {
    const config = parseConfig(base);
    expect(config.postgres).toBeUndefined();
    expect(config.databasePath).toBe('ledger.sqlite');
  });

  it('uses PostgreSQL with durable defaults when LCP_DATABASE_URL is set', () => {
    const config = parseConfig({ ...base, LCP_DATABASE_URL: 'postgres://lcp:pw@db:5432/money', LCP_NODE_ID: 'node-a' });
    expect(config.postgres).toEqual({
      url: 'postgres://lcp:pw@db:5432/money',
      poolSize: 32,
      writers: 2,
      allowNonDurable: false,
      nodeId: 'node-a',
      ticketKeyRotationS: 3600,
    });
    expect(parseConfig({ ...base, LCP_DATABASE_URL: 'postgresql://db/money', LCP_ALLOW_NON_DURABLE: 'true' }).postgres)
      .toMatchObject({ allowNonDurable: true });
    expect(parseConfig({ ...base, LCP_DATABASE_URL: 'postgres://db/money', LCP_DATABASE_WRITERS: '0' }).postgres)
      .toMatchObject({ writers: 0 });
  });

  it('names the variable that is wrong', () => {
    expect(() => parseConfig({ ...base, LCP_DATABASE_URL: 'mysql://db/money' })).toThrow(ConfigError);
    expect(() => parseConfig({ ...base, LCP_DATABASE_URL: 'mysql://db/money' })).toThrow(/LCP_DATABASE_URL/);
    expect(() => parseConfig({ ...base, LCP_ALLOW_NON_DURABLE: 'yes' })).toThrow(/LCP_ALLOW_NON_DURABLE/);
    expect(() => parseConfig({ ...base, LCP_TICKET_KEY_ROTATION_S: '1' })).toThrow(/LCP_TICKET_KEY_ROTATION_S/);
  });
});
