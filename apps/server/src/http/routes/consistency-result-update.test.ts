import {
  ErrorResponseSchema,
  ForbiddenErrorResponseSchema,
  ShowConsistencyResultResponseSchema,
} from '@sms/domain';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, result, type TestApp } from '../../testing/app.js';
import { BODY_LIMIT_BYTES } from '../body.js';

let t: TestApp;
let taskId: string;

async function errorOf(res: Response) {
  return v.parse(ErrorResponseSchema, await res.json());
}
async function forbiddenOf(res: Response) {
  return v.parse(ForbiddenErrorResponseSchema, await res.json());
}
async function history(id = taskId) {
  const res = await t.request(`/v3/tasks/${id}/consistency-result`, {
    headers: { 'x-auth-token': t.adminToken },
  });
  return v.parse(ShowConsistencyResultResponseSchema, await res.json());
}

describe.each(['sqlite', 'postgres'] as const)(
  'POST /v3/tasks/{task_id}/consistency-result on %s',
  (dialect) => {
    beforeAll(async () => {
      t = await createTestApp({ dialect });
      taskId = await t.createTask();
    });
    afterAll(() => t.close());

    it('refuses a dir_check with a NUL character with 400 on either database (PostgreSQL cannot store it)', async () => {
      const res = await t.upload(taskId, { consistency_result: [result('/a\u0000b')] });
      expect(res.status).toBe(400);
      const error = await errorOf(res);
      expect(error.error_code).toBe('SMS.1001');
      expect(error.error_msg).toMatch(/consistency_result\[0\]\.dir_check: cannot hold a NUL character/);
    });

    it('refuses a dir_check with a lone surrogate with 400 on either database (PostgreSQL made two such directories one)', async () => {
      const before = (await history()).result_list.length;
      // JSON carries them escaped, as a client that kept undecodable bytes as surrogates sends them
      const res = await t.upload(taskId, { consistency_result: [result('/x\ud800'), result('/x\udc00')] });
      expect(res.status).toBe(400);
      const error = await errorOf(res);
      expect(error.error_code).toBe('SMS.1001');
      expect(error.error_msg).toMatch(
        /consistency_result\[0\]\.dir_check: is not valid Unicode: it holds a lone surrogate/,
      );
      expect((await history()).result_list).toHaveLength(before);
    });

    it("stores the page's example upload and answers 200 {} as application/json", async () => {
      const before = (await history()).result_list.length;
      const res = await t.upload(taskId, {
        consistency_result: [
          result('/root/data', {
            num_total_files: 1235,
            num_different_files: 12,
            num_target_miss_files: 12,
            num_target_more_files: 12,
          }),
          result('/var', {
            num_total_files: 1235,
            num_different_files: 12,
            num_target_miss_files: 12,
            num_target_more_files: 12,
          }),
        ],
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({});
      const { result_list } = await history();
      expect(result_list).toHaveLength(before + 1);
      expect(result_list[0]?.consistency_result.map((r) => r.dir_check)).toEqual(['/root/data', '/var']);
      expect(result_list[0]?.check_result).toBe('INCONSISTENT');
    });

    it('accepts a body without consistency_result and one with an empty array, each as an entry', async () => {
      const fresh = await t.createTask(t.adminToken, 'empty');
      expect((await t.upload(fresh, {})).status).toBe(200);
      expect((await t.upload(fresh, { consistency_result: [] })).status).toBe(200);
      const { result_list } = await history(fresh);
      expect(result_list.map((e) => [e.check_result, e.consistency_result.length])).toEqual([
        ['NO_RESULT', 0],
        ['NO_RESULT', 0],
      ]);
    });

    it('keeps every upload as history, newest first, stamped by the server', async () => {
      const fresh = await t.createTask(t.adminToken, 'history');
      await t.upload(fresh, { consistency_result: [result('/a')] });
      t.advanceClock(1000);
      await t.upload(fresh, {
        consistency_result: [
          result('/a', { num_different_files: 0, num_target_miss_files: 0, num_target_more_files: 0 }),
        ],
      });
      const { task_id, result_list } = await history(fresh);
      expect(task_id).toBe(fresh);
      expect(result_list.map((e) => e.check_result)).toEqual(['CONSISTENT', 'INCONSISTENT']);
      expect(result_list[0]!.finished_time - result_list[1]!.finished_time).toBe(1000);
    });

    describe('limits of the page, at their edges', () => {
      const many = (n: number) => Array.from({ length: n }, (_, i) => result(`/d${i}`));
      it('accepts 30 results and refuses 31 naming the field', async () => {
        expect((await t.upload(taskId, { consistency_result: many(30) })).status).toBe(200);
        const res = await t.upload(taskId, { consistency_result: many(31) });
        expect(res.status).toBe(400);
        expect(await errorOf(res)).toEqual({
          error_code: 'SMS.1001',
          error_msg: 'consistency_result: expected at most 30 items, received 31',
        });
      });

      it('accepts counts of 0 and 1,000,000 and refuses 1,000,001 and -1', async () => {
        const max = {
          num_total_files: 1_000_000,
          num_different_files: 0,
          num_target_miss_files: 1_000_000,
          num_target_more_files: 1_000_000,
        };
        expect((await t.upload(taskId, { consistency_result: [result('/max', max)] })).status).toBe(200);
        const zero = {
          num_total_files: 0,
          num_different_files: 0,
          num_target_miss_files: 0,
          num_target_more_files: 0,
        };
        expect((await t.upload(taskId, { consistency_result: [result('/zero', zero)] })).status).toBe(200);
        const over = await t.upload(taskId, {
          consistency_result: [result('/a'), result('/over', { num_target_more_files: 1_000_001 })],
        });
        expect(over.status).toBe(400);
        expect((await errorOf(over)).error_msg).toBe(
          'consistency_result[1].num_target_more_files: expected integer <= 1000000, received 1000001',
        );
        const negative = await t.upload(taskId, {
          consistency_result: [result('/neg', { num_total_files: -1 })],
        });
        expect((await errorOf(negative)).error_msg).toBe(
          'consistency_result[0].num_total_files: expected integer >= 0, received -1',
        );
      });

      it('accepts a dir_check of 1024 characters and refuses 1025', async () => {
        expect(
          (await t.upload(taskId, { consistency_result: [result(`/${'a'.repeat(1023)}`)] })).status,
        ).toBe(200);
        const res = await t.upload(taskId, { consistency_result: [result(`/${'a'.repeat(1024)}`)] });
        expect((await errorOf(res)).error_msg).toBe(
          'consistency_result[0].dir_check: expected at most 1024 characters, received 1025',
        );
      });

      it('refuses "12", 1.5, null, a missing field and the cross-field rule, each naming the field', async () => {
        const cases: [unknown, string][] = [
          [
            { ...result('/s'), num_total_files: '12' },
            'consistency_result[0].num_total_files: expected integer, received "12"',
          ],
          [
            { ...result('/f'), num_different_files: 1.5 },
            'consistency_result[0].num_different_files: expected integer, received 1.5',
          ],
          [
            { ...result('/n'), num_target_miss_files: null },
            'consistency_result[0].num_target_miss_files: expected integer, received null',
          ],
          [
            { dir_check: '/m', num_total_files: 1, num_different_files: 0, num_target_miss_files: 0 },
            'consistency_result[0].num_target_more_files: is required',
          ],
          [
            result('/x', { num_total_files: 2, num_different_files: 2, num_target_miss_files: 1 }),
            'consistency_result[0]: num_different_files + num_target_miss_files must not exceed num_total_files',
          ],
        ];
        for (const [entry, message] of cases) {
          const res = await t.upload(taskId, { consistency_result: [entry] });
          expect(res.status).toBe(400);
          expect((await errorOf(res)).error_msg.startsWith(message)).toBe(true);
        }
      });

      it('refuses two results with the same dir_check', async () => {
        const res = await t.upload(taskId, { consistency_result: [result('/same'), result('/same')] });
        expect((await errorOf(res)).error_msg).toMatch(/^consistency_result\[1\]\.dir_check: duplicates/);
      });

      it('accepts a task id of 36 characters and refuses 37 naming task_id', async () => {
        const unknown36 = 'x'.repeat(36);
        expect((await t.upload(unknown36, {})).status).toBe(404);
        const res = await t.upload('x'.repeat(37), {});
        expect(res.status).toBe(400);
        expect(await errorOf(res)).toEqual({
          error_code: 'SMS.1001',
          error_msg: 'task_id: expected at most 36 characters, received 37',
        });
      });

      it('refuses an empty task id with 400 naming task_id', async () => {
        const res = await t.request('/v3/tasks//consistency-result', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-auth-token': t.adminToken },
          body: '{}',
        });
        expect(res.status).toBe(400);
        expect((await errorOf(res)).error_msg).toBe('task_id: must not be empty');
      });
    });

    describe('the order of checks', () => {
      it('refuses a missing token with 403 before looking at an invalid body', async () => {
        const res = await t.upload(taskId, 'not json', {}, null);
        expect(res.status).toBe(403);
        const body = await forbiddenOf(res);
        expect(body.error_code).toBe('SMS.9001');
        expect(body.error_msg).toMatch(/^Authentication failed/);
      });

      it('refuses an invalid body with 400 before looking up the task', async () => {
        const res = await t.upload('no-such-task', {
          consistency_result: [result('/a', { num_total_files: -5 })],
        });
        expect(res.status).toBe(400);
      });

      it('answers 404 for an unknown task with a valid body', async () => {
        const res = await t.upload('no-such-task', { consistency_result: [result('/a')] });
        expect(res.status).toBe(404);
        expect(await errorOf(res)).toEqual({
          error_code: 'SMS.3001',
          error_msg: 'The task "no-such-task" was not found.',
        });
      });

      it("answers 403 SMS.9004 naming the action and resource for another project's task", async () => {
        const other = await t.userWithToken('other-admin', 'admin', 'other-project');
        const res = await t.upload(taskId, { consistency_result: [result('/a')] }, {}, other.token);
        expect(res.status).toBe(403);
        const body = await forbiddenOf(res);
        expect(body.error_code).toBe('SMS.9004');
        expect(body.error_msg).toBe(
          `The current account does not have the permission to execute policy. You do not have permission to perform action sms:server:updateConsistencyCheckResult on resource task:${taskId}.`,
        );
        expect(body.error_param).toEqual([
          `You do not have permission to perform action sms:server:updateConsistencyCheckResult on resource task:${taskId}.`,
        ]);
        expect(body.details[0]?.error_code).toBe('SMS.9004');
      });

      it('answers 403 SMS.9004 to a viewer and accepts an agent', async () => {
        const viewer = await t.userWithToken('viewer-1', 'viewer');
        const agent = await t.userWithToken('agent-1', 'agent');
        expect((await forbiddenOf(await t.upload(taskId, {}, {}, viewer.token))).error_code).toBe('SMS.9004');
        expect(
          (await t.upload(taskId, { consistency_result: [result('/agent')] }, {}, agent.token)).status,
        ).toBe(200);
      });
    });

    describe('tokens', () => {
      it('refuses a malformed, forged, over-long, expired or revoked token with 403 SMS.9001', async () => {
        const [prefix, claims] = t.adminToken.split('.');
        const forged = `${prefix}.${claims}.${Buffer.alloc(32, 7).toString('base64url')}`;
        for (const token of ['garbage', forged, 't'.repeat(16_385)]) {
          const res = await t.upload(taskId, {}, {}, token);
          expect(res.status).toBe(403);
          expect((await forbiddenOf(res)).error_code).toBe('SMS.9001');
        }
        const user = await t.userWithToken('short-lived', 'agent');
        t.advanceClock(3601 * 1000);
        expect((await forbiddenOf(await t.upload(taskId, {}, {}, user.token))).error_code).toBe('SMS.9001');
        t.advanceClock(-3601 * 1000);
        expect((await t.upload(taskId, {}, {}, user.token)).status).toBe(200);
        await t.services.users.setPassword('short-lived', 'a-new-password');
        expect((await t.upload(taskId, {}, {}, user.token)).status).toBe(403);
        const removed = await t.userWithToken('removed', 'agent');
        await t.services.users.removeUser('removed');
        expect((await t.upload(taskId, {}, {}, removed.token)).status).toBe(403);
      });

      it('puts a reason only an admin can read into encoded_authorization_message', async () => {
        const viewer = await t.userWithToken('viewer-2', 'viewer');
        const denied = await forbiddenOf(await t.upload(taskId, {}, {}, viewer.token));
        const decode = (token: string) =>
          t.request('/v3/auth/decode-authorization-message', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-auth-token': token },
            body: JSON.stringify({ encoded_authorization_message: denied.encoded_authorization_message }),
          });
        const res = await decode(t.adminToken);
        expect(res.status).toBe(200);
        expect(((await res.json()) as { decoded_message: object }).decoded_message).toMatchObject({
          reason: 'role viewer does not allow sms:server:updateConsistencyCheckResult',
          action: 'sms:server:updateConsistencyCheckResult',
          user: 'viewer-2',
          project: 'default',
        });
        expect(denied.encoded_authorization_message).not.toContain('viewer');
        expect((await decode(viewer.token)).status).toBe(403);
        // an admin of another project does not read what was given to a user of this one
        const elsewhere = await t.userWithToken('admin-elsewhere', 'admin', 'elsewhere');
        const refused = await decode(elsewhere.token);
        expect(refused.status).toBe(403);
        expect(JSON.stringify(await refused.json())).not.toContain('viewer-2');
      });
    });

    describe('malformed requests get 400 with a catalog code, never 500', () => {
      it.each([
        ['malformed JSON', '{"consistency_result": [', { 'content-type': 'application/json' }, 'SMS.1002'],
        ['an empty body', '', { 'content-type': 'application/json' }, 'SMS.1002'],
        ['a wrong content type', '{}', { 'content-type': 'text/plain' }, 'SMS.2006'],
        // JSON is read as UTF-8 only: another charset is refused, not misread
        ['JSON in Latin-1', '{}', { 'content-type': 'application/json; charset=iso-8859-1' }, 'SMS.2006'],
        ['JSON in UTF-16', '{}', { 'content-type': 'application/json;charset="utf-16"' }, 'SMS.2006'],
        [
          'a charset after a quoted parameter',
          '{}',
          { 'content-type': 'application/json; foo="a;b" ; charset=latin1' },
          'SMS.2006',
        ],
        ['an application/jsonx', '{}', { 'content-type': 'application/jsonx' }, 'SMS.2006'],
        ['a missing content type', '{}', { 'content-type': '' }, 'SMS.2005'],
        ['a JSON array', '[]', { 'content-type': 'application/json' }, 'SMS.1001'],
        [
          'a misspelt field',
          '{"consistency_results": []}',
          { 'content-type': 'application/json' },
          'SMS.1001',
        ],
      ])('%s', async (_name, body, headers, code) => {
        const res = await t.upload(taskId, body, headers);
        expect(res.status).toBe(400);
        expect((await errorOf(res)).error_code).toBe(code);
      });

      it('accepts application/json;charset=UTF-8 as the page sends it', async () => {
        expect(
          (await t.upload(taskId, '{}', { 'content-type': 'application/json;charset=UTF-8' })).status,
        ).toBe(200);
        for (const contentType of [
          'application/json; charset="utf-8"',
          'Application/JSON; foo=bar',
          'application/json;charset=utf8',
          'application/json; foo="a;charset=x"; charset=UTF-8',
        ])
          expect((await t.upload(taskId, '{}', { 'content-type': contentType })).status).toBe(200);
      });

      it('refuses a body that is not UTF-8', async () => {
        const res = await t.request(`/v3/tasks/${taskId}/consistency-result`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-auth-token': t.adminToken },
          body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
        });
        expect(await errorOf(res)).toEqual({
          error_code: 'SMS.1002',
          error_msg: 'The request body is not valid UTF-8.',
        });
      });

      it('refuses a body over the size limit and accepts one just under it', async () => {
        const pad = (size: number) => `{"consistency_result":[]${' '.repeat(size - 25)}}`;
        expect(pad(BODY_LIMIT_BYTES)).toHaveLength(BODY_LIMIT_BYTES);
        expect((await t.upload(taskId, pad(BODY_LIMIT_BYTES))).status).toBe(200);
        const res = await t.upload(taskId, pad(BODY_LIMIT_BYTES + 1));
        expect(res.status).toBe(400);
        expect((await errorOf(res)).error_code).toBe('SMS.2004');
      });

      it('refuses an over-size body sent without a length (streamed)', async () => {
        const chunk = new TextEncoder().encode(' '.repeat(64 * 1024));
        let sent = 0;
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent > BODY_LIMIT_BYTES * 2) return controller.close();
            sent += chunk.byteLength;
            controller.enqueue(chunk);
          },
        });
        const res = await t.request(`/v3/tasks/${taskId}/consistency-result`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-auth-token': t.adminToken },
          body: stream,
          duplex: 'half',
        } as RequestInit);
        expect((await errorOf(res)).error_code).toBe('SMS.2004');
      });

      it('refuses an invalid Idempotency-Key naming the header', async () => {
        const res = await t.upload(taskId, {}, { 'idempotency-key': 'has space' });
        expect(await errorOf(res)).toEqual({
          error_code: 'SMS.1001',
          error_msg: 'Idempotency-Key: expected printable ASCII characters without spaces',
        });
      });
    });

    describe('idempotency', () => {
      it('stores a retried upload once and refuses the key with other results', async () => {
        const fresh = await t.createTask(t.adminToken, 'idempotent');
        const body = { consistency_result: [result('/once')] };
        const key = { 'idempotency-key': 'upload-0001' };
        expect((await t.upload(fresh, body, key)).status).toBe(200);
        expect((await t.upload(fresh, body, key)).status).toBe(200);
        expect((await history(fresh)).result_list).toHaveLength(1);
        const conflict = await t.upload(fresh, { consistency_result: [result('/other')] }, key);
        expect(conflict.status).toBe(409);
        expect((await errorOf(conflict)).error_code).toBe('SMS.1003');
        // the same key on another task is another upload
        const second = await t.createTask(t.adminToken, 'idempotent-2');
        expect((await t.upload(second, body, key)).status).toBe(200);
        expect((await history(second)).result_list).toHaveLength(1);
      });

      it('stores concurrent retries of one upload once', async () => {
        const fresh = await t.createTask(t.adminToken, 'concurrent');
        const body = { consistency_result: [result('/race')] };
        const answers = await Promise.all(
          Array.from({ length: 8 }, () => t.upload(fresh, body, { 'idempotency-key': 'race-1' })),
        );
        expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
        expect((await history(fresh)).result_list).toHaveLength(1);
      });
    });

    it('carries X-Request-Id on every answer, echoing a plain one and replacing a hostile one', async () => {
      const echoed = await t.upload(taskId, {}, { 'x-request-id': 'agent-42.1' });
      expect(echoed.headers.get('x-request-id')).toBe('agent-42.1');
      const refused = await t.upload(taskId, 'nope', { 'x-request-id': 'a b\u0001' });
      expect(refused.status).toBe(400);
      expect(refused.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const denied = await t.upload(taskId, {}, {}, null);
      expect(denied.headers.get('x-request-id')).toBeTruthy();
    });
  },
);
