// The StateStore contract (state-store-contract.ts), run against every backend that needs no server
// (state-backends.ts); test/integration/state-store-etcd.test.ts runs it against etcd.
import { BACKENDS } from './state-backends.js';
import { stateStoreContract } from './state-store-contract.js';

for (const backend of Object.values(BACKENDS)) if (!backend.server) stateStoreContract(backend);
