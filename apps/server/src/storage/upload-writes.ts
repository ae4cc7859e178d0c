import { StorageError } from '@sms/domain';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { changeOf, type TaskTotals } from './directory-state.js';
import { DIRECTORY_COLUMNS } from './task-summary-store.js';
import type { NewUpload, UploadOutcome } from './upload-store.js';

/** The columns of a task's row that an upload moves. */
const TASK_TOTALS = [
  'latest_upload_id',
  'latest_finished_time',
  'dir_count',
  'inconsistent_dirs',
  'total_files',
  'different_files',
  'miss_files',
  'more_files',
] as const;

/** The row of an upload: its results as JSON, with their sums. */
function uploadRow(upload: NewUpload) {
  return {
    task_id: upload.taskId,
    finished_time: upload.finishedTime,
    check_result: upload.checkResult,
    idempotency_key: upload.idempotencyKey ?? null,
    request_hash: upload.requestHash,
    results: JSON.stringify(upload.results),
    dir_count: upload.results.length,
    total_files: upload.results.reduce((sum, r) => sum + r.num_total_files, 0),
    different_files: upload.results.reduce((sum, r) => sum + r.num_different_files, 0),
    miss_files: upload.results.reduce((sum, r) => sum + r.num_target_miss_files, 0),
    more_files: upload.results.reduce((sum, r) => sum + r.num_target_more_files, 0),
  };
}

/** The upload already stored under this one's idempotency key, if any. */
async function findEarlier(db: Kysely<Database>, upload: NewUpload): Promise<UploadOutcome | undefined> {
  if (upload.idempotencyKey === undefined) return undefined;
  const earlier = await db
    .selectFrom('consistency_uploads')
    .select(['request_hash', 'finished_time'])
    .where('task_id', '=', upload.taskId)
    .where('idempotency_key', '=', upload.idempotencyKey)
    .executeTakeFirst();
  return (
    earlier && { kind: 'replayed', requestHash: earlier.request_hash, finishedTime: earlier.finished_time }
  );
}

/**
 * The writes of one upload inside a transaction: the task's sums and newest
 * upload, the upload row (with the task's sums after it), and the rows of the
 * directories it brings newer results for. Its cost is the upload's size,
 * whatever the task's. On PostgreSQL (`lockTask`) the task's row is locked
 * (a row lock: uploads to other tasks go on) until the commit, so that
 * uploads to one task from several connections or instances apply one after
 * the other; on SQLite the batch's transaction is the only writer.
 */
export async function storeUploadIn(
  db: Kysely<Database>,
  upload: NewUpload,
  lockTask: boolean,
): Promise<UploadOutcome> {
  const taskQuery = db.selectFrom('tasks').select(TASK_TOTALS).where('id', '=', upload.taskId);
  // Deleted since the caller looked it up: say so, rather than fail the whole batch on the foreign key.
  const task: TaskTotals | undefined = await (lockTask
    ? taskQuery.forNoKeyUpdate()
    : taskQuery
  ).executeTakeFirst();
  if (!task) return { kind: 'task-missing' };
  const dirChecks = upload.results.map((r) => r.dir_check);
  const current =
    dirChecks.length === 0
      ? []
      : await db
          .selectFrom('task_directories')
          .select(DIRECTORY_COLUMNS)
          .where('task_id', '=', upload.taskId)
          .where('dir_check', 'in', dirChecks)
          .execute();
  const change = changeOf(task, current, upload);
  const inserted = await db
    .insertInto('consistency_uploads')
    .values({
      ...uploadRow(upload),
      task_dir_count: change.totals.dir_count,
      task_inconsistent_dirs: change.totals.inconsistent_dirs,
      task_total_files: change.totals.total_files,
      task_different_files: change.totals.different_files,
      task_miss_files: change.totals.miss_files,
      task_more_files: change.totals.more_files,
    })
    .onConflict((oc) => oc.columns(['task_id', 'idempotency_key']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) {
    const earlier = await findEarlier(db, upload);
    if (earlier) return earlier;
    throw new StorageError('Storage failed (store upload): its idempotency key conflicted, then was gone');
  }
  const uploadId = Number(inserted.id);
  if (change.directories.length > 0) {
    await db
      .insertInto('task_directories')
      .values(
        change.directories.map((result) => ({
          task_id: upload.taskId,
          ...result,
          upload_id: uploadId,
          finished_time: upload.finishedTime,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['task_id', 'dir_check']).doUpdateSet((eb) => ({
          num_total_files: eb.ref('excluded.num_total_files'),
          num_different_files: eb.ref('excluded.num_different_files'),
          num_target_miss_files: eb.ref('excluded.num_target_miss_files'),
          num_target_more_files: eb.ref('excluded.num_target_more_files'),
          upload_id: eb.ref('excluded.upload_id'),
          finished_time: eb.ref('excluded.finished_time'),
        })),
      )
      .execute();
  }
  await db
    .updateTable('tasks')
    .set({
      ...change.totals,
      ...(change.becomesLatest
        ? { latest_upload_id: uploadId, latest_finished_time: upload.finishedTime }
        : {}),
    })
    .where('id', '=', upload.taskId)
    .execute();
  return { kind: 'stored', finishedTime: upload.finishedTime };
}
