import { ErrorResponseSchema, passwordTokenRequest } from '@sms/domain';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../../test-support/harness.js';

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
