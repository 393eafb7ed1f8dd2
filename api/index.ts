// The API's public surface, for bin/dmzgate.ts and tests.
export { buildApi, type ApiOptions } from './server.js';
export { openStore, readState, Store, STATE_FILE, JOURNAL_FILE, SCOPES, type Scope, type TokenRecord, type AuditEntry, type StoredEvent, type StoreOptions } from './store.js';
export { createToken, revokeToken, listTokens, validateTokenSpec, type TokenSpec } from './tokens.js';
export { ApiError, ERRORS, ERROR_CODES, errorsMarkdown, type ErrorCode } from './errors.js';
export { EVENTS_PATH, WS_PROTOCOL } from './events.js';
