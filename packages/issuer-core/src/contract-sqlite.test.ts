// The ledger contract (test-contract.ts) on the embedded default: SQLite files under os.tmpdir().
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { describeLedgerContract } from './test-contract.js';
import { closeAll, openLedger, tempDir } from './test-support.js';

afterEach(closeAll);

describeLedgerContract({
  name: 'SQLite',
  async open(overrides = {}, location = join(tempDir(), 'ledger.db')) {
    const { ledger, store } = openLedger(overrides, {}, location);
    return { ledger, store, location };
  },
});
