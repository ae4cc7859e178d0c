import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiOf } from '../test-support/client.js';
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
});
