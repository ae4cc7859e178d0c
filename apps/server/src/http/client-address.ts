import { BlockList, isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { AppEnv } from './context.js';

/** An IPv4 address written as IPv6 (`::ffff:10.0.0.1`, how a dual-stack socket reports it), as IPv4. */
function plain(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped?.[1] ?? address;
}

function familyOf(address: string): 'ipv4' | 'ipv6' | undefined {
  const family = isIP(address);
  return family === 4 ? 'ipv4' : family === 6 ? 'ipv6' : undefined;
}

/**
 * The reason an `SMS_TRUSTED_PROXIES` entry is not an address or a network
 * (`10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`), or undefined when it is one.
 */
export function trustedProxyProblem(entry: string): string | undefined {
  const [address = '', prefix, extra] = entry.split('/');
  const family = familyOf(address);
  if (family === undefined || extra !== undefined)
    return `${JSON.stringify(entry)} is not an IP address or a network like 10.0.0.0/8`;
  const max = family === 'ipv4' ? 32 : 128;
  if (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= max))
    return `${JSON.stringify(entry)}: the prefix length must be 0..${max}`;
  return undefined;
}

/** The proxies whose `X-Forwarded-For` is believed; entries checked by `trustedProxyProblem`. */
export function trustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [written = '', prefix] = entry.split('/');
    const address = prefix === undefined ? plain(written) : written;
    const family = familyOf(address) ?? 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

/**
 * The client's address: the connection's peer, unless that peer is a trusted proxy; then the
 * `X-Forwarded-For` entries are read from the right (each proxy appends the address it saw) and
 * the first one that is not itself a trusted proxy is the client. A client cannot forge its way
 * past this: whatever it writes into the header stands left of what the first trusted proxy
 * appended. An entry that is not an IP address stops the walk at the last trusted hop.
 */
export function resolveClientAddress(
  peer: string,
  forwardedFor: string | undefined,
  trusted: BlockList | undefined,
): string {
  let address = plain(peer);
  if (trusted === undefined || forwardedFor === undefined) return address;
  const hops = forwardedFor.split(',').map((hop) => plain(hop.trim()));
  for (;;) {
    const family = familyOf(address);
    if (family === undefined || !trusted.check(address, family)) return address;
    const next = hops.pop();
    if (next === undefined || familyOf(next) === undefined) return address;
    address = next;
  }
}

/**
 * The address that sign-in limits count by: see `resolveClientAddress`. Without
 * `SMS_TRUSTED_PROXIES` it is the connection's peer and `X-Forwarded-For` is ignored.
 */
export function clientAddress(c: Context<AppEnv>): string {
  let peer: string | undefined;
  try {
    peer = getConnInfo(c).remote.address;
  } catch {
    // no socket: an in-process request
  }
  if (peer === undefined) return 'unknown';
  return resolveClientAddress(peer, c.req.header('x-forwarded-for'), c.get('deps').trustedProxies);
}
