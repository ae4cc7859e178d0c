import { StorageError } from '@sms/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStorage, result, type TestDialect } from '../testing/app.js';
import { type Storage, UniqueViolation } from './storage.js';

describe.each<TestDialect>(['sqlite', 'postgres'])('storage on %s', (dialect) => {
  let storage: Storage;
  let cleanup: () => Promise<void>;
  let projectId: string;
  beforeAll(async () => {
    ({ storage, cleanup } = await openTestStorage(dialect));
    projectId = (await storage.accounts.createProject('alpha', 1)).id;
  });
  afterAll(() => cleanup());

  it(`reports its dialect and answers a ping`, async () => {
    expect(storage.dialect).toBe(dialect);
    await expect(storage.ping()).resolves.toBeUndefined();
  });

  it('keeps one secret per name, the first one generated', async () => {
    const first = await storage.signIn.secret('s', () => 'one');
    const second = await storage.signIn.secret('s', () => 'two');
    expect([first, second]).toEqual(['one', 'one']);
  });

  it('refuses a second project or user of the same name with UniqueViolation', async () => {
    await expect(storage.accounts.createProject('alpha', 2)).rejects.toBeInstanceOf(UniqueViolation);
    await storage.accounts.createUser({ name: 'u1', passwordHash: 'h' }, 1);
    await expect(storage.accounts.createUser({ name: 'u1', passwordHash: 'h' }, 1)).rejects.toBeInstanceOf(
      UniqueViolation,
    );
  });

  it('finds a principal by user and project, and moves the token generation on a password change', async () => {
    const user = await storage.accounts.createUser({ name: 'u2', passwordHash: 'h' }, 1);
    expect(await storage.accounts.principal(user.id, projectId)).toBeUndefined();
    await storage.accounts.setMembership(user.id, projectId, 'agent');
    expect((await storage.accounts.principal(user.id, projectId))?.role).toBe('agent');
    await storage.accounts.setMembership(user.id, projectId, 'viewer');
    expect((await storage.accounts.principal(user.id, projectId))?.role).toBe('viewer');
    await storage.accounts.setPassword(user.id, 'h2');
    const after = await storage.accounts.principal(user.id, projectId);
    expect(after?.user.token_generation).toBe(1);
    expect(after?.user.password_hash).toBe('h2');
    await storage.accounts.deleteUser(user.id);
    expect(await storage.accounts.principal(user.id, projectId)).toBeUndefined();
  });

  it('stores uploads with their counts and lists them newest first', async () => {
    const taskId = await storage.tasks.createTask({ projectId, name: 'web', type: 'MIGRATE_FILE' }, 10);
    const base = {
      taskId,
      runId: 'run-test',
      checkResult: 'INCONSISTENT',
      idempotencyKey: undefined,
      requestHash: 'h',
    };
    await storage.uploads.storeUpload({ ...base, finishedTime: 100, results: [result('/a')] });
    await storage.uploads.storeUpload({
      ...base,
      finishedTime: 200,
      results: [result('/b'), result('/c', { num_total_files: 1_000_000 })],
    });
    await storage.uploads.storeUpload({ ...base, finishedTime: 200, results: [] });
    const list = await storage.uploads.listUploads(taskId);
    expect(list.map((e) => e.finished_time)).toEqual([200, 200, 100]);
    expect(list[0]?.consistency_result).toEqual([]);
    expect(list[1]?.consistency_result.map((r) => r.dir_check)).toEqual(['/b', '/c']);
    expect(list[1]?.consistency_result[1]?.num_total_files).toBe(1_000_000);
    expect(await storage.uploads.countUploads(taskId)).toBe(3);
  });

  it('stores one upload per idempotency key, also under concurrent retries', async () => {
    const taskId = await storage.tasks.createTask({ projectId, name: 'retry', type: 'MIGRATE_FILE' }, 10);
    const upload = {
      taskId,
      runId: 'run-test',
      finishedTime: 5,
      checkResult: 'CONSISTENT',
      idempotencyKey: 'k1',
      requestHash: 'h1',
      results: [],
    };
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => storage.uploads.storeUpload(upload)));
    expect(outcomes.filter((o) => o.kind === 'stored')).toHaveLength(1);
    expect(
      outcomes
        .filter((o) => o.kind === 'replayed')
        .every((o) => o.kind === 'replayed' && o.requestHash === 'h1'),
    ).toBe(true);
    expect(await storage.uploads.countUploads(taskId)).toBe(1);
  });

  it('says task-missing for an upload whose task was deleted before the commit', async () => {
    const outcome = await storage.uploads.storeUpload({
      taskId: 'deleted-meanwhile',
      runId: 'run-test',
      finishedTime: 1,
      checkResult: 'NO_RESULT',
      idempotencyKey: undefined,
      requestHash: 'h',
      results: [],
    });
    expect(outcome).toEqual({ kind: 'task-missing' });
  });

  it('deletes a task while retries of a stored upload arrive, without a deadlock', async () => {
    // PostgreSQL: the upload locks the task's row, then waits on the key's row that the delete
    // removes; a delete that removed the uploads before locking the task waited on the upload in turn
    for (let round = 0; round < 20; round++) {
      const taskId = await storage.tasks.createTask(
        { projectId, name: `gone-${round}`, type: 'MIGRATE_FILE' },
        10,
      );
      const upload = {
        taskId,
        runId: 'run-test',
        finishedTime: 5,
        checkResult: 'CONSISTENT',
        idempotencyKey: 'k-retried',
        requestHash: 'h1',
        results: [result('/a')],
      };
      expect((await storage.uploads.storeUpload(upload)).kind).toBe('stored');
      const [deleted, ...retries] = await Promise.all([
        storage.tasks.deleteTask(taskId),
        ...Array.from({ length: 3 }, () => storage.uploads.storeUpload(upload)),
      ]);
      expect(deleted).toBe(true);
      for (const retry of retries) expect(['replayed', 'task-missing']).toContain(retry.kind);
      expect(await storage.uploads.countUploads(taskId)).toBe(0);
    }
  });

  it('commits a burst of concurrent uploads, each answered once stored', async () => {
    const taskId = await storage.tasks.createTask({ projectId, name: 'burst', type: 'MIGRATE_FILE' }, 10);
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        storage.uploads.storeUpload({
          taskId,
          runId: 'run-test',
          finishedTime: i,
          checkResult: 'CONSISTENT',
          idempotencyKey: `b-${i}`,
          requestHash: `h${i}`,
          results: [result(`/b${i}`)],
        }),
      ),
    );
    expect(outcomes.every((o) => o.kind === 'stored')).toBe(true);
    expect(await storage.uploads.countUploads(taskId)).toBe(50);
  });

  it('filters and pages tasks, and deletes a task with its uploads', async () => {
    const other = (await storage.accounts.createProject('beta', 1)).id;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        await storage.tasks.createTask(
          { projectId: other, name: `host-${i}`, type: 'MIGRATE_BLOCK' },
          1000 + i,
        ),
      );
    const page = await storage.tasks.listTasks(other, { limit: 2, offset: 1 });
    expect(page.count).toBe(5);
    expect(page.tasks.map((t) => t.name)).toEqual(['host-3', 'host-2']);
    expect((await storage.tasks.listTasks(other, { name: 'HOST-4' })).tasks.map((t) => t.id)).toEqual([
      ids[4],
    ]);
    expect((await storage.tasks.listTasks(other, { state: 'READY' })).count).toBe(5);
    expect((await storage.tasks.listTasks(other, { id: ids[0]! })).count).toBe(1);
    await storage.uploads.storeUpload({
      taskId: ids[0]!,
      runId: 'run-test',
      finishedTime: 1,
      checkResult: 'NO_RESULT',
      idempotencyKey: undefined,
      requestHash: 'h',
      results: [],
    });
    expect(await storage.tasks.deleteTask(ids[0]!)).toBe(true);
    expect(await storage.tasks.deleteTask(ids[0]!)).toBe(false);
    expect(await storage.tasks.getTask(ids[0]!)).toBeUndefined();
    expect(await storage.uploads.countUploads(ids[0]!)).toBe(0);
  });

  it('summarises tasks by their latest upload: verdict filter, sorts, never-verified last, counts', async () => {
    const project = (await storage.accounts.createProject('summaries', 1)).id;
    const task = (name: string) =>
      storage.tasks.createTask({ projectId: project, name, type: 'MIGRATE_FILE' }, 1);
    const store = (taskId: string, time: number, different: number) =>
      storage.uploads.storeUpload({
        taskId,
        runId: 'run-test',
        finishedTime: time,
        checkResult: different === 0 ? 'CONSISTENT' : 'INCONSISTENT',
        idempotencyKey: undefined,
        requestHash: 'h',
        results: [
          result('/d', {
            num_total_files: 100,
            num_different_files: different,
            num_target_miss_files: 0,
            num_target_more_files: 0,
          }),
        ],
      });
    const a = await task('a-web');
    const b = await task('B-web');
    const c = await task('c-db');
    await task('d_web'); // never verified
    await store(a, 10, 0);
    await store(a, 20, 7); // a's latest: inconsistent
    await store(b, 30, 0);
    await store(b, 5, 9); // older than b's first: b's latest stays consistent
    await storage.uploads.storeUpload({
      taskId: c,
      runId: 'run-test',
      finishedTime: 40,
      checkResult: 'NO_RESULT',
      idempotencyKey: undefined,
      requestHash: 'h',
      results: [],
    });
    const names = async (query: Partial<Parameters<Storage['summaries']['taskSummaries']>[1]>) =>
      (
        await storage.summaries.taskSummaries(project, {
          sort: 'verdict',
          order: 'asc',
          limit: 10,
          offset: 0,
          ...query,
        })
      ).map((t) => t.name);
    expect(await names({})).toEqual(['a-web', 'c-db', 'd_web', 'B-web']);
    expect(await names({ order: 'desc' })).toEqual(['B-web', 'd_web', 'c-db', 'a-web']);
    expect(await names({ verdict: 'inconsistent' })).toEqual(['a-web']);
    expect(await names({ verdict: 'never' })).toEqual(['d_web']);
    expect(await names({ verdict: 'no-result' })).toEqual(['c-db']);
    expect(await names({ q: 'WEB', sort: 'name' })).toEqual(['a-web', 'B-web', 'd_web']);
    expect(await names({ q: '_' })).toEqual(['d_web']);
    expect(await names({ sort: 'last', order: 'desc' })).toEqual(['c-db', 'B-web', 'a-web', 'd_web']);
    expect(await names({ sort: 'last', order: 'asc' })).toEqual(['a-web', 'B-web', 'c-db', 'd_web']);
    expect(await names({ sort: 'different', order: 'desc', limit: 2, offset: 1 })).toEqual(['B-web', 'c-db']);
    const tasks = await storage.summaries.taskSummaries(project, {
      sort: 'name',
      order: 'asc',
      limit: 1,
      offset: 0,
      verdict: 'inconsistent',
    });
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      id: a,
      verdict: 'inconsistent',
      num_total_files: 100,
      num_different_files: 7,
      finished_time: 20,
    });
    expect(await storage.summaries.verdictCounts(project, undefined)).toEqual({
      inconsistent: 1,
      'no-result': 1,
      never: 1,
      consistent: 1,
    });
    expect(await storage.summaries.verdictCounts(project, 'web')).toEqual({
      inconsistent: 1,
      'no-result': 0,
      never: 1,
      consistent: 1,
    });
    const recent = await storage.summaries.recentUploads(a, 1);
    expect(recent).toEqual([
      expect.objectContaining({
        finished_time: 20,
        check_result: 'INCONSISTENT',
        num_different_files: 7,
        results: [expect.objectContaining({ dir_check: '/d' })],
      }),
    ]);
  });

  it("moves a task's pointer and each directory's result only forward, also under concurrent uploads", async () => {
    const project = (await storage.accounts.createProject('burst', 1)).id;
    const taskId = await storage.tasks.createTask(
      { projectId: project, name: 'burst', type: 'MIGRATE_FILE' },
      1,
    );
    const times = [50, 10, 90, 30, 70, 20, 100, 80, 60, 40, 5, 100];
    await Promise.all(
      times.map((time, i) =>
        storage.uploads.storeUpload({
          taskId,
          runId: 'run-test',
          finishedTime: time,
          checkResult: 'INCONSISTENT',
          idempotencyKey: undefined,
          requestHash: `h${i}`,
          results: [result('/same', { num_total_files: time * 100 + i })],
        }),
      ),
    );
    const [row] = await storage.summaries.taskSummaries(project, {
      sort: 'name',
      order: 'asc',
      limit: 1,
      offset: 0,
    });
    const [newest] = await storage.summaries.recentUploads(taskId, 1);
    expect(row?.finished_time).toBe(100);
    // the directory's result is the very upload the history calls newest: of the two at 100, the one stored last
    expect(newest?.finished_time).toBe(100);
    expect(row?.dir_count).toBe(1);
    expect(row?.num_total_files).toBe(newest?.num_total_files);
    expect((await storage.summaries.taskDirectories(taskId, { limit: 10, offset: 0 }))[0]).toMatchObject({
      upload_id: newest?.id,
      finished_time: 100,
    });
  });

  it("keeps each directory's newest result: a verification split over uploads adds up, a re-verification replaces", async () => {
    const project = (await storage.accounts.createProject('split', 1)).id;
    const taskId = await storage.tasks.createTask(
      { projectId: project, name: 'split', type: 'MIGRATE_FILE' },
      1,
    );
    const store = (time: number, results: ReturnType<typeof result>[]) =>
      storage.uploads.storeUpload({
        taskId,
        runId: 'run-test',
        finishedTime: time,
        checkResult: 'INCONSISTENT',
        idempotencyKey: undefined,
        requestHash: `h${time}`,
        results,
      });
    const clean = { num_different_files: 0, num_target_miss_files: 0, num_target_more_files: 0 };
    // 31 directories: the agent sends 30, then 1
    await store(
      10,
      Array.from({ length: 30 }, (_, i) => result(`/d${i}`, { num_total_files: 10, ...clean })),
    );
    await store(11, [
      result('/d30', {
        num_total_files: 10,
        num_different_files: 2,
        num_target_miss_files: 0,
        num_target_more_files: 0,
      }),
    ]);
    const summary = () => storage.summaries.taskSummary(project, taskId);
    expect(await summary()).toMatchObject({
      verdict: 'inconsistent',
      dir_count: 31,
      num_total_files: 310,
      num_different_files: 2,
      inconsistent_dirs: 1,
      finished_time: 11,
    });
    // /d30 fixed and verified again on its own: the task is consistent, the other 30 still count
    await store(12, [result('/d30', { num_total_files: 10, ...clean })]);
    expect(await summary()).toMatchObject({
      verdict: 'consistent',
      dir_count: 31,
      num_total_files: 310,
      num_different_files: 0,
    });
    expect(await storage.summaries.taskSummary(project, 'no-such-task')).toBeUndefined();
    expect(await storage.summaries.taskDirectories(taskId, { limit: 100, offset: 0 })).toHaveLength(31);
  });

  it('loses no directory when many uploads to one task are stored at once', async () => {
    const project = (await storage.accounts.createProject('crowd', 1)).id;
    const taskId = await storage.tasks.createTask(
      { projectId: project, name: 'crowd', type: 'MIGRATE_FILE' },
      1,
    );
    const outcomes = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        storage.uploads.storeUpload({
          taskId,
          runId: 'run-test',
          finishedTime: 1000 + (i % 5),
          checkResult: 'INCONSISTENT',
          idempotencyKey: `k${i}`,
          requestHash: `h${i}`,
          results: [result(`/c${i}`, { num_total_files: i + 1 })],
        }),
      ),
    );
    expect(outcomes.every((o) => o.kind === 'stored')).toBe(true);
    expect(await storage.summaries.taskSummary(project, taskId)).toMatchObject({
      dir_count: 24,
      num_total_files: (24 * 25) / 2,
      finished_time: 1004,
    });
    expect(await storage.uploads.countUploads(taskId)).toBe(24);
  });

  it('keeps sessions by hash, finds and deletes them, and sweeps expired ones on the next sign-in', async () => {
    const user = await storage.accounts.createUser({ name: 'session-user', passwordHash: 'h' }, 1);
    const row = (id: string, expires: number) => ({
      id_hash: id,
      user_id: user.id,
      project_id: projectId,
      token_generation: 0,
      csrf_token: 'c',
      created_at: 100,
      expires_at: expires,
    });
    await storage.signIn.createSession(row('old', 150));
    expect(await storage.signIn.findSession('old')).toMatchObject({ expires_at: 150 });
    await storage.signIn.createSession({ ...row('new', 1000), created_at: 200 });
    expect(await storage.signIn.findSession('old')).toBeUndefined();
    await storage.signIn.deleteSession('new');
    expect(await storage.signIn.findSession('new')).toBeUndefined();
    // a removed user takes its sessions with it
    await storage.signIn.createSession({ ...row('gone', 1000), created_at: 200 });
    await storage.accounts.deleteUser(user.id);
    expect(await storage.signIn.findSession('gone')).toBeUndefined();
  });

  it('turns a driver failure into a StorageError once closed', async () => {
    const { storage: doomed, cleanup: done } = await openTestStorage(dialect);
    await doomed.close();
    await expect(doomed.ping()).rejects.toBeInstanceOf(StorageError);
    await done();
  });

  it('migrates an already migrated database again without harm', async () => {
    // opening runs the migrations; a second storage on the same database finds nothing to do
    await expect(storage.accounts.countUsers()).resolves.toBeGreaterThanOrEqual(1);
  });
});
