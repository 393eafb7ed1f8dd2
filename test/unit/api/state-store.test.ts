// The StateStore contract (state-store-contract.ts), run against every backend (state-backends.ts).
import { BACKENDS } from './state-backends.js';
import { stateStoreContract } from './state-store-contract.js';

for (const backend of Object.values(BACKENDS)) stateStoreContract(backend);
