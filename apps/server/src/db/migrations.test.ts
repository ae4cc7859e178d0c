import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { Storage } from '../storage/storage.js';
import type { TestDialect } from '../testing/app.js';
import { createTestDatabase } from '../testing/postgres.js';
import { connect } from './connect.js';
import { migrateToLatest } from './migrations.js';

describe.each<TestDialect>(['sqlite', 'postgres'])('migrations on %s', (dialect) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function database() {
    if (dialect === 'postgres') {
      const created = await createTestDatabase();
      cleanups.push(created.drop);
      return { databaseUrl: created.url, dataDir: '' };
    }
    const dataDir = mkdtempSync(join(tmpdir(), 'sms-migrate-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    return { dataDir };
  }

  it("0004 and 0005 fill in what existing uploads say: the newest upload and each directory's newest result", async () => {
    const options = await database();
    const { db } = await connect(options);
    const raw = db as unknown as Kysely<unknown>;
    await migrateToLatest(raw, dialect, '0003_sessions');
    await sql`insert into projects (id, name, created_at) values ('p', 'p', 1)`.execute(raw);
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      await sql`insert into tasks (id, project_id, name, type, state, create_date) values (${id}, 'p', ${id}, 'MIGRATE_FILE', 'READY', 1)`.execute(
        raw,
      );
    }
    const dir = (name: string, different: number) =>
      JSON.stringify([
        {
          dir_check: name,
          num_total_files: 10,
          num_different_files: different,
          num_target_miss_files: 0,
          num_target_more_files: 0,
        },
      ]);
    // a: the newest upload was stored first; b: two at the same time, the later id wins; c: none;
    // d: one verification split in two uploads; e: an upload with no directory
    for (const [task, time, results] of [
      ['a', 300, dir('/x', 0)],
      ['a', 100, dir('/x', 5)],
      ['b', 200, dir('/y', 7)],
      ['b', 200, dir('/y', 0)],
      ['d', 10, dir('/p', 3)],
      ['d', 20, dir('/q', 0)],
      ['e', 5, '[]'],
    ] as const) {
      await sql`insert into consistency_uploads (task_id, finished_time, check_result, request_hash, results, dir_count, total_files, different_files, miss_files, more_files)
        values (${task}, ${time}, 'X', 'h', ${results}, 0, 0, 0, 0, 0)`.execute(raw);
    }
    await migrateToLatest(raw, dialect);
    await db.destroy();

    const storage = await Storage.open(options);
    cleanups.push(() => storage.close());
    const rows = await storage.summaries.taskSummaries('p', {
      sort: 'name',
      order: 'asc',
      limit: 10,
      offset: 0,
    });
    expect(
      rows.map((r) => [
        r.id,
        r.verdict,
        r.finished_time,
        r.dir_count,
        r.num_total_files,
        r.num_different_files,
      ]),
    ).toEqual([
      ['a', 'consistent', 300, 1, 10, 0],
      ['b', 'consistent', 200, 1, 10, 0],
      ['c', 'never', null, null, null, null],
      ['d', 'inconsistent', 20, 2, 20, 3],
      ['e', 'no-result', 5, null, null, null],
    ]);
    // 0006: each upload keeps the task's sums right after it
    expect(
      (await storage.summaries.recentUploads('d', 10)).map((u) => [
        u.finished_time,
        u.task_dir_count,
        u.task_num_different_files,
      ]),
    ).toEqual([
      [20, 2, 3],
      [10, 1, 3],
    ]);
    // and both move on with the next upload
    await storage.uploads.storeUpload({
      taskId: 'd',
      runId: 'run-test',
      finishedTime: 400,
      checkResult: 'CONSISTENT',
      idempotencyKey: undefined,
      requestHash: 'h',
      results: [
        {
          dir_check: '/p',
          num_total_files: 10,
          num_different_files: 0,
          num_target_miss_files: 0,
          num_target_more_files: 0,
        },
      ],
    });
    expect((await storage.summaries.recentUploads('d', 1))[0]).toMatchObject({
      task_dir_count: 2,
      task_num_different_files: 0,
    });
    expect(await storage.summaries.verdictCounts('p', undefined)).toEqual({
      inconsistent: 0,
      'no-result': 1,
      never: 1,
      consistent: 3,
    });
  });

  it('0011 keeps uploads stored before runs as runs of their own, and replaces the first form of PostgreSQL’s upload function', async () => {
    const options = await database();
    const { db } = await connect(options);
    const raw = db as unknown as Kysely<unknown>;
    await migrateToLatest(raw, dialect, '0010_access_keys');
    if (dialect === 'postgres') {
      // what 0009 made before 0011: a function of the same name without the run id
      await sql`create or replace function sms_store_upload(text, bigint, text, text, text, text, text[], bigint[], bigint[], bigint[], bigint[])
        returns table (outcome text, request_hash text, finished_time bigint) language sql as $$ select 'old'::text, null::text, null::bigint $$`.execute(
        raw,
      );
    }
    await sql`insert into projects (id, name, created_at) values ('p', 'p', 1)`.execute(raw);
    await sql`insert into tasks (id, project_id, name, type, state, create_date) values ('t', 'p', 't', 'MIGRATE_FILE', 'READY', 1)`.execute(
      raw,
    );
    for (const time of [10, 20]) {
      await sql`insert into consistency_uploads (task_id, finished_time, check_result, request_hash, results, dir_count, num_total_files, num_different_files, num_target_miss_files, num_target_more_files)
        values ('t', ${time}, 'CONSISTENT', 'h', '[]', 0, 0, 0, 0, 0)`.execute(raw);
    }
    await migrateToLatest(raw, dialect);
    if (dialect === 'postgres') {
      const { rows } = await sql<{
        n: string;
      }>`select count(*) as n from pg_proc where proname = 'sms_store_upload'`.execute(raw);
      expect(Number(rows[0]?.n)).toBe(1);
    }
    await db.destroy();
    const storage = await Storage.open(options);
    cleanups.push(() => storage.close());
    // two uploads without a run id: two runs
    expect(await storage.summaries.countRuns('t')).toBe(2);
    const stored = await storage.uploads.storeUpload({
      taskId: 't',
      runId: '3f1c9c3e-5b7a-4d2e-9a41-0c8e6f1d2b3a',
      finishedTime: 30,
      checkResult: 'CONSISTENT',
      idempotencyKey: undefined,
      requestHash: 'h',
      results: [
        {
          dir_check: '/a',
          num_total_files: 1,
          num_different_files: 0,
          num_target_miss_files: 0,
          num_target_more_files: 0,
        },
      ],
    });
    expect(stored.kind).toBe('stored');
    const runs = await storage.summaries.recentRuns('t', 10);
    expect(runs.map((r) => r.run_id)).toEqual([
      '3f1c9c3e-5b7a-4d2e-9a41-0c8e6f1d2b3a',
      expect.stringMatching(/^upload:\d+$/),
      expect.stringMatching(/^upload:\d+$/),
    ]);
    expect((await storage.findings.currentRuns('t', ['/a'])).get('/a')?.run_id).toBe(
      '3f1c9c3e-5b7a-4d2e-9a41-0c8e6f1d2b3a',
    );
  });

  it('0007 moves the directories of a database of the 0006 format into rows: wide tasks show the same totals and directories', async () => {
    const options = await database();
    const { db } = await connect(options);
    const raw = db as unknown as Kysely<unknown>;
    // the uploads go in before 0006, whose fold builds each task's state as today's server keeps it
    await migrateToLatest(raw, dialect, '0005_task_state');
    await sql`insert into projects (id, name, created_at) values ('p', 'p', 1)`.execute(raw);
    // w1: 1,000 directories in uploads of 30 that overlap by 5, some re-verified clean later;
    // w2: 45 directories; none: a task without uploads
    const tasks = { w1: 40, w2: 2, none: 0 } as const;
    for (const [id, uploads] of Object.entries(tasks)) {
      await sql`insert into tasks (id, project_id, name, type, state, create_date) values (${id}, 'p', ${id}, 'MIGRATE_FILE', 'READY', 1)`.execute(
        raw,
      );
      for (let u = 0; u < uploads; u++) {
        const results = Array.from({ length: 30 }, (_, i) => {
          const n = u * 25 + i;
          return {
            dir_check: `/${id}/dir-${n}`,
            num_total_files: 100 + n,
            num_different_files: n % 11 === 0 && u % 3 !== 2 ? 2 : 0,
            num_target_miss_files: n % 13 === 0 ? 1 : 0,
            num_target_more_files: n % 17 === 0 ? 3 : 0,
          };
        });
        await sql`insert into consistency_uploads (task_id, finished_time, check_result, request_hash, results, dir_count, total_files, different_files, miss_files, more_files)
          values (${id}, ${1000 + u}, 'X', 'h', ${JSON.stringify(results)}, 30, 0, 0, 0, 0)`.execute(raw);
      }
    }
    await migrateToLatest(raw, dialect, '0006_upload_task_totals');
    // what 0006 (today's format) shows: each task's sums, and its directories as one JSON value
    const before = await sql<{
      id: string;
      directories: string;
      dir_count: number;
      inconsistent_dirs: number;
      total_files: number;
      different_files: number;
      miss_files: number;
      more_files: number;
    }>`select id, directories, dir_count, inconsistent_dirs, total_files, different_files, miss_files, more_files from tasks order by id`.execute(
      raw,
    );
    // the old fold ran on these uploads: the widest task has its 1,000 directories
    const wide = before.rows.find((row) => row.id === 'w1');
    expect(Number(wide?.dir_count)).toBe(40 * 25 + 5);
    await migrateToLatest(raw, dialect);
    await db.destroy();

    const storage = await Storage.open(options);
    cleanups.push(() => storage.close());
    for (const row of before.rows) {
      const summary = await storage.summaries.taskSummary('p', row.id);
      const none = Number(row.dir_count) === 0;
      const count = (value: number) => (none ? null : Number(value));
      expect(summary, row.id).toMatchObject({
        dir_count: count(row.dir_count),
        inconsistent_dirs: count(row.inconsistent_dirs),
        num_total_files: count(row.total_files),
        num_different_files: count(row.different_files),
        num_target_miss_files: count(row.miss_files),
        num_target_more_files: count(row.more_files),
      });
      const moved = await storage.summaries.taskDirectories(row.id, { limit: 5_000, offset: 0 });
      const byName = (a: { dir_check: string }, b: { dir_check: string }) =>
        a.dir_check < b.dir_check ? -1 : a.dir_check > b.dir_check ? 1 : 0;
      expect(moved.sort(byName), row.id).toEqual(
        (JSON.parse(row.directories) as typeof moved)
          .map((d) => ({
            ...d,
            upload_id: Number(d.upload_id),
          }))
          .sort(byName),
      );
    }
    // and the next upload moves the sums on from the rows
    await storage.uploads.storeUpload({
      taskId: 'w2',
      runId: 'run-test',
      finishedTime: 5000,
      checkResult: 'CONSISTENT',
      idempotencyKey: undefined,
      requestHash: 'h',
      results: [
        {
          dir_check: '/w2/dir-0',
          num_total_files: 1,
          num_different_files: 0,
          num_target_miss_files: 0,
          num_target_more_files: 0,
        },
      ],
    });
    const w2 = before.rows.find((row) => row.id === 'w2')!;
    expect(await storage.summaries.taskSummary('p', 'w2')).toMatchObject({
      dir_count: Number(w2.dir_count),
      num_total_files: Number(w2.total_files) - 100 + 1,
      inconsistent_dirs: Number(w2.inconsistent_dirs) - 1,
    });
  });
});
