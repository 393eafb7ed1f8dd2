// The StateStore backends the contract suite (state-store-contract.ts) runs against, by name: the test process
// and its kill -9 children (fixtures/state-batch-hammer.ts) open them the same way.
import { createHash } from 'node:crypto';
import { openEtcdStore } from '../../../api/state/etcd-store.js';
import { openJournalStore } from '../../../api/state/journal-store.js';
import type { StateStore } from '../../../api/state/state-store.js';

/** Where the etcd backend's server is (`http://HOST:PORT,...`): set by the suite that starts a private etcd. */
export const ETCD_ENDPOINTS_ENV = 'DMZGATE_TEST_ETCD';

export interface BackendUnderTest {
  name: string;
  /** Opens (creating it if needed) the store kept under `dir`. */
  open(dir: string): Promise<StateStore>;
  /** A server it needs (test/integration starts it), or none: then the unit suite runs it. */
  server?: 'etcd';
}

export const BACKENDS: Record<string, BackendUnderTest> = {
  // fsync off: these tests kill processes, they do not cut power (store.test.ts covers the fsyncs).
  journal: { name: 'journal', open: (dir) => openJournalStore(dir, { fsync: false, foldBytes: 64 * 1024, foldIdleMs: 0 }) },
  // Each `dir` is a site of its own: a prefix named after it, in the etcd the suite started.
  etcd: {
    name: 'etcd',
    server: 'etcd',
    open: (dir) => {
      const hosts = process.env[ETCD_ENDPOINTS_ENV]?.split(',');
      if (!hosts) throw new Error(`the etcd backend needs ${ETCD_ENDPOINTS_ENV} (test/integration/state-store-etcd.test.ts starts a private etcd)`);
      return openEtcdStore({ hosts, prefix: `/dmzgate/test-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}/` });
    },
  },
};
