import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageError } from '@sms/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSqliteDriver, openSqlite } from '../db/sqlite-driver.js';
import { result } from '../testing/app.js';
import { NO_STORAGE_EVENTS } from './handle.js';
import { Storage } from './storage.js';

// sms_group_commit_batch_size counts uploads committed together: a batch whose transaction failed
// committed nothing and is not counted (a database error is, by its operation)
/** An upload to `taskId` whose key, hash and one directory are named by `key`. */
const uploadTo = (taskId: string, key: string) => ({
  taskId,
  runId: 'run-test',
  finishedTime: 1,
  checkResult: 'CONSISTENT',
  idempotencyKey: key,
  requestHash: key,
  results: [result(`/${key}`)],
});

describe('SQLite group commit events', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sms-test-'));
  const committed: number[] = [];
  const errors: string[] = [];
  let storage: Storage;
  beforeAll(async () => {
    storage = await Storage.open({
      dataDir: dir,
      events: {
        ...NO_STORAGE_EVENTS,
        batchCommitted: (size) => committed.push(size),
        databaseError: (operation) => errors.push(operation),
      },
    });
  });
  afterAll(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts a batch once committed, and a failed one not', async () => {
    const projectId = (await storage.accounts.createProject('p', 1)).id;
    const taskId = await storage.tasks.createTask({ projectId, name: 't', type: 'MIGRATE_FILE' }, 1);
    const upload = (key: string) => uploadTo(taskId, key);
    expect((await storage.uploads.storeUpload(upload('ok'))).kind).toBe('stored');
    expect(committed).toEqual([1]);
    // the database refuses the next upload's row (as a full disk would)
    const db = openSqlite(join(dir, 'sms.sqlite'), defaultSqliteDriver());
    db.exec(
      `create trigger refuse before insert on consistency_uploads when new.idempotency_key = 'refused' begin select raise(abort, 'refused by the test'); end`,
    );
    db.close();
    await expect(storage.uploads.storeUpload(upload('refused'))).rejects.toBeInstanceOf(StorageError);
    expect(committed).toEqual([1]);
    expect(errors).toEqual(['store upload']);
  });

  it('waits for another process that writes meanwhile (the CLI), rather than fail on a stale read', async () => {
    const taskId = await storage.tasks.createTask(
      { projectId: (await storage.accounts.createProject('w', 1)).id, name: 'w', type: 'MIGRATE_FILE' },
      1,
    );
    // another connection holds the write lock, and commits a write 300 ms later: a batch that read
    // first (a deferred transaction) then found its snapshot stale (SQLITE_BUSY_SNAPSHOT: a 500)
    const other = openSqlite(join(dir, 'sms.sqlite'), defaultSqliteDriver());
    other.exec('begin immediate');
    other.prepare('update tasks set name = ? where id = ?').run(['renamed by the CLI', taskId]);
    setTimeout(() => {
      other.exec('commit');
      other.close();
    }, 300);
    const outcome = await storage.uploads.storeUpload(uploadTo(taskId, 'while-the-cli-writes'));
    expect(outcome.kind).toBe('stored');
  });

  it('commits the others of a batch again one by one when the database refuses one of them', async () => {
    const taskId = await storage.tasks.createTask(
      { projectId: (await storage.accounts.createProject('q', 1)).id, name: 'u', type: 'MIGRATE_FILE' },
      1,
    );
    const upload = (key: string) => uploadTo(taskId, key);
    committed.length = 0;
    errors.length = 0;
    // sent together: one batch, whose transaction the refused upload fails
    const outcomes = await Promise.allSettled(
      ['one', 'refused', 'two'].map((key) => storage.uploads.storeUpload(upload(key))),
    );
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.kind : (o.reason as Error).name))).toEqual(
      ['stored', 'StorageError', 'stored'],
    );
    expect(committed).toEqual([1, 1]);
    expect(errors).toEqual(['store upload', 'store upload']);
    expect(await storage.uploads.countUploads(taskId)).toBe(2);
  });
});
