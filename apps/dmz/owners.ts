// The DMZ app's three kinds of flows, as owners of the controller's flow manager: the id each one's cookies carry
// (controller/cookie.ts) and the name it is registered under.
export const OWNER = { PIPELINE: 0xd0, LEASES: 0xd1, BLOCKS: 0xd2 } as const;

export const OWNER_NAMES = { pipeline: 'dmz-pipeline', leases: 'dmz-leases', blocks: 'dmz-blocks' } as const;

const NAME_BY_ID = new Map<number, string>([
  [OWNER.PIPELINE, OWNER_NAMES.pipeline],
  [OWNER.LEASES, OWNER_NAMES.leases],
  [OWNER.BLOCKS, OWNER_NAMES.blocks],
]);

/** The owner name of a DMZ owner id; undefined for another owner's. */
export function ownerName(ownerId: number): string | undefined {
  return NAME_BY_ID.get(ownerId);
}
