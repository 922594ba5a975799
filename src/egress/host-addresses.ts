import { networkInterfaces } from 'node:os';

/** How long one reading of the interfaces is reused: an address added to the host is guarded within this. */
const FRESH_MS = 1000;

let cached: { at: number; addresses: readonly string[] } | undefined;

/**
 * Every address of this machine, on every interface (loopback, the LAN, each engine bridge's
 * gateway): what answers there is the host itself, so the egress policy treats them as host-only.
 * Read again at most once a second, so interfaces that come and go (a new workspace network) are
 * covered without a restart; the same array is returned while it is fresh (the policy caches its
 * compiled form per array).
 */
export function hostAddresses(now = Date.now()): readonly string[] {
  if (cached === undefined || now - cached.at >= FRESH_MS) {
    const addresses = Object.values(networkInterfaces())
      .flatMap((entries) => entries ?? [])
      .map((entry) => entry.address.replace(/%.*$/, ''));
    const same = cached !== undefined && cached.addresses.length === addresses.length && cached.addresses.every((a, i) => a === addresses[i]);
    cached = { at: now, addresses: same && cached ? cached.addresses : Object.freeze(addresses) };
  }
  return cached.addresses;
}
