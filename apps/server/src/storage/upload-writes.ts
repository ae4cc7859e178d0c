import { StorageError } from '@sms/domain';
import type { Kysely } from 'kysely';
import { type Database, TASK_TOTAL_COLUMNS } from '../db/schema.js';
import { compiledOnce, compiledPerCount } from './compiled.js';
import { changeOf, type TaskChange, type TaskTotals } from './directory-state.js';
import { DIRECTORY_COLUMNS } from './task-summary-store.js';
import type { NewUpload, UploadOutcome } from './upload-store.js';

/** The columns of a task's row that an upload moves. */
export const TASK_TOTALS = [
  'latest_upload_id',
  'latest_finished_time',
  'dir_count',
  'inconsistent_dirs',
  'num_total_files',
  'num_different_files',
  'num_target_miss_files',
  'num_target_more_files',
] as const;

/** The columns of an upload's row that `uploadRow` fills. */
export const UPLOAD_COLUMNS = [
  'task_id',
  'finished_time',
  'check_result',
  'idempotency_key',
  'request_hash',
  'results',
  'dir_count',
  'num_total_files',
  'num_different_files',
  'num_target_miss_files',
  'num_target_more_files',
] as const;

/** The row of an upload: its results as JSON, with their sums. */
export function uploadRow(upload: NewUpload): Record<(typeof UPLOAD_COLUMNS)[number], unknown> {
  return {
    task_id: upload.taskId,
    finished_time: upload.finishedTime,
    check_result: upload.checkResult,
    idempotency_key: upload.idempotencyKey ?? null,
    request_hash: upload.requestHash,
    results: JSON.stringify(upload.results),
    dir_count: upload.results.length,
    num_total_files: upload.results.reduce((sum, r) => sum + r.num_total_files, 0),
    num_different_files: upload.results.reduce((sum, r) => sum + r.num_different_files, 0),
    num_target_miss_files: upload.results.reduce((sum, r) => sum + r.num_target_miss_files, 0),
    num_target_more_files: upload.results.reduce((sum, r) => sum + r.num_target_more_files, 0),
  };
}

/** The task's sums right after an upload, as its row keeps them (for the history chart). */
export function taskTotalsAfter(
  totals: TaskChange['totals'],
): Record<(typeof TASK_TOTAL_COLUMNS)[number], number> {
  return {
    task_dir_count: totals.dir_count,
    task_inconsistent_dirs: totals.inconsistent_dirs,
    task_num_total_files: totals.num_total_files,
    task_num_different_files: totals.num_different_files,
    task_num_target_miss_files: totals.num_target_miss_files,
    task_num_target_more_files: totals.num_target_more_files,
  };
}

/** The values of a directory's row, as the upsert's slots name them. */
export const DIRECTORY_VALUES = [
  'dir_check',
  'num_total_files',
  'num_different_files',
  'num_target_miss_files',
  'num_target_more_files',
] as const;

/**
 * The writes of one upload on SQLite, each query built and compiled once (per count of
 * directories where the count shapes it) and run inside the caller's
 * transaction: the task's sums and newest upload, the upload row (with the
 * task's sums after it), and the rows of the directories it brings newer
 * results for. Its cost is the upload's size, whatever the task's.
 */
export class UploadWrites {
  private readonly readTask;
  private readonly readDirectories;
  private readonly insertUpload;
  private readonly readEarlier;
  private readonly upsertDirectories;
  private readonly moveTask;
  private readonly moveTaskAndLatest;

  constructor(db: Kysely<Database>) {
    this.readTask = compiledOnce((slot: (name: 'taskId') => never) =>
      db.selectFrom('tasks').select(TASK_TOTALS).where('id', '=', slot('taskId')),
    );
    this.readDirectories = compiledPerCount((count, slot: (name: string) => never) =>
      db
        .selectFrom('task_directories')
        .select(DIRECTORY_COLUMNS)
        .where('task_id', '=', slot('taskId'))
        .where(
          'dir_check',
          'in',
          Array.from({ length: count }, (_, i) => slot(`d${i}`)),
        ),
    );
    const uploadColumns = [...UPLOAD_COLUMNS, ...TASK_TOTAL_COLUMNS] as const;
    this.insertUpload = compiledOnce((slot: (name: (typeof uploadColumns)[number]) => never) =>
      db
        .insertInto('consistency_uploads')
        .values(Object.fromEntries(uploadColumns.map((c) => [c, slot(c)])) as never)
        .onConflict((oc) => oc.columns(['task_id', 'idempotency_key']).doNothing())
        .returning('id'),
    );
    this.readEarlier = compiledOnce((slot: (name: 'taskId' | 'key') => never) =>
      db
        .selectFrom('consistency_uploads')
        .select(['request_hash', 'finished_time'])
        .where('task_id', '=', slot('taskId'))
        .where('idempotency_key', '=', slot('key')),
    );
    this.upsertDirectories = compiledPerCount((count, slot: (name: string) => never) =>
      db
        .insertInto('task_directories')
        .values(
          Array.from({ length: count }, (_, i) => ({
            task_id: slot('taskId'),
            ...Object.fromEntries(DIRECTORY_VALUES.map((c) => [c, slot(`${c}${i}`)])),
            upload_id: slot('uploadId'),
            finished_time: slot('finishedTime'),
          })) as never,
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
        ),
    );
    const moveTask = (latest: boolean) =>
      compiledOnce((slot: (name: (typeof TASK_TOTALS)[number] | 'taskId') => never) =>
        db
          .updateTable('tasks')
          .set(
            Object.fromEntries(
              TASK_TOTALS.filter((c) => latest || !c.startsWith('latest_')).map((c) => [c, slot(c)]),
            ) as never,
          )
          .where('id', '=', slot('taskId')),
      );
    this.moveTask = moveTask(false);
    this.moveTaskAndLatest = moveTask(true);
  }

  /**
   * Stores one upload inside the caller's transaction, on SQLite, where the
   * batch's transaction is the only writer (PostgreSQL: `PostgresUploadWrites`).
   * An idempotency key already used for the task is found by the insert
   * (`ON CONFLICT DO NOTHING`), and the earlier upload returned for the caller to compare.
   */
  async store(db: Kysely<Database>, upload: NewUpload): Promise<UploadOutcome> {
    const taskId = upload.taskId;
    const { rows: tasks } = await db.executeQuery(this.readTask({ taskId }));
    const task: TaskTotals | undefined = tasks[0];
    // Deleted since the caller looked it up: say so, rather than fail the whole batch on the foreign key.
    if (!task) return { kind: 'task-missing' };
    const count = upload.results.length;
    const current =
      count === 0
        ? []
        : (
            await db.executeQuery(
              this.readDirectories(count, {
                taskId,
                ...Object.fromEntries(upload.results.map((r, i) => [`d${i}`, r.dir_check])),
              }),
            )
          ).rows;
    const change = changeOf(task, current, upload);
    const { totals } = change;
    const { rows: inserted } = await db.executeQuery(
      this.insertUpload({
        ...uploadRow(upload),
        ...taskTotalsAfter(totals),
      }),
    );
    if (!inserted[0]) {
      const { rows } = await db.executeQuery(this.readEarlier({ taskId, key: upload.idempotencyKey }));
      const earlier = rows[0];
      if (earlier) {
        return {
          kind: 'replayed',
          requestHash: earlier.request_hash,
          finishedTime: Number(earlier.finished_time),
        };
      }
      throw new StorageError('Storage failed (store upload): its idempotency key conflicted, then was gone');
    }
    const uploadId = Number(inserted[0].id);
    const fresh = change.directories;
    if (fresh.length > 0) {
      const values: Record<string, unknown> = { taskId, uploadId, finishedTime: upload.finishedTime };
      for (const [i, result] of fresh.entries()) {
        for (const column of DIRECTORY_VALUES) values[`${column}${i}`] = result[column];
      }
      await db.executeQuery(this.upsertDirectories(fresh.length, values));
    }
    await db.executeQuery(
      (change.becomesLatest ? this.moveTaskAndLatest : this.moveTask)({
        taskId,
        ...totals,
        latest_upload_id: uploadId,
        latest_finished_time: upload.finishedTime,
      }),
    );
    return { kind: 'stored', finishedTime: upload.finishedTime };
  }
}
