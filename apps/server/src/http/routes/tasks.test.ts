import {
  ErrorResponseSchema,
  ForbiddenErrorResponseSchema,
  ListTasksResponseSchema,
  TaskSchema,
} from '@sms/domain';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../testing/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const get = (path: string, token = t.adminToken) => t.request(path, { headers: { 'x-auth-token': token } });

describe('tasks', () => {
  it('creates a task in the caller project and shows it', async () => {
    const id = await t.createTask(t.adminToken, 'web-01');
    const res = await get(`/v3/tasks/${id}`);
    expect(res.status).toBe(200);
    const task = v.parse(TaskSchema, await res.json());
    expect(task).toMatchObject({
      id,
      name: 'web-01',
      type: 'MIGRATE_FILE',
      state: 'READY',
      project_name: 'default',
    });
    expect(task.start_date).toBeNull();
  });

  it('refuses an invalid task body with 400 naming the field', async () => {
    const res = await t.request('/v3/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': t.adminToken },
      body: JSON.stringify({ name: '' }),
    });
    expect(res.status).toBe(400);
    expect(v.parse(ErrorResponseSchema, await res.json()).error_msg).toBe('name: must not be empty');
  });

  it('lists tasks newest first with count, filters and paging', async () => {
    const { storage } = t;
    const project = await storage.accounts.findProject({ name: 'default' });
    for (const name of ['db-01', 'db-02', 'cache-01']) await t.createTask(t.adminToken, name);
    const all = v.parse(ListTasksResponseSchema, await (await get('/v3/tasks')).json());
    expect(all.count).toBeGreaterThanOrEqual(4);
    const named = v.parse(ListTasksResponseSchema, await (await get('/v3/tasks?name=DB-0&limit=1')).json());
    expect(named.count).toBe(2);
    expect(named.tasks).toHaveLength(1);
    const page2 = v.parse(
      ListTasksResponseSchema,
      await (await get('/v3/tasks?name=db-0&limit=1&offset=1')).json(),
    );
    expect(page2.tasks[0]?.id).not.toBe(named.tasks[0]?.id);
    const ready = v.parse(ListTasksResponseSchema, await (await get('/v3/tasks?state=SYNCING')).json());
    expect(ready).toEqual({ count: 0, tasks: [] });
    expect(project).toBeDefined();
  });

  it('treats % and _ in the name filter as plain characters', async () => {
    await t.createTask(t.adminToken, 'odd_100%');
    const body = v.parse(ListTasksResponseSchema, await (await get('/v3/tasks?name=_100%25')).json());
    expect(body.tasks.map((task) => task.name)).toEqual(['odd_100%']);
    const none = v.parse(ListTasksResponseSchema, await (await get('/v3/tasks?name=%25%25')).json());
    expect(none.count).toBe(0);
  });

  it.each([
    ['limit=0', 'limit: expected integer >= 1, received 0'],
    ['limit=101', 'limit: expected integer <= 100, received 101'],
    ['offset=-1', 'offset: expected a non-negative integer'],
    ['state=DONE', 'state: expected one of'],
    ['colour=red', 'colour: is not a field of this object; remove it'],
  ])('refuses the query %s with 400 naming it', async (query, message) => {
    const res = await get(`/v3/tasks?${query}`);
    expect(res.status).toBe(400);
    expect(v.parse(ErrorResponseSchema, await res.json()).error_msg.startsWith(message)).toBe(true);
  });

  it('accepts limit 1 and 100', async () => {
    expect((await get('/v3/tasks?limit=1')).status).toBe(200);
    expect((await get('/v3/tasks?limit=100')).status).toBe(200);
  });

  it("keeps projects apart: another project's tasks are not listed and answer 403 SMS.9004", async () => {
    const id = await t.createTask(t.adminToken, 'private');
    const stranger = await t.userWithToken('stranger', 'admin', 'elsewhere');
    const list = v.parse(ListTasksResponseSchema, await (await get('/v3/tasks', stranger.token)).json());
    expect(list).toEqual({ count: 0, tasks: [] });
    for (const res of [
      await get(`/v3/tasks/${id}`, stranger.token),
      await get(`/v3/tasks/${id}/consistency-result`, stranger.token),
      await t.request(`/v3/tasks/${id}`, { method: 'DELETE', headers: { 'x-auth-token': stranger.token } }),
    ]) {
      expect(res.status).toBe(403);
      expect(v.parse(ForbiddenErrorResponseSchema, await res.json()).error_code).toBe('SMS.9004');
    }
  });

  it('lets a viewer read but not create or delete, and an agent not read results', async () => {
    const id = await t.createTask(t.adminToken, 'roles');
    const viewer = await t.userWithToken('task-viewer', 'viewer');
    const agent = await t.userWithToken('task-agent', 'agent');
    expect((await get(`/v3/tasks/${id}`, viewer.token)).status).toBe(200);
    expect((await get(`/v3/tasks/${id}/consistency-result`, viewer.token)).status).toBe(200);
    expect((await get(`/v3/tasks/${id}/consistency-result`, agent.token)).status).toBe(403);
    const create = await t.request('/v3/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': viewer.token },
      body: JSON.stringify({ name: 'nope' }),
    });
    expect(create.status).toBe(403);
    const del = await t.request(`/v3/tasks/${id}`, {
      method: 'DELETE',
      headers: { 'x-auth-token': agent.token },
    });
    expect(del.status).toBe(403);
  });

  it('deletes a task and its results; then it is 404', async () => {
    const id = await t.createTask(t.adminToken, 'doomed');
    await t.upload(id, { consistency_result: [] });
    const res = await t.request(`/v3/tasks/${id}`, {
      method: 'DELETE',
      headers: { 'x-auth-token': t.adminToken },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect((await get(`/v3/tasks/${id}`)).status).toBe(404);
    expect((await get(`/v3/tasks/${id}/consistency-result`)).status).toBe(404);
    expect(await t.storage.uploads.countUploads(id)).toBe(0);
  });

  it('answers 404 SMS.3001 for an unknown task and 400 for a 37-character id', async () => {
    const res = await get('/v3/tasks/unknown');
    expect(v.parse(ErrorResponseSchema, await res.json()).error_code).toBe('SMS.3001');
    expect((await get(`/v3/tasks/${'y'.repeat(37)}`)).status).toBe(400);
  });

  it('refuses the task routes without a token', async () => {
    for (const res of [await t.request('/v3/tasks'), await t.request('/v3/tasks/x')]) {
      expect(res.status).toBe(403);
      expect(v.parse(ForbiddenErrorResponseSchema, await res.json()).error_code).toBe('SMS.9001');
    }
  });
});
