import {
  CreateCredentialResponseSchema,
  ErrorResponseSchema,
  ListCredentialsResponseSchema,
  UpdateCredentialResponseSchema,
} from '@sms/domain';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../testing/app.js';

let t: TestApp;
let agent: { name: string; token: string; id: string };
let outsider: { name: string; token: string; id: string };
beforeAll(async () => {
  t = await createTestApp();
  const idOf = async (name: string) => (await t.storage.accounts.findUser({ name }))!.id;
  const a = await t.userWithToken('agent-1', 'agent');
  agent = { name: a.name, token: a.token, id: await idOf('agent-1') };
  const o = await t.userWithToken('outsider', 'admin', 'elsewhere');
  outsider = { name: o.name, token: o.token, id: await idOf('outsider') };
});
afterAll(() => t.close());

const call = (token: string, method: string, path = '', body?: unknown) =>
  t.request(`/v3.0/OS-CREDENTIAL/credentials${path}`, {
    method,
    headers: { 'x-auth-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const create = (token: string, userId: string, description?: string) =>
  call(token, 'POST', '', {
    credential: { user_id: userId, ...(description === undefined ? {} : { description }) },
  });
const codeOf = async (res: Response) => ((await res.json()) as { error_code: string }).error_code;

describe('access keys through IAM’s OS-CREDENTIAL API', () => {
  it('creates a key for the caller: 201 with the secret, shown this once, and lists it without', async () => {
    const res = await create(agent.token, agent.id, 'upload host web-01');
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { credential } = v.parse(CreateCredentialResponseSchema, await res.json());
    expect(credential).toMatchObject({
      user_id: agent.id,
      status: 'active',
      description: 'upload host web-01',
    });
    expect(credential.access).toMatch(/^[A-Z0-9]{20}$/);
    expect(credential.secret).toMatch(/^[A-Za-z0-9]{40}$/);

    const list = await call(agent.token, 'GET', `?user_id=${agent.id}`);
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(text).not.toContain(credential.secret);
    const { credentials } = v.parse(ListCredentialsResponseSchema, JSON.parse(text));
    expect(credentials).toEqual([
      {
        access: credential.access,
        user_id: agent.id,
        status: 'active',
        description: 'upload host web-01',
        create_time: credential.create_time,
      },
    ]);
    // without user_id: the caller's own
    expect(v.parse(ListCredentialsResponseSchema, await (await call(agent.token, 'GET')).json())).toEqual({
      credentials,
    });
  });

  it('allows two keys per user and refuses a third with 409 SMS.1006', async () => {
    expect((await create(agent.token, agent.id)).status).toBe(201);
    const third = await create(agent.token, agent.id);
    expect(third.status).toBe(409);
    const body = v.parse(ErrorResponseSchema, await third.json());
    expect(body.error_code).toBe('SMS.1006');
    expect(body.error_msg).toContain('delete one');
  });

  it('deactivates, describes and deletes a key; a deleted key is then unknown (404)', async () => {
    const [key] = v.parse(
      ListCredentialsResponseSchema,
      await (await call(agent.token, 'GET')).json(),
    ).credentials;
    const off = await call(agent.token, 'PUT', `/${key!.access}`, { credential: { status: 'inactive' } });
    expect(off.status).toBe(200);
    expect(v.parse(UpdateCredentialResponseSchema, await off.json()).credential).toMatchObject({
      access: key!.access,
      status: 'inactive',
    });
    const described = await call(agent.token, 'PUT', `/${key!.access}`, {
      credential: { description: 'spare' },
    });
    expect(v.parse(UpdateCredentialResponseSchema, await described.json()).credential).toMatchObject({
      status: 'inactive',
      description: 'spare',
    });
    expect((await call(agent.token, 'PUT', `/${key!.access}`, { credential: {} })).status).toBe(400);
    expect((await call(agent.token, 'PUT', `/${key!.access}`, { credential: { status: 'on' } })).status).toBe(
      400,
    );
    const deleted = await call(agent.token, 'DELETE', `/${key!.access}`);
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    const again = await call(agent.token, 'DELETE', `/${key!.access}`);
    expect(again.status).toBe(404);
    expect(await codeOf(again)).toBe('SMS.3002');
    expect((await call(agent.token, 'DELETE', '/not-a-key')).status).toBe(400);
  });

  it('lets an admin manage the keys of its project’s users, and no one else’s', async () => {
    const forAgent = await create(t.adminToken, agent.id, 'made by admin');
    expect(forAgent.status).toBe(201);
    const { credential } = v.parse(CreateCredentialResponseSchema, await forAgent.json());
    const listed = await call(t.adminToken, 'GET', `?user_id=${agent.id}`);
    expect(listed.status).toBe(200);
    // a user of another project is unknown to this admin; that project's admin does not see ours
    expect(await codeOf(await create(t.adminToken, outsider.id))).toBe('SMS.3002');
    expect(await codeOf(await call(outsider.token, 'GET', `?user_id=${agent.id}`))).toBe('SMS.3002');
    expect(await codeOf(await call(outsider.token, 'DELETE', `/${credential.access}`))).toBe('SMS.3002');
    // an agent manages only its own: another user's is refused (403), another's key unknown (404)
    const adminId = (await t.storage.accounts.findUser({ name: 'admin' }))!.id;
    const refused = await create(agent.token, adminId);
    expect(refused.status).toBe(403);
    expect(await codeOf(refused)).toBe('SMS.9004');
    const adminKey = v.parse(
      CreateCredentialResponseSchema,
      await (await create(t.adminToken, adminId)).json(),
    );
    expect(await codeOf(await call(agent.token, 'DELETE', `/${adminKey.credential.access}`))).toBe(
      'SMS.3002',
    );
    expect((await call(t.adminToken, 'DELETE', `/${credential.access}`)).status).toBe(204);
  });

  it("refuses an admin another user's keys when that user is also in a project it is not admin of", async () => {
    // alice: a viewer here, an admin of bravo; a key of hers signs in bravo too
    const alice = await t.userWithToken('alice', 'viewer');
    await t.services.users.addProject('bravo');
    await t.services.users.grant('alice', 'bravo', 'admin');
    const aliceId = (await t.storage.accounts.findUser({ name: 'alice' }))!.id;
    const made = await create(t.adminToken, aliceId);
    expect(made.status).toBe(403);
    const body = v.parse(ErrorResponseSchema, await made.json());
    expect(body.error_code).toBe('SMS.9004');
    // (why, as for every 403 of the API, is in its encrypted authorization message)
    expect((await call(t.adminToken, 'GET', `?user_id=${aliceId}`)).status).toBe(403);
    // her own key: she manages it; this project's admin may not deactivate or delete it
    const own = v.parse(CreateCredentialResponseSchema, await (await create(alice.token, aliceId)).json());
    const path = `/${own.credential.access}`;
    expect((await call(t.adminToken, 'PUT', path, { credential: { status: 'inactive' } })).status).toBe(403);
    expect((await call(t.adminToken, 'DELETE', path)).status).toBe(403);
    expect((await call(alice.token, 'DELETE', path)).status).toBe(204);
    // once an admin of bravo too, it may
    await t.services.users.grant('admin', 'bravo', 'admin');
    expect((await create(t.adminToken, aliceId)).status).toBe(201);
  });

  it('refuses bodies that break the rules with 400 naming the field, and asks for a token first', async () => {
    const res = await call(agent.token, 'POST', '', {
      credential: { user_id: agent.id, description: 'x'.repeat(256) },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_msg: string }).error_msg).toContain('credential.description');
    expect(
      (await call(agent.token, 'POST', '', { credential: { user_id: agent.id, extra: 1 } })).status,
    ).toBe(400);
    expect((await t.request('/v3.0/OS-CREDENTIAL/credentials')).status).toBe(403);
  });

  it('removes a user’s keys with the user', async () => {
    const temp = await t.userWithToken('temp-user', 'viewer');
    const id = (await t.storage.accounts.findUser({ name: 'temp-user' }))!.id;
    expect((await create(temp.token, id)).status).toBe(201);
    await t.services.users.removeUser('temp-user');
    expect(await t.storage.accessKeys.list({ userId: id })).toEqual([]);
  });
});
