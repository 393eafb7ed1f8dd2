// The project's copy of Ryu's OpenFlow 1.3 golden messages (test/fixtures/ryu-of13, see its README).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const RYU_GOLDENS = new URL('../fixtures/ryu-of13/', import.meta.url);
export const RYU_GOLDENS_DIR = fileURLToPath(RYU_GOLDENS);
export const RYU_PACKETS_DIR = fileURLToPath(new URL('packets/', RYU_GOLDENS));
export const RYU_JSON_DIR = fileURLToPath(new URL('json/', RYU_GOLDENS));

if (!existsSync(RYU_PACKETS_DIR) || !existsSync(RYU_JSON_DIR)) {
  throw new Error(`Ryu OpenFlow 1.3 goldens not found at ${RYU_GOLDENS_DIR} (expected packets/ and json/)`);
}
