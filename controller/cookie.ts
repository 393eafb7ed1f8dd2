// Flow cookies that name their owner. A cookie is opaque to the switch, and flow-stats requests and deletes select
// flows by cookie under a cookie mask (OF1.3.5 §7.3.4.1, §7.3.5.2), so one owner's flows, or a range of its ids,
// are one request: the owner's id in the top 16 bits, the owner's own id (e.g. a lease number) in the low 48.

const OWNER_SHIFT = 48n;
/** The cookie mask that selects an owner's flows. */
export const OWNER_MASK = 0xffffn << OWNER_SHIFT;
/** The owner's own id within a cookie. */
export const ID_MASK = (1n << OWNER_SHIFT) - 1n;

/** The cookie of an owner's flow: `ownerId` (1..0xfffe) in the top 16 bits, `id` (48 bits) below. */
export function ownerCookie(ownerId: number, id: bigint | number = 0n): bigint {
  if (!Number.isInteger(ownerId) || ownerId < 1 || ownerId > 0xfffe) throw new RangeError(`owner id ${ownerId} is not in 1..0xfffe`);
  const low = BigInt(id);
  if (low < 0n || low > ID_MASK) throw new RangeError(`cookie id ${low} does not fit 48 bits`);
  return (BigInt(ownerId) << OWNER_SHIFT) | low;
}

export function ownerIdOf(cookie: bigint): number {
  return Number(cookie >> OWNER_SHIFT);
}

/** The owner's own id in a cookie (48 bits: exact as a number). */
export function cookieId(cookie: bigint): number {
  return Number(cookie & ID_MASK);
}

/**
 * The owner id of staged flows (staged-flows.ts): one ownerCookie() never issues, so no owner declares them and a
 * full reconcile deletes them.
 */
const STAGING_OWNER = 0xffffn << OWNER_SHIFT;

/** The cookie of staged flows numbered `id` (1 .. 2^48 - 2: the all-ones cookie is reserved, OF1.3.5 §7.3.4.1). */
export function stagingCookie(id: bigint): bigint {
  if (id < 1n || id >= ID_MASK) throw new RangeError(`staging id ${id} is not in 1..2^48-2`);
  return STAGING_OWNER | id;
}

export function isStagingCookie(cookie: bigint): boolean {
  return (cookie & OWNER_MASK) === STAGING_OWNER;
}
