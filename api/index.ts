// The API's public surface, for bin/dmzgate.ts and tests.
export { buildApi, type ApiOptions } from './server.js';
export { openJournalStore, readState, JournalStateStore, STATE_FILE, JOURNAL_FILE, type JournalStoreOptions } from './state/journal-store.js';
export { openEtcdStore, EtcdStateStore, type EtcdStoreOptions } from './state/etcd-store.js';
export { parseEtcdUrl } from './state/etcd-keys.js';
export type { StateStore, StateBackend, StateRecord, Snapshot, CommittedBatch, CommitOptions } from './state/state-store.js';
export { StateView } from './state/state-view.js';
export { SCOPES, type Scope, type TokenRecord, type AuditEntry, type StoredEvent } from './state/types.js';
export { createToken, revokeToken, listTokens, validateTokenSpec, type TokenSpec } from './tokens.js';
export { ApiError, ERRORS, ERROR_CODES, errorsMarkdown, type ErrorCode } from './errors.js';
export { EVENTS_PATH, WS_PROTOCOL } from './events.js';
