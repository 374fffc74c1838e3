// The ledger contract (test-contract.ts) on PostgreSQL: a real server in a container
// (test-postgres-setup.ts), a new schema per ledger.
import { afterEach, inject } from 'vitest';
import { createIssuerLedger } from './issuer.js';
import { openPostgresStore } from './postgres-store.js';
import { describeLedgerContract } from './test-contract.js';
import { createSchema } from './bench/postgres-container.js';
import { settings } from './test-support.js';
import type { IssuerLedger } from './types.js';

const open: IssuerLedger[] = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((ledger) => ledger.close()));
});

describeLedgerContract({
  name: 'PostgreSQL',
  async open(overrides = {}, location) {
    const connectionString = location ?? (await createSchema(inject('postgresUrl')));
    const store = await openPostgresStore({ connectionString, poolSize: 8 });
    const ledger = createIssuerLedger(store, settings(overrides));
    open.push(ledger);
    return { ledger, store, location: connectionString };
  },
});
