import { describe, expect, it } from 'vitest';
import { resolveClientAddress, trustedProxies } from './client-address.js';

const proxies = trustedProxies(['10.0.0.0/8', '::1', '192.0.2.7', 'fd00::/8']);

describe('resolveClientAddress', () => {
  it.each([
    // [peer, X-Forwarded-For, client]
    ['203.0.113.5', undefined, '203.0.113.5'],
    ['::ffff:203.0.113.5', undefined, '203.0.113.5'], // a dual-stack socket's IPv4 peer
    ['203.0.113.5', '198.51.100.1', '203.0.113.5'], // an untrusted peer's header is ignored
    ['10.1.2.3', '198.51.100.1', '198.51.100.1'], // one trusted proxy
    ['::ffff:10.1.2.3', '198.51.100.1', '198.51.100.1'],
    ['10.1.2.3', undefined, '10.1.2.3'], // a trusted proxy that sent no header: itself
    ['10.1.2.3', '6.6.6.6, 198.51.100.1', '198.51.100.1'], // what the client wrote stays left
    ['10.1.2.3', '198.51.100.1, 192.0.2.7', '198.51.100.1'], // two trusted proxies in a row
    ['::1', '2001:db8::5, fd12::1', '2001:db8::5'],
    ['10.1.2.3', '10.9.9.9, 10.8.8.8', '10.9.9.9'], // every hop trusted: the farthest
    ['10.1.2.3', 'garbage', '10.1.2.3'], // not an address: the last trusted hop
    ['10.1.2.3', '198.51.100.1:4711', '10.1.2.3'], // with a port: not an address either
    ['10.1.2.3', '', '10.1.2.3'],
    ['11.0.0.1', '198.51.100.1', '11.0.0.1'], // just outside 10.0.0.0/8
  ])('peer %s, X-Forwarded-For %j: %s', (peer, forwardedFor, client) => {
    expect(resolveClientAddress(peer, forwardedFor, proxies)).toBe(client);
  });

  it('ignores X-Forwarded-For when no proxy is trusted (the default)', () => {
    expect(resolveClientAddress('10.1.2.3', '198.51.100.1', undefined)).toBe('10.1.2.3');
    expect(resolveClientAddress('10.1.2.3', '198.51.100.1', trustedProxies([]))).toBe('10.1.2.3');
  });

  it('trusts a single address written as IPv4-in-IPv6 like the plain one', () => {
    expect(resolveClientAddress('127.0.0.1', '198.51.100.1', trustedProxies(['::ffff:127.0.0.1']))).toBe(
      '198.51.100.1',
    );
  });
});
