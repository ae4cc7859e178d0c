import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiOf } from '../test-support/client.js';
import { createTestDatabase } from '../testing/postgres.js';
import { type ServerProcess, startServerProcess } from '../testing/process.js';

const PASSWORD = 'scheduler-admin-pw';

describe('the scheduler of two server processes on one PostgreSQL database', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let servers: ServerProcess[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    const env = {
      DATABASE_URL: database.url,
      SMS_ADMIN_PASSWORD: PASSWORD,
      SMS_SCHEDULER_SECONDS: '1',
      SMS_LOG_LEVEL: 'warn',
    };
    servers = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
    await database.drop();
  });

  it('asks once for each scheduled time, while both look every second', { timeout: 60_000 }, async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const api = apiOf(a.url);
    const token = await api.token('admin', PASSWORD);
    const taskId = await api.createTask(token, 'every-second');
    const json = { 'x-auth-token': token, 'content-type': 'application/json' };
    const set = await fetch(`${b.url}/v3/tasks/${taskId}/configuration-setting`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        configurations: [{ config_key: 'CONSISTENCY_SCHEDULE', config_value: '* * * * * *' }],
      }),
    });
    expect(set.status).toBe(200);
    // an agent that takes and ends each request at once, so that every second's time can ask again
    const until = Date.now() + 6000;
    let ended = 0;
    while (Date.now() < until) {
      const server = ended % 2 === 0 ? a : b;
      const polled = (await (
        await fetch(`${server.url}/v3/consistency-checks?wait=1`, { headers: { 'x-auth-token': token } })
      ).json()) as { requests: { id: string }[] };
      for (const request of polled.requests) {
        const claim = await fetch(`${server.url}/v3/consistency-checks/${request.id}/claim`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ lease_seconds: 60, agent: 'quick' }),
        });
        if (claim.status !== 200) continue;
        const { lease_id } = (await claim.json()) as { lease_id: string };
        const finish = await fetch(`${server.url}/v3/consistency-checks/${request.id}/finish`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ lease_id, state: 'done', run_id: randomUUID(), check_result: 'CONSISTENT' }),
        });
        expect(finish.status).toBe(200);
        ended++;
      }
    }
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ scheduled_for: string; n: string }>(
        `select scheduled_for, count(*) as n from verification_requests where task_id = $1 and origin = 'schedule' group by scheduled_for`,
        [taskId],
      );
      // several times asked for, each once
      expect(rows.length).toBeGreaterThanOrEqual(3);
      expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    } finally {
      await client.end();
    }
    expect(ended).toBeGreaterThanOrEqual(3);
  });
});
