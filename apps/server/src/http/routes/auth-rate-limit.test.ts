import { ErrorResponseSchema, passwordTokenRequest } from '@sms/domain';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dashboardBrowser } from '../../test-support/dashboard.js';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../../testing/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ signInLimits: { perUser: 3, perAddress: 8, windowSeconds: 60 } });
  await t.services.users.addUser('other', 'other-password', 'default', 'agent');
});
afterAll(() => t.close());

const signIn = (user: string, password: string) =>
  t.request('/v3/auth/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(passwordTokenRequest({ user, password, project: 'default' })),
  });

describe('the sign-in limit (POST /v3/auth/tokens)', () => {
  it('refuses a user after too many failures with 429 SMS.9005 and Retry-After, even with the right password', async () => {
    for (let i = 0; i < 3; i++) expect((await signIn('admin', 'wrong-password')).status).toBe(401);
    const limited = await signIn('admin', ADMIN_PASSWORD);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    const body = v.parse(ErrorResponseSchema, await limited.json());
    expect(body.error_code).toBe('SMS.9005');
    expect(body.error_msg).toMatch(/^Too many failed sign-ins for this user; try again in \d+ s\.$/);
  });

  it('keeps other users signing in', async () => {
    expect((await signIn('other', 'other-password')).status).toBe(201);
  });

  it('lets the user in again when the window has passed, and a success clears its count', async () => {
    t.advanceClock(61_000);
    expect((await signIn('admin', ADMIN_PASSWORD)).status).toBe(201);
    for (let i = 0; i < 2; i++) expect((await signIn('admin', 'wrong-password')).status).toBe(401);
    expect((await signIn('admin', ADMIN_PASSWORD)).status).toBe(201);
    expect((await signIn('admin', 'wrong-password')).status).toBe(401);
    expect((await signIn('admin', ADMIN_PASSWORD)).status).toBe(201);
  });

  it('lifts a lockout when an operator sets a new password (sms-server user passwd), or removes the user', async () => {
    t.advanceClock(61_000);
    await t.services.users.addUser('locked', 'locked-password', 'default', 'agent');
    for (let i = 0; i < 3; i++) expect((await signIn('locked', 'wrong-password')).status).toBe(401);
    expect((await signIn('locked', 'locked-password')).status).toBe(429);
    await t.services.users.setPassword('locked', 'a-new-password');
    expect((await signIn('locked', 'a-new-password')).status).toBe(201);
    // a user removed while locked out, and added again under its name, starts with no failures
    for (let i = 0; i < 3; i++) expect((await signIn('locked', 'wrong-password')).status).toBe(401);
    await t.services.users.removeUser('locked');
    await t.services.users.addUser('locked', 'locked-password', 'default', 'agent');
    expect((await signIn('locked', 'locked-password')).status).toBe(201);
  });

  it('does not honour a right password whose guesses, sent at once, were counted past the limit meanwhile', async () => {
    t.advanceClock(61_000);
    // as a burst of guesses does: the failures of the others are counted while this one's password
    // is hashed (after its check of the limit, which saw none)
    const store = t.storage.signIn;
    const failures = store.failures.bind(store);
    const spy = vi.spyOn(store, 'failures').mockImplementationOnce(async (...args) => {
      const seen = await failures(...args);
      for (let i = 0; i < 3; i++) await store.countFailure(['user:admin'], t.services.clock!(), 60_000);
      return seen;
    });
    try {
      const right = await signIn('admin', ADMIN_PASSWORD);
      expect(right.status).toBe(429);
      expect(v.parse(ErrorResponseSchema, await right.json()).error_msg).toMatch(/for this user/);
    } finally {
      spy.mockRestore();
    }
    // the burst's failures still hold the user back, as three guesses in a row would
    expect((await signIn('admin', ADMIN_PASSWORD)).status).toBe(429);
  });

  it('limits an address across users', async () => {
    t.advanceClock(61_000);
    // 8 failures from one address, spread over users that each stay under their own limit
    for (const user of ['u1', 'u2', 'u3', 'u4']) {
      for (let i = 0; i < 2; i++) expect((await signIn(user, 'nope-nope')).status).toBe(401);
    }
    const limited = await signIn('other', 'other-password');
    expect(limited.status).toBe(429);
    expect(v.parse(ErrorResponseSchema, await limited.json()).error_msg).toMatch(/from this address/);
  });
});

describe('the sign-in limit behind a trusted reverse proxy (SMS_TRUSTED_PROXIES)', () => {
  let p: TestApp;
  beforeAll(async () => {
    p = await createTestApp({
      signInLimits: { perUser: 100, perAddress: 4, windowSeconds: 60 },
      trustedProxies: ['10.0.0.0/8'],
    });
  });
  afterAll(() => p.close());

  const via = (peer: string, forwardedFor: string | undefined, password: string) =>
    p.request(
      '/v3/auth/tokens',
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
        },
        body: JSON.stringify(passwordTokenRequest({ user: 'admin', password, project: 'default' })),
      },
      peer,
    );

  it('counts failures by the client the proxy names, so one guesser does not lock out the others', async () => {
    for (let i = 0; i < 4; i++)
      expect((await via('10.0.0.2', '203.0.113.9', 'wrong-password')).status).toBe(401);
    expect((await via('10.0.0.2', '203.0.113.9', ADMIN_PASSWORD)).status).toBe(429);
    // what the guesser writes into the header itself stands left of what the proxy appended
    expect((await via('10.0.0.2', '1.2.3.4, 203.0.113.9', ADMIN_PASSWORD)).status).toBe(429);
    // another client behind the same proxy
    expect((await via('10.0.0.2', '198.51.100.20', ADMIN_PASSWORD)).status).toBe(201);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    // a client that talks to the server directly cannot dodge the limit by inventing addresses
    for (let i = 0; i < 4; i++) {
      expect((await via('192.0.2.50', `198.51.100.${100 + i}`, 'wrong-password')).status).toBe(401);
    }
    const limited = await via('192.0.2.50', '198.51.100.200', ADMIN_PASSWORD);
    expect(limited.status).toBe(429);
    expect(v.parse(ErrorResponseSchema, await limited.json()).error_msg).toMatch(/from this address/);
  });

  it('limits the dashboard sign-in by the same client address', async () => {
    // 203.0.113.9 is over its limit from the API: the sign-in form refuses it too
    const signIn = (forwardedFor: string) =>
      dashboardBrowser(p, { 'x-forwarded-for': forwardedFor }, '10.0.0.2').signIn('admin', ADMIN_PASSWORD);
    expect((await signIn('203.0.113.9')).status).toBe(429);
    expect((await signIn('198.51.100.21')).status).toBe(303);
  });
});
