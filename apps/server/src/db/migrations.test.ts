import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { Storage } from '../storage/storage.js';
import type { TestDialect } from '../test-support/harness.js';
import { createTestDatabase } from '../test-support/postgres.js';
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
    const { db } = connect(options);
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
    const rows = await storage.taskSummaries('p', { sort: 'name', order: 'asc', limit: 10, offset: 0 });
    expect(
      rows.map((r) => [r.id, r.verdict, r.finished_time, r.dir_count, r.total_files, r.different_files]),
    ).toEqual([
      ['a', 'consistent', 300, 1, 10, 0],
      ['b', 'consistent', 200, 1, 10, 0],
      ['c', 'never', null, null, null, null],
      ['d', 'inconsistent', 20, 2, 20, 3],
      ['e', 'no-result', 5, null, null, null],
    ]);
    // 0006: each upload keeps the task's sums right after it
    expect(
      (await storage.recentUploads('d', 10)).map((u) => [
        u.finished_time,
        u.task_dir_count,
        u.task_different_files,
      ]),
    ).toEqual([
      [20, 2, 3],
      [10, 1, 3],
    ]);
    // and both move on with the next upload
    await storage.storeUpload({
      taskId: 'd',
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
    expect((await storage.recentUploads('d', 1))[0]).toMatchObject({
      task_dir_count: 2,
      task_different_files: 0,
    });
    expect(await storage.verdictCounts('p', undefined)).toEqual({
      inconsistent: 0,
      'no-result': 1,
      never: 1,
      consistent: 3,
    });
  });
});
