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

  it('0004 points every task at its newest upload (by time, then id), and tasks without one at nothing', async () => {
    const options = await database();
    const { db } = connect(options);
    const raw = db as unknown as Kysely<unknown>;
    await migrateToLatest(raw, dialect, '0003_sessions');
    await sql`insert into projects (id, name, created_at) values ('p', 'p', 1)`.execute(raw);
    for (const id of ['a', 'b', 'c']) {
      await sql`insert into tasks (id, project_id, name, type, state, create_date) values (${id}, 'p', ${id}, 'MIGRATE_FILE', 'READY', 1)`.execute(
        raw,
      );
    }
    // a: the newest upload was stored first; b: two at the same time, the later id wins; c: none
    for (const [task, time, result] of [
      ['a', 300, 'CONSISTENT'],
      ['a', 100, 'INCONSISTENT'],
      ['b', 200, 'INCONSISTENT'],
      ['b', 200, 'CONSISTENT'],
    ] as const) {
      await sql`insert into consistency_uploads (task_id, finished_time, check_result, request_hash, results, dir_count, total_files, different_files, miss_files, more_files)
        values (${task}, ${time}, ${result}, 'h', '[]', 0, 0, 0, 0, 0)`.execute(raw);
    }
    await migrateToLatest(raw, dialect);
    await db.destroy();

    const storage = await Storage.open(options);
    cleanups.push(() => storage.close());
    const rows = await storage.taskSummaries('p', { sort: 'name', order: 'asc', limit: 10, offset: 0 });
    expect(rows.map((r) => [r.id, r.check_result, r.finished_time])).toEqual([
      ['a', 'CONSISTENT', 300],
      ['b', 'CONSISTENT', 200],
      ['c', null, null],
    ]);
    // and the pointer moves on with the next upload
    await storage.storeUpload({
      taskId: 'c',
      finishedTime: 400,
      checkResult: 'NO_RESULT',
      idempotencyKey: undefined,
      requestHash: 'h',
      results: [],
    });
    expect(await storage.verdictCounts('p', undefined)).toEqual({
      inconsistent: 0,
      'no-result': 1,
      never: 0,
      consistent: 2,
    });
  });
});
