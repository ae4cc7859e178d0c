import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageError } from '@sms/domain';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { result } from '../testing/app.js';
import { NO_STORAGE_EVENTS } from './handle.js';
import { Storage } from './storage.js';

// sms_group_commit_batch_size counts uploads committed together: a batch whose transaction failed
// committed nothing and is not counted (a database error is, by its operation)
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
    const upload = (key: string) => ({
      taskId,
      runId: 'run-test',
      finishedTime: 1,
      checkResult: 'CONSISTENT',
      idempotencyKey: key,
      requestHash: key,
      results: [result(`/${key}`)],
    });
    expect((await storage.uploads.storeUpload(upload('ok'))).kind).toBe('stored');
    expect(committed).toEqual([1]);
    // the database refuses the next upload's row (as a full disk would)
    const db = new Database(join(dir, 'sms.sqlite'));
    db.exec(
      `create trigger refuse before insert on consistency_uploads when new.idempotency_key = 'refused' begin select raise(abort, 'refused by the test'); end`,
    );
    db.close();
    await expect(storage.uploads.storeUpload(upload('refused'))).rejects.toBeInstanceOf(StorageError);
    expect(committed).toEqual([1]);
    expect(errors).toEqual(['store upload']);
  });
});
