import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Which receivers' addresses webhooks are posted to (`SMS_WEBHOOK_ADDRESSES`):
 * - `private` (the default): public addresses and the server's own networks (loopback, 10/8,
 *   172.16/12, 192.168/16, 100.64/10, fc00::/7), where a receiver often is;
 * - `public`: public addresses only, for a server whose project admins should not reach its
 *   networks.
 * Never, whatever the setting: link-local addresses (169.254/16, fe80::/10: the cloud metadata
 * services that hand out a machine's credentials live there), the metadata addresses outside it
 * (100.100.100.200, fd00:ec2::254), unspecified, multicast and reserved ones.
 */
export const WEBHOOK_ADDRESS_POLICIES = ['private', 'public'] as const;
export type WebhookAddressPolicy = (typeof WEBHOOK_ADDRESS_POLICIES)[number];

function blockList(v4: [string, number][], v6: [string, number][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of v4) list.addSubnet(network, prefix, 'ipv4');
  for (const [network, prefix] of v6) list.addSubnet(network, prefix, 'ipv6');
  return list;
}

/** Addresses no webhook is posted to (BlockList matches IPv4-mapped IPv6 addresses too). */
const NEVER = blockList(
  [
    ['0.0.0.0', 8], // "this network"
    ['169.254.0.0', 16], // link-local: the metadata service of most clouds (169.254.169.254)
    ['100.100.100.200', 32], // Alibaba Cloud's metadata service
    ['192.0.0.0', 24], // IETF protocol assignments
    ['224.0.0.0', 4], // multicast
    ['240.0.0.0', 4], // reserved, and the broadcast address
  ],
  [
    ['::', 128], // unspecified
    ['fe80::', 10], // link-local
    ['fd00:ec2::254', 128], // AWS's metadata service over IPv6
    ['64:ff9b:1::', 48], // NAT64 for local use, which may translate to any IPv4 address (RFC 8215)
    ['ff00::', 8], // multicast
  ],
);

/** The server's own networks: refused under the `public` policy. */
const PRIVATE = blockList(
  [
    ['127.0.0.0', 8],
    ['10.0.0.0', 8],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
    ['100.64.0.0', 10], // shared address space (carrier-grade NAT, some clouds' internal services)
    ['198.18.0.0', 15], // benchmarking
  ],
  [
    ['::1', 128],
    ['fc00::', 7], // unique local
  ],
);

/**
 * The IPv4 address inside an IPv6 one that carries it to an IPv4 host: NAT64's well-known prefix
 * (64:ff9b::/96), IPv4-translated addresses (::ffff:0:0/96) and the deprecated IPv4-compatible form
 * (::/96). (IPv4-mapped addresses, ::ffff:0/96, BlockList matches itself.)
 */
function embeddedIpv4(address: string): string | undefined {
  let text = address.toLowerCase().replace(/%.*$/, '');
  // a trailing dotted quad is the last two words
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a = 0, b = 0, c = 0, d = 0] = quad.slice(1).map(Number);
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  if (fill < 0) return undefined;
  const w = [...left, ...Array<string>(fill).fill('0'), ...right].map((word) => Number.parseInt(word, 16));
  if (w.length !== 8 || w.some((word) => !(word >= 0 && word <= 0xffff))) return undefined;
  const nat64 = w[0] === 0x64 && w[1] === 0xff9b && w.slice(2, 6).every((word) => word === 0);
  const compatible = w.slice(0, 6).every((word) => word === 0) && (w[6] !== 0 || w[7]! > 1);
  const translated = w.slice(0, 4).every((word) => word === 0) && w[4] === 0xffff && w[5] === 0;
  if (!nat64 && !compatible && !translated) return undefined;
  return [w[6]! >> 8, w[6]! & 0xff, w[7]! >> 8, w[7]! & 0xff].join('.');
}

/** Why a webhook may not be posted to `address` under `policy`, or undefined when it may. */
export function addressProblem(address: string, policy: WebhookAddressPolicy): string | undefined {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  const inner = family === 'ipv6' ? embeddedIpv4(address) : undefined;
  const check = (list: BlockList) =>
    list.check(address, family) || (inner !== undefined && list.check(inner, 'ipv4'));
  if (check(NEVER))
    return `${address} is a link-local, metadata, multicast or reserved address, where webhooks are never posted (a cloud's metadata service, which hands out the server's credentials, lives there)`;
  if (policy === 'public' && check(PRIVATE))
    return `${address} is on a private network or this host, and this server posts webhooks to public addresses only (SMS_WEBHOOK_ADDRESSES=public)`;
  return undefined;
}

/** The receiver's address is one webhooks are not posted to. */
export class WebhookAddressError extends Error {
  override name = 'WebhookAddressError';
}

/**
 * A DNS look-up that answers only addresses `policy` allows: the check is made on the addresses
 * the connection then uses, so a name that resolves elsewhere the second time (DNS rebinding) is
 * caught too. Any refused address refuses the name.
 */
function guardedLookup(policy: WebhookAddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 4);
      for (const { address } of addresses) {
        const problem = addressProblem(address, policy);
        if (problem) return callback(new WebhookAddressError(`${hostname}: ${problem}`), '', 4);
      }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

/** The host of a URL without IPv6's brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Why `url`'s host, when it is an address, may not be posted to; a name is checked when the
 * delivery looks it up (its addresses can change).
 */
export function urlAddressProblem(url: URL, policy: WebhookAddressPolicy): string | undefined {
  const host = hostOf(url);
  return isIP(host) ? addressProblem(host, policy) : undefined;
}

/**
 * POSTs `body` to `url` and answers the status: no redirect followed, the answer's body discarded,
 * the receiver's address checked against `policy` (an address in the URL now, a name's addresses
 * as it is looked up for the connection).
 */
export async function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: { policy: WebhookAddressPolicy; signal: AbortSignal },
): Promise<number> {
  const target = new URL(url);
  const problem = urlAddressProblem(target, options.policy);
  if (problem) throw new WebhookAddressError(problem);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: guardedLookup(options.policy),
        // a connection of its own: a pooled one (the global agent's) would skip the look-up and
        // its check, and the global agent may send through a proxy (NODE_USE_ENV_PROXY), which
        // would look the name up itself
        agent: false,
        signal: options.signal,
      },
      (res: IncomingMessage) => {
        resolve(res.statusCode ?? 0);
        res.destroy(); // the answer's body is not read (a receiver that trickles one holds nothing)
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
