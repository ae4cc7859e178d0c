import { CreateCredentialResponseSchema } from '@sms/domain';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiOf } from '../test-support/client.js';
import { officialSignature } from '../test-support/sdk.js';
import { result } from '../testing/app.js';
import { createTestDatabase } from '../testing/postgres.js';
import { type ServerProcess, startServerProcess } from '../testing/process.js';

describe('two server processes on one PostgreSQL database', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let servers: ServerProcess[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    const env = { DATABASE_URL: database.url, SMS_ADMIN_PASSWORD: 'shared-admin-pw' };
    // started together: both migrate and bootstrap the same empty database
    servers = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await database.drop();
  });

  it('serve the same data: a token, a task and uploads made through either are seen by both', async () => {
    const [a, b] = servers.map((s) => apiOf(s.url)) as [ReturnType<typeof apiOf>, ReturnType<typeof apiOf>];
    const token = await a.token('admin', 'shared-admin-pw');
    const taskId = await b.createTask(token, 'shared');
    expect((await a.upload(token, taskId, { consistency_result: [result('/via-a')] })).status).toBe(200);
    expect((await b.upload(token, taskId, { consistency_result: [result('/via-b')] })).status).toBe(200);
    const fromA = await a.history(token, taskId);
    const fromB = await b.history(token, taskId);
    expect(fromA).toEqual(fromB);
    expect(fromA.result_list.map((e) => e.consistency_result[0]?.dir_check).sort()).toEqual([
      '/via-a',
      '/via-b',
    ]);
    expect((await a.call('/readyz')).status).toBe(200);
  });

  it('refuse an access key on one instance from the request after it was deleted on the other', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const api = apiOf(a.url);
    const token = await api.token('admin', 'shared-admin-pw');
    const taskId = await api.createTask(token, 'signed');
    const me = (await (
      await api.call('/v3.0/OS-CREDENTIAL/credentials', { headers: { 'x-auth-token': token } })
    ).json()) as { credentials: unknown[] };
    expect(me.credentials).toEqual([]);
    const adminId = (
      (await (
        await api.call('/v3/auth/tokens', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            auth: {
              identity: {
                methods: ['password'],
                password: { user: { name: 'admin', password: 'shared-admin-pw' } },
              },
            },
          }),
        })
      ).json()) as { token: { user: { id: string } } }
    ).token.user.id;
    const created = await api.call('/v3.0/OS-CREDENTIAL/credentials', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify({ credential: { user_id: adminId } }),
    });
    expect(created.status).toBe(201);
    const { credential } = v.parse(CreateCredentialResponseSchema, await created.json());
    const key = { ak: credential.access, sk: credential.secret };
    const uploadOn = (server: ServerProcess) => {
      const signed = officialSignature({
        url: `${server.url}/v3/tasks/${taskId}/consistency-result`,
        method: 'POST',
        key,
        body: { consistency_result: [result('/signed')] },
      });
      return fetch(signed.url, signed.init);
    };
    expect((await uploadOn(b)).status).toBe(200);
    const deleted = await api.call(`/v3.0/OS-CREDENTIAL/credentials/${key.ak}`, {
      method: 'DELETE',
      headers: { 'x-auth-token': token },
    });
    expect(deleted.status).toBe(204);
    const refused = await uploadOn(b);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error_code: string }).error_code).toBe('SMS.9006');
  });
});
