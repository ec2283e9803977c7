/**
 * Client source addresses on loopback. One source address has about 28k
 * ephemeral ports (`/proc/sys/net/ipv4/ip_local_port_range`) towards one
 * server port, and our server counts connections per client address
 * (`max_connections_per_ip`); spreading clients over 127.0.0.2, 127.0.0.3, …
 * avoids both limits. Linux routes all of 127.0.0.0/8 to the loopback
 * interface, so these need no set-up.
 */

/** The first source address; 127.0.0.1 is left to the servers. */
const FIRST_HOST = 2;
/** The last usable host number of 127.0.0.0/24 (255 is the broadcast address). */
const LAST_HOST = 254;

export function sourceAddresses(count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > LAST_HOST - FIRST_HOST + 1) {
    throw new RangeError(`source address count must be 1..${LAST_HOST - FIRST_HOST + 1}`);
  }
  return Array.from({ length: count }, (_, i) => `127.0.0.${FIRST_HOST + i}`);
}
