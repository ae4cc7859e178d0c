import { randomUUID } from 'node:crypto';
import {
  ClaimResponseSchema,
  ConfigurationResponseSchema,
  ErrorResponseSchema,
  VerificationListSchema,
  VerificationRequestSchema,
} from '@sms/domain';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScheduler } from '../../services/scheduler.js';
import { VerificationService } from '../../services/verification-service.js';
import { createTestApp, type TestApp } from '../../testing/app.js';

let t: TestApp;
let agent: { token: string };
let viewer: { token: string };

function call(path: string, method: string, token: string, body?: unknown) {
  return t.request(path, {
    method,
    headers: { 'x-auth-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}
/** An answer's body, with the fields these tests read. */
type Answer = {
  id: string;
  lease_id: string;
  run_id?: string;
  configurations: unknown[];
  [key: string]: unknown;
};
const json = (res: Response) => res.json() as Promise<Answer>;
async function errorOf(res: Response) {
  return v.parse(ErrorResponseSchema, await res.json());
}
const setting = (taskId: string) => `/v3/tasks/${taskId}/configuration-setting`;
const entries = (pairs: [string, string][]) => ({
  configurations: pairs.map(([config_key, config_value]) => ({ config_key, config_value })),
});

describe.each(['sqlite', 'postgres'] as const)('configuration and verification requests on %s', (dialect) => {
  beforeAll(async () => {
    // tokens that outlive the clock moved by days (a server down, a schedule's times passing)
    t = await createTestApp({ dialect, tokenTtlSeconds: 30 * 24 * 3600 });
    agent = await t.userWithToken(`daemon-${dialect}`, 'agent');
    viewer = await t.userWithToken(`watcher-${dialect}`, 'viewer');
  });
  afterAll(() => t.close());

  describe('configuration-setting', () => {
    it('sets keys, reads them back in key order, and removes a key with ""', async () => {
      const taskId = await t.createTask();
      expect(await (await call(setting(taskId), 'GET', t.adminToken)).json()).toEqual({ configurations: [] });
      const set = await call(
        setting(taskId),
        'POST',
        t.adminToken,
        entries([
          ['CONSISTENCY_TARGET', 'root@web-02:/'],
          ['CONSISTENCY_DIR', '["/root/data","/var/www"]'],
          ['CONSISTENCY_MODE', 'content'],
        ]),
      );
      expect(set.status).toBe(200);
      expect(await set.json()).toEqual({});
      const read = v.parse(
        ConfigurationResponseSchema,
        await (await call(setting(taskId), 'GET', agent.token)).json(),
      );
      expect(read.configurations.map((e) => e.config_key)).toEqual([
        'CONSISTENCY_DIR',
        'CONSISTENCY_MODE',
        'CONSISTENCY_TARGET',
      ]);
      await call(
        setting(taskId),
        'POST',
        t.adminToken,
        entries([
          ['CONSISTENCY_MODE', ''],
          ['CONSISTENCY_MODE_X', 'y'],
        ]),
      );
      // the whole request is refused for its unknown key: nothing removed
      expect((await json(await call(setting(taskId), 'GET', viewer.token))).configurations).toHaveLength(3);
      await call(setting(taskId), 'POST', t.adminToken, entries([['CONSISTENCY_MODE', '']]));
      expect((await json(await call(setting(taskId), 'GET', viewer.token))).configurations).toHaveLength(2);
    });

    it('refuses a bad value or an unknown key with 400 naming the key, and lets only admins write', async () => {
      const taskId = await t.createTask();
      const bad = await call(
        setting(taskId),
        'POST',
        t.adminToken,
        entries([['CONSISTENCY_RECHECK', 'yes']]),
      );
      expect(bad.status).toBe(400);
      expect((await errorOf(bad)).error_msg).toMatch(
        /configurations\[0\]\.config_value: CONSISTENCY_RECHECK: expected true or false/,
      );
      const unknown = await call(
        setting(taskId),
        'POST',
        t.adminToken,
        entries([['CONSISTENCY_SPEED', 'x']]),
      );
      expect((await errorOf(unknown)).error_msg).toMatch(/unknown key "CONSISTENCY_SPEED"/);
      const list = await call(
        setting(taskId),
        'POST',
        t.adminToken,
        entries([['CONSISTENCY_DIR', '/root/data']]),
      );
      expect((await errorOf(list)).error_msg).toMatch(/CONSISTENCY_DIR: expected a JSON array/);
      // a pattern the agent would refuse at every run
      const include = await call(
        setting(taskId),
        'POST',
        t.adminToken,
        entries([['CONSISTENCY_EXCLUDE', '["*.tmp","+ keep"]']]),
      );
      expect(include.status).toBe(400);
      const said = (await errorOf(include)).error_msg;
      expect(said).toMatch(/CONSISTENCY_EXCLUDE: "\+ keep": "\+ " is rsync's include rule/);
      for (const token of [agent.token, viewer.token]) {
        const denied = await call(setting(taskId), 'POST', token, entries([['CONSISTENCY_MODE', 'quick']]));
        expect(denied.status).toBe(403);
      }
      expect((await call(setting('no-such-task'), 'GET', t.adminToken)).status).toBe(404);
    });
  });

  describe('verification requests', () => {
    it('"Verify now" makes one pending request a task at a time; agents and viewers may not ask', async () => {
      const taskId = await t.createTask();
      const first = await call(`/v3/tasks/${taskId}/consistency-check`, 'POST', t.adminToken);
      expect(first.status).toBe(201);
      const request = v.parse(VerificationRequestSchema, await first.json());
      expect(request).toMatchObject({
        task_id: taskId,
        state: 'pending',
        origin: 'manual',
        created_by: 'admin',
      });
      const again = await call(`/v3/tasks/${taskId}/consistency-check`, 'POST', t.adminToken);
      expect(again.status).toBe(200);
      expect((await json(again)).id).toBe(request.id);
      expect((await call(`/v3/tasks/${taskId}/consistency-check`, 'POST', agent.token)).status).toBe(403);
      expect((await call(`/v3/tasks/${taskId}/consistency-check`, 'POST', viewer.token)).status).toBe(403);
      const list = v.parse(
        VerificationListSchema,
        await (await call(`/v3/tasks/${taskId}/consistency-checks`, 'GET', viewer.token)).json(),
      );
      expect(list.requests.map((r) => r.id)).toEqual([request.id]);
    });

    it('is taken by one agent with a lease, renewed, finished once, and answered again when finished again', async () => {
      const taskId = await t.createTask();
      const { id } = await json(await call(`/v3/tasks/${taskId}/consistency-check`, 'POST', t.adminToken));
      const polled = v.parse(
        VerificationListSchema,
        await (await call('/v3/consistency-checks', 'GET', agent.token)).json(),
      );
      expect(polled.requests.map((r) => r.id)).toContain(id);
      const claim = await call(`/v3/consistency-checks/${id}/claim`, 'POST', agent.token, {
        lease_seconds: 60,
        agent: 'web-01',
      });
      expect(claim.status).toBe(200);
      const { request, lease_id } = v.parse(ClaimResponseSchema, await claim.json());
      expect(request).toMatchObject({ state: 'running', agent: `daemon-${dialect}@web-01` });
      const second = await call(`/v3/consistency-checks/${id}/claim`, 'POST', agent.token, {
        lease_seconds: 60,
        agent: 'web-02',
      });
      expect(second.status).toBe(409);
      expect(await errorOf(second)).toMatchObject({ error_code: 'SMS.1008' });
      const wrongLease = await call(`/v3/consistency-checks/${id}/heartbeat`, 'POST', agent.token, {
        lease_id: randomUUID(),
        lease_seconds: 60,
      });
      expect(wrongLease.status).toBe(409);
      const runId = randomUUID();
      const beat = await call(`/v3/consistency-checks/${id}/heartbeat`, 'POST', agent.token, {
        lease_id,
        lease_seconds: 60,
        run_id: runId,
      });
      expect((await json(beat)).run_id).toBe(runId);
      const finish = { lease_id, state: 'done', run_id: runId, check_result: 'INCONSISTENT' };
      const done = await call(`/v3/consistency-checks/${id}/finish`, 'POST', agent.token, finish);
      expect(await done.json()).toMatchObject({ state: 'done', check_result: 'INCONSISTENT', run_id: runId });
      const again = await call(`/v3/consistency-checks/${id}/finish`, 'POST', agent.token, finish);
      expect(again.status).toBe(200);
      const other = await call(`/v3/consistency-checks/${id}/finish`, 'POST', agent.token, {
        lease_id,
        state: 'failed',
        error: 'x',
      });
      expect(other.status).toBe(409);
      expect(
        (
          await call(`/v3/consistency-checks/${id}/claim`, 'POST', viewer.token, {
            lease_seconds: 60,
            agent: 'x',
          })
        ).status,
      ).toBe(403);
    });

    it('names no run when it fails without one, though its heartbeats named the run about to begin', async () => {
      const taskId = await t.createTask();
      const { id } = await json(await call(`/v3/tasks/${taskId}/consistency-check`, 'POST', t.adminToken));
      const claim = await call(`/v3/consistency-checks/${id}/claim`, 'POST', agent.token, {
        lease_seconds: 60,
        agent: 'web-01',
      });
      const { lease_id } = v.parse(ClaimResponseSchema, await claim.json());
      await call(`/v3/consistency-checks/${id}/heartbeat`, 'POST', agent.token, {
        lease_id,
        lease_seconds: 60,
        run_id: randomUUID(),
      });
      // the target could not be reached: the run never began
      const failed = await call(`/v3/consistency-checks/${id}/finish`, 'POST', agent.token, {
        lease_id,
        state: 'failed',
        error: 'ssh: connect to host web-02 port 22: Connection refused',
      });
      const body = await json(failed);
      expect(body).toMatchObject({ state: 'failed' });
      expect(body.run_id).toBeUndefined();
    });

    it('goes back to pending when its lease runs out, and the old lease can change nothing', async () => {
      const taskId = await t.createTask();
      const { id } = await json(await call(`/v3/tasks/${taskId}/consistency-check`, 'POST', t.adminToken));
      const { lease_id } = await json(
        await call(`/v3/consistency-checks/${id}/claim`, 'POST', agent.token, {
          lease_seconds: 10,
          agent: 'dies',
        }),
      );
      t.advanceClock(11_000);
      const polled = v.parse(
        VerificationListSchema,
        await (await call('/v3/consistency-checks', 'GET', agent.token)).json(),
      );
      expect(polled.requests.find((r) => r.id === id)?.state).toBe('pending');
      const late = await call(`/v3/consistency-checks/${id}/heartbeat`, 'POST', agent.token, {
        lease_id,
        lease_seconds: 60,
      });
      expect(late.status).toBe(409);
      const taken = await call(`/v3/consistency-checks/${id}/claim`, 'POST', agent.token, {
        lease_seconds: 60,
        agent: 'lives',
      });
      expect(taken.status).toBe(200);
      const stale = await call(`/v3/consistency-checks/${id}/finish`, 'POST', agent.token, {
        lease_id,
        state: 'done',
        run_id: randomUUID(),
        check_result: 'CONSISTENT',
      });
      expect(stale.status).toBe(409);
    });

    it("goes only to the agent its task's CONSISTENCY_AGENT names, and to any agent when unset", async () => {
      const assigned = await t.createTask();
      const open = await t.createTask();
      const set = await call(
        setting(assigned),
        'POST',
        t.adminToken,
        entries([['CONSISTENCY_AGENT', 'web-01']]),
      );
      expect(set.status).toBe(200);
      const ask = async (taskId: string) =>
        (await json(await call(`/v3/tasks/${taskId}/consistency-check`, 'POST', t.adminToken))).id;
      const forWeb01 = await ask(assigned);
      const forAny = await ask(open);
      const polled = async (query: string) => {
        const res = await call(`/v3/consistency-checks${query}`, 'GET', agent.token);
        expect(res.status).toBe(200);
        const ids = v.parse(VerificationListSchema, await res.json()).requests.map((r) => r.id);
        return [forWeb01, forAny].filter((id) => ids.includes(id));
      };
      expect(await polled('?agent=web-01')).toEqual([forWeb01, forAny]);
      expect(await polled('?agent=web-02')).toEqual([forAny]);
      // an agent that gives no name (an older one) is not given a request meant for one
      expect(await polled('')).toEqual([forAny]);
      const wrong = await call(`/v3/consistency-checks/${forWeb01}/claim`, 'POST', agent.token, {
        lease_seconds: 60,
        agent: 'web-02',
      });
      expect(wrong.status).toBe(409);
      expect((await errorOf(wrong)).error_msg).toBe(
        `The verification request ${forWeb01} is for the agent named "web-01" (its task's CONSISTENCY_AGENT), not "web-02". Take another.`,
      );
      const right = await call(`/v3/consistency-checks/${forWeb01}/claim`, 'POST', agent.token, {
        lease_seconds: 60,
        agent: 'web-01',
      });
      expect(right.status).toBe(200);
      expect(v.parse(ClaimResponseSchema, await right.json()).request.agent).toBe(`daemon-${dialect}@web-01`);
      const other = await call(`/v3/consistency-checks/${forAny}/claim`, 'POST', agent.token, {
        lease_seconds: 60,
        agent: 'web-02',
      });
      expect(other.status).toBe(200);
      const control = await call('/v3/consistency-checks?agent=web%0A01', 'GET', agent.token);
      expect(control.status).toBe(400);
      expect((await errorOf(control)).error_msg).toContain('agent');
    });

    it('refuses a release with a lease that ran out, swept or not (409), as every call does', async () => {
      const taskId = await t.createTask();
      const { id } = await json(await call(`/v3/tasks/${taskId}/consistency-check`, 'POST', t.adminToken));
      const { lease_id } = await json(
        await call(`/v3/consistency-checks/${id}/claim`, 'POST', agent.token, {
          lease_seconds: 10,
          agent: 'late',
        }),
      );
      t.advanceClock(11_000);
      const late = await call(`/v3/consistency-checks/${id}/release`, 'POST', agent.token, { lease_id });
      expect(late.status).toBe(409);
      expect((await errorOf(late)).error_code).toBe('SMS.1008');
      const [shown] = (await json(await call(`/v3/tasks/${taskId}/consistency-checks`, 'GET', t.adminToken)))
        .requests as { state: string }[];
      expect(shown?.state).toBe('pending');
    });

    it('is handed back by release (pending again; the same release answered again)', async () => {
      const taskId = await t.createTask();
      const { id } = await json(await call(`/v3/tasks/${taskId}/consistency-check`, 'POST', t.adminToken));
      const { lease_id } = await json(
        await call(`/v3/consistency-checks/${id}/claim`, 'POST', agent.token, {
          lease_seconds: 60,
          agent: 'stops',
        }),
      );
      const released = await call(`/v3/consistency-checks/${id}/release`, 'POST', agent.token, { lease_id });
      expect(await released.json()).toMatchObject({ state: 'pending' });
      expect(
        (await call(`/v3/consistency-checks/${id}/release`, 'POST', agent.token, { lease_id })).status,
      ).toBe(200);
    });

    it('sweeps a lease that ran out before "Verify now" answers and before a finish is taken', async () => {
      const taskId = await t.createTask();
      const { id } = await json(await call(`/v3/tasks/${taskId}/consistency-check`, 'POST', t.adminToken));
      const { lease_id } = await json(
        await call(`/v3/consistency-checks/${id}/claim`, 'POST', agent.token, {
          lease_seconds: 10,
          agent: 'froze',
        }),
      );
      t.advanceClock(3600_000);
      // no poll has swept it: "Verify now" does, and shows it pending, not running
      const asked = await call(`/v3/tasks/${taskId}/consistency-check`, 'POST', t.adminToken);
      expect(await asked.json()).toMatchObject({ id, state: 'pending' });
      expect(asked.status).toBe(200);
      const late = await call(`/v3/consistency-checks/${id}/finish`, 'POST', agent.token, {
        lease_id,
        state: 'done',
        run_id: randomUUID(),
        check_result: 'CONSISTENT',
      });
      expect(late.status).toBe(409);
      // so does the scheduler: the lapsed request no longer holds the task's time back
      const other = await t.createTask();
      const { id: held } = await json(
        await call(`/v3/tasks/${other}/consistency-check`, 'POST', t.adminToken),
      );
      await call(`/v3/consistency-checks/${held}/claim`, 'POST', agent.token, {
        lease_seconds: 10,
        agent: 'froze',
      });
      t.advanceClock(60_000);
      await t.services.verifications.schedule(t.services.clock!() - 1000, t.services.clock!());
      const list = v.parse(
        VerificationListSchema,
        await (await call(`/v3/tasks/${other}/consistency-checks`, 'GET', t.adminToken)).json(),
      );
      expect(list.requests.find((r) => r.id === held)?.state).toBe('pending');
    });

    it('answers "Verify now" sent as a request is finished, and the same finish sent twice at once, with 2xx', async () => {
      for (let round = 0; round < 10; round++) {
        const taskId = await t.createTask();
        const { id } = await json(await call(`/v3/tasks/${taskId}/consistency-check`, 'POST', t.adminToken));
        const { lease_id } = await json(
          await call(`/v3/consistency-checks/${id}/claim`, 'POST', agent.token, {
            lease_seconds: 60,
            agent: 'a',
          }),
        );
        const finish = { lease_id, state: 'done', run_id: randomUUID(), check_result: 'CONSISTENT' };
        const answers = await Promise.all([
          call(`/v3/consistency-checks/${id}/finish`, 'POST', agent.token, finish),
          call(`/v3/consistency-checks/${id}/finish`, 'POST', agent.token, finish),
          call(`/v3/tasks/${taskId}/consistency-check`, 'POST', t.adminToken),
        ]);
        expect(answers.map((a) => a.status).map((s) => s === 200 || s === 201)).toEqual([true, true, true]);
      }
    });

    it('asks, at start, for a scheduled time no server was running for, and not for one before the schedule was set', async () => {
      const taskId = await t.createTask();
      await call(setting(taskId), 'POST', t.adminToken, entries([['CONSISTENCY_SCHEDULE', '*/15 * * * *']]));
      // the server is down for an hour: four of the schedule's times pass
      t.advanceClock(3600_000);
      // the same configuration saved again, unchanged: the schedule has been in force since it was set
      await call(setting(taskId), 'POST', t.adminToken, entries([['CONSISTENCY_SCHEDULE', '*/15 * * * *']]));
      const scheduledOf = async (id: string) =>
        v
          .parse(
            VerificationListSchema,
            await (await call(`/v3/tasks/${id}/consistency-checks`, 'GET', t.adminToken)).json(),
          )
          .requests.filter((r) => r.origin === 'schedule');
      const stop = startScheduler(t.services.verifications, t.services.clock!, 20);
      // its first ticks (every 20 ms; the clock stands still): however long the machine takes
      for (let i = 0; i < 250 && (await scheduledOf(taskId)).length === 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await stop();
      // once, for the latest of them
      expect(await scheduledOf(taskId)).toHaveLength(1);

      // a time folded into a request open at it ("Verify now" running then) is not asked again
      const busy = await t.createTask();
      await call(setting(busy), 'POST', t.adminToken, entries([['CONSISTENCY_SCHEDULE', '*/15 * * * *']]));
      const { id: manual } = await json(
        await call(`/v3/tasks/${busy}/consistency-check`, 'POST', t.adminToken),
      );
      const { lease_id } = await json(
        await call(`/v3/consistency-checks/${manual}/claim`, 'POST', agent.token, {
          lease_seconds: 3600,
          agent: 'a',
        }),
      );
      t.advanceClock(20 * 60_000); // a quarter hour's time passes while it runs
      const tick = t.services.clock!();
      expect(await t.services.verifications.schedule(tick - 60_000, tick)).toBe(0);
      await call(`/v3/consistency-checks/${manual}/finish`, 'POST', agent.token, {
        lease_id,
        state: 'done',
        run_id: randomUUID(),
        check_result: 'CONSISTENT',
      });
      // a restart looks a day back over that time: served
      const restart = t.services.clock!();
      await t.services.verifications.schedule(restart - 86_400_000, restart);
      expect(await scheduledOf(busy)).toEqual([]);

      // removing the time zone changes the schedule's times: it takes its new form then
      const zoned = await t.createTask();
      await call(
        setting(zoned),
        'POST',
        t.adminToken,
        entries([
          ['CONSISTENCY_SCHEDULE', '*/15 * * * *'],
          ['CONSISTENCY_TIMEZONE', 'Asia/Kathmandu'],
        ]),
      );
      t.advanceClock(3600_000);
      await call(setting(zoned), 'POST', t.adminToken, entries([['CONSISTENCY_TIMEZONE', '']]));
      const changed = t.services.clock!();
      await t.services.verifications.schedule(changed - 86_400_000, changed);
      expect(await scheduledOf(zoned)).toEqual([]);

      // a schedule set now asks for none of the times before it, also looking a day back
      const later = await t.createTask();
      t.advanceClock(86_400_000);
      await call(setting(later), 'POST', t.adminToken, entries([['CONSISTENCY_SCHEDULE', '*/15 * * * *']]));
      const now = t.services.clock!();
      await t.services.verifications.schedule(now - 86_400_000, now);
      const none = v.parse(
        VerificationListSchema,
        await (await call(`/v3/tasks/${later}/consistency-checks`, 'GET', t.adminToken)).json(),
      );
      expect(none.requests).toEqual([]);
    });

    /** Ends what earlier tests left pending in the project (for any agent, or named `agents`). */
    async function drain(agents: string[] = []) {
      for (const name of ['drain', ...agents]) {
        const pending = v.parse(
          VerificationListSchema,
          await (await call(`/v3/consistency-checks?agent=${name}`, 'GET', agent.token)).json(),
        );
        for (const r of pending.requests) {
          const { lease_id } = await json(
            await call(`/v3/consistency-checks/${r.id}/claim`, 'POST', agent.token, {
              lease_seconds: 600,
              agent: name,
            }),
          );
          await call(`/v3/consistency-checks/${r.id}/finish`, 'POST', agent.token, {
            lease_id,
            state: 'failed',
            error: 'drained',
          });
        }
      }
    }

    it('answers a long poll as soon as a request is made', async () => {
      const taskId = await t.createTask();
      await drain();
      const started = Date.now();
      const polling = call('/v3/consistency-checks?wait=5', 'GET', agent.token);
      setTimeout(() => void call(`/v3/tasks/${taskId}/consistency-check`, 'POST', t.adminToken), 300);
      const answer = v.parse(VerificationListSchema, await (await polling).json());
      expect(answer.requests.map((r) => r.task_id)).toEqual([taskId]);
      expect(Date.now() - started).toBeLessThan(4000);
      const bad = await call('/v3/consistency-checks?wait=31', 'GET', agent.token);
      expect(bad.status).toBe(400);
      expect((await call('/v3/consistency-checks', 'GET', viewer.token)).status).toBe(403);
    });

    it("answers a waiting poll with a request its agent may take, and not another agent's", async () => {
      const assigned = await t.createTask();
      await call(setting(assigned), 'POST', t.adminToken, entries([['CONSISTENCY_AGENT', 'db-01']]));
      await drain(['db-01', 'db-02']);
      const poll = async (name: string, wait: number) => {
        const res = await call(`/v3/consistency-checks?wait=${wait}&agent=${name}`, 'GET', agent.token);
        const at = performance.now();
        return { at, ids: v.parse(VerificationListSchema, await res.json()).requests.map((r) => r.id) };
      };
      const started = performance.now();
      const mine = poll('db-01', 5);
      const other = poll('db-02', 2);
      // after both have looked once, and after the project's shared read at 1 s
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const made = performance.now();
      const { id } = await json(await call(`/v3/tasks/${assigned}/consistency-check`, 'POST', t.adminToken));
      expect((await mine).ids).toEqual([id]);
      // at once, not at the next shared read (about 800 ms later)
      expect((await mine).at - made).toBeLessThan(500);
      expect((await other).ids).toEqual([]);
      expect((await other).at - started).toBeGreaterThanOrEqual(1900);
    });

    it('asks once for each scheduled time, however many servers share the database', async () => {
      const taskId = await t.createTask();
      await call(setting(taskId), 'POST', t.adminToken, entries([['CONSISTENCY_SCHEDULE', '*/15 * * * *']]));
      const base = t.services.clock!();
      const at = (minutes: number) => Math.floor(base / 900_000) * 900_000 + minutes * 60_000;
      // two servers' schedulers on one database, ticking over the same quarter hour
      const second = new VerificationService(t.storage, t.services.tasks, t.services.auth, () => at(16));
      const made = [
        await t.services.verifications.schedule(at(14), at(16)),
        await second.schedule(at(14), at(16)),
      ];
      const list = v.parse(
        VerificationListSchema,
        await (await call(`/v3/tasks/${taskId}/consistency-checks`, 'GET', t.adminToken)).json(),
      );
      const scheduled = list.requests.filter((r) => r.origin === 'schedule');
      expect(scheduled).toHaveLength(1);
      expect(made.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
      // a later time while that one is still open: the open one stands, no second
      expect(await t.services.verifications.schedule(at(29), at(31))).toBe(0);
      expect(await t.services.verifications.nextScheduled(taskId)).toBe(
        Math.floor(t.services.clock!() / 900_000) * 900_000 + 900_000,
      );
    });
  });
});
