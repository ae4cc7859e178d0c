import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressProblem, postWebhook, WebhookAddressError } from './webhook-post.js';

describe('which addresses webhooks are posted to', () => {
  it.each([
    // cloud metadata services and link-local addresses, in every spelling that reaches them
    '169.254.169.254',
    '169.254.0.1',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '64:ff9b::a9fe:a9fe', // NAT64
    '64:ff9b::169.254.169.254',
    '::ffff:0:a9fe:a9fe', // IPv4-translated
    '64:ff9b:1::a9fe:a9fe', // NAT64 for local use
    '::169.254.169.254', // IPv4-compatible (deprecated)
    '100.100.100.200',
    'fd00:ec2::254',
    'fe80::1',
    'FE80::1%eth0',
    // unspecified, multicast, reserved, broadcast
    '0.0.0.0',
    '0.1.2.3',
    '::',
    '224.0.0.1',
    'ff02::1',
    '240.0.0.1',
    '255.255.255.255',
  ])('never to %s', (address) => {
    expect(addressProblem(address, 'private')).toMatch(/link-local, metadata, multicast or reserved/);
    expect(addressProblem(address, 'public')).toMatch(/link-local, metadata, multicast or reserved/);
  });

  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '::1',
    '::ffff:127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.254',
    '192.168.1.1',
    '100.64.0.1',
    'fd12:3456::1',
    '64:ff9b::10.0.0.1',
  ])("to %s (the server's networks) unless public addresses only", (address) => {
    expect(addressProblem(address, 'private')).toBeUndefined();
    expect(addressProblem(address, 'public')).toMatch(
      /private network or this host.*SMS_WEBHOOK_ADDRESSES=public/,
    );
  });

  it.each([
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '2001:4860:4860::8888',
    '64:ff9b::808:808',
    '::ffff:8.8.8.8',
  ])('to %s (public) always', (address) => {
    expect(addressProblem(address, 'private')).toBeUndefined();
    expect(addressProblem(address, 'public')).toBeUndefined();
  });
});

describe('postWebhook', () => {
  let port = 0;
  let posts = 0;
  const server = createServer((req, res) => {
    posts++;
    req.resume();
    req.on('end', () => res.writeHead(302, { location: 'http://169.254.169.254/' }).end('moved'));
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const post = (url: string, policy: 'private' | 'public') =>
    postWebhook(url, { 'content-type': 'application/json' }, '{}', {
      policy,
      signal: AbortSignal.timeout(5000),
    });

  it('answers the status and never follows a redirect', async () => {
    expect(await post(`http://127.0.0.1:${port}/hook`, 'private')).toBe(302);
    expect(posts).toBe(1);
  });

  it('refuses an address in the URL before connecting', async () => {
    await expect(post('http://169.254.169.254/latest/meta-data/', 'private')).rejects.toThrow(
      WebhookAddressError,
    );
    await expect(post('http://[::ffff:a9fe:a9fe]/', 'private')).rejects.toThrow(/169\.254|a9fe/);
    await expect(post(`http://127.0.0.1:${port}/hook`, 'public')).rejects.toThrow(/public addresses only/);
    expect(posts).toBe(1);
  });

  it("checks a name's addresses as each connection looks them up (none reused)", async () => {
    // localhost resolves to this host: posted to under `private`, refused under `public`, also
    // right after a post there (a kept-alive connection would skip the look-up)
    expect(await post(`http://localhost:${port}/hook`, 'private')).toBe(302);
    expect(posts).toBe(2);
    await expect(post(`http://localhost:${port}/hook`, 'public')).rejects.toThrow(
      /^localhost: .* is on a private network or this host/,
    );
    expect(posts).toBe(2);
  });

  it('answers the status without reading the body (a receiver that trickles one holds nothing)', async () => {
    let closed!: () => void;
    const gone = new Promise<void>((resolve) => (closed = resolve));
    const trickler = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 50);
      res.on('close', () => {
        clearInterval(timer);
        closed();
      });
    });
    await new Promise<void>((resolve) => trickler.listen(0, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      expect(await post(`http://127.0.0.1:${(trickler.address() as AddressInfo).port}/`, 'private')).toBe(
        200,
      );
      await gone;
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      trickler.closeAllConnections();
      await new Promise<void>((resolve) => trickler.close(() => resolve()));
    }
  });
});
