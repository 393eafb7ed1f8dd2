// The StateStore backends the contract suite (state-store-contract.ts) runs against, by name: the test process
// and its kill -9 children (fixtures/state-batch-hammer.ts) open them the same way.
import { openJournalStore } from '../../../api/state/journal-store.js';
import type { StateStore } from '../../../api/state/state-store.js';

export interface BackendUnderTest {
  name: string;
  /** Opens (creating it if needed) the store kept under `dir`. */
  open(dir: string): Promise<StateStore>;
}

export const BACKENDS: Record<string, BackendUnderTest> = {
  // fsync off: these tests kill processes, they do not cut power (store.test.ts covers the fsyncs).
  journal: { name: 'journal', open: (dir) => openJournalStore(dir, { fsync: false, foldBytes: 64 * 1024, foldIdleMs: 0 }) },
};
