import { AuthTokenResponseSchema, ErrorResponseSchema, passwordTokenRequest } from '@sms/domain';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../../testing/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ tokenTtlSeconds: 7200 });
});
afterAll(() => t.close());

const post = (body: unknown) =>
  t.request('/v3/auth/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('POST /v3/auth/tokens', () => {
  it('answers 201 with the token in X-Subject-Token and the IAM token body', async () => {
    const res = await post(
      passwordTokenRequest({ user: 'admin', password: ADMIN_PASSWORD, project: 'default' }),
    );
    expect(res.status).toBe(201);
    expect(res.headers.get('x-subject-token')).toMatch(/^sms1\./);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { token } = v.parse(AuthTokenResponseSchema, await res.json());
    expect(token.user.name).toBe('admin');
    expect(token.project.name).toBe('default');
    expect(token.project.domain.name).toBe('default');
    expect(token.roles).toEqual([{ id: 'admin', name: 'admin' }]);
    expect(Date.parse(token.expires_at) - Date.parse(token.issued_at)).toBe(7200 * 1000);
  });

  it('takes the project by id as well as by name, and the only project when none is named', async () => {
    const project = await t.storage.accounts.findProject({ name: 'default' });
    const byId = passwordTokenRequest({ user: 'admin', password: ADMIN_PASSWORD });
    const res = await post({ auth: { ...byId.auth, scope: { project: { id: project!.id } } } });
    expect(res.status).toBe(201);
    expect((await post(byId)).status).toBe(201);
  });

  it('answers 401 SMS.9002 alike for a wrong password, an unknown user, a foreign project and a foreign domain', async () => {
    const wrong = [
      passwordTokenRequest({ user: 'admin', password: 'wrong-password' }),
      passwordTokenRequest({ user: 'nobody', password: ADMIN_PASSWORD }),
      passwordTokenRequest({ user: 'admin', password: ADMIN_PASSWORD, project: 'not-mine' }),
    ];
    const foreignDomain = passwordTokenRequest({ user: 'admin', password: ADMIN_PASSWORD });
    foreignDomain.auth.identity.password.user.domain = { name: 'elsewhere' };
    for (const body of [...wrong, foreignDomain]) {
      const res = await post(body);
      expect(res.status).toBe(401);
      expect(v.parse(ErrorResponseSchema, await res.json())).toEqual({
        error_code: 'SMS.9002',
        error_msg: 'The user name, password or project is wrong.',
      });
    }
  });

  it('asks a member of several projects to name one', async () => {
    await t.userWithToken('multi', 'agent', 'p-one');
    await t.services.users.grant('multi', 'default', 'viewer');
    const res = await post(passwordTokenRequest({ user: 'multi', password: 'multi-password' }));
    expect(res.status).toBe(400);
    expect(v.parse(ErrorResponseSchema, await res.json()).error_msg).toBe(
      'auth.scope.project: is required: user multi is a member of 2 projects; name one',
    );
  });

  it('refuses a request without the password method naming the field', async () => {
    const body = passwordTokenRequest({ user: 'admin', password: ADMIN_PASSWORD });
    const res = await post({
      auth: { ...body.auth, identity: { ...body.auth.identity, methods: ['token'] } },
    });
    expect(res.status).toBe(400);
    expect(v.parse(ErrorResponseSchema, await res.json()).error_msg).toBe(
      'auth.identity.methods: expected "password" among the methods',
    );
  });

  it('keeps an older token valid when a new one is issued', async () => {
    const first = await t.tokenFor('admin', ADMIN_PASSWORD, 'default');
    await t.tokenFor('admin', ADMIN_PASSWORD, 'default');
    const res = await t.request('/v3/tasks', { headers: { 'x-auth-token': first } });
    expect(res.status).toBe(200);
  });
});
