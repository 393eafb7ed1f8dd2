// The rate a lease carries on its path: a circuit's capacity is only worth declaring if the rates of its leases
// never sum past it (the core checks that: core/leases.ts), so every lease on such a circuit carries a rate.
import type { Circuit, Site } from './site.js';
import type { PathName } from './model.js';

/** The circuit a path names (undefined: the routed path). */
export function circuitOf(site: Site, path: PathName): Circuit | undefined {
  return path === 'routed' ? undefined : site.circuits.find((c) => `circuit:${c.name}` === path);
}

/**
 * The rate a lease carries: its own, or, on a circuit with a capacity, the policy's default for such leases (the
 * circuit's whole capacity when the policy gives none), so that every lease on such a circuit counts against it.
 */
export function leaseRate(site: Site, path: PathName, rateMbps: number | undefined): number | undefined {
  if (rateMbps !== undefined) return rateMbps;
  const circuit = circuitOf(site, path);
  if (!circuit || circuit.capacityMbps === 0) return undefined;
  return site.policy.circuitDefaultRateMbps ?? circuit.capacityMbps;
}
