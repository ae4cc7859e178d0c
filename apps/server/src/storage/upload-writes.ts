import { randomUUID } from 'node:crypto';
import { StorageError } from '@sms/domain';
import { TASK_TOTAL_COLUMNS } from '../db/schema.js';
import type { SqliteHandle } from '../db/sqlite-driver.js';
import {
  changeOf,
  changeReplacingAll,
  type DirectoryState,
  type DirectorySums,
  NO_DIRECTORIES,
  type TaskChange,
  type TaskTotals,
} from './directory-state.js';
import { DIRECTORY_COLUMNS } from './task-summary-store.js';
import type { NewUpload, UploadOutcome } from './upload-store.js';
import { ENQUEUE_FOR_TASK, verdictChange } from './webhook-outbox.js';

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
  'run_id',
] as const;

/** The row of an upload: its results as JSON, with their sums. */
export function uploadRow(upload: NewUpload): Record<(typeof UPLOAD_COLUMNS)[number], unknown> {
  return {
    task_id: upload.taskId,
    finished_time: upload.finishedTime,
    check_result: upload.checkResult,
    idempotency_key: upload.idempotencyKey ?? null,
    request_hash: upload.requestHash,
    results: upload.resultsJson ?? JSON.stringify(upload.results),
    dir_count: upload.results.length,
    num_total_files: upload.results.reduce((sum, r) => sum + r.num_total_files, 0),
    num_different_files: upload.results.reduce((sum, r) => sum + r.num_different_files, 0),
    num_target_miss_files: upload.results.reduce((sum, r) => sum + r.num_target_miss_files, 0),
    num_target_more_files: upload.results.reduce((sum, r) => sum + r.num_target_more_files, 0),
    run_id: upload.runId,
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

/** `?, ?, …`: `count` placeholders. */
function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

const READ_TASK = `select ${TASK_TOTALS.join(', ')}, name from tasks where id = ?`;

/** The sums of the current rows of `count` directories, and how many are newer than the upload. */
const sumDirectories = (count: number) => `select count(*) as dir_count,
    coalesce(sum(num_different_files + num_target_miss_files + num_target_more_files > 0), 0) as inconsistent_dirs,
    ${DIRECTORY_VALUES.slice(1)
      .map((c) => `coalesce(sum(${c}), 0) as ${c}`)
      .join(', ')},
    coalesce(sum(finished_time > ?), 0) as newer
  from task_directories where task_id = ? and dir_check in (${placeholders(count)})`;

const readDirectories = (count: number) =>
  `select ${DIRECTORY_COLUMNS.join(', ')} from task_directories where task_id = ? and dir_check in (${placeholders(count)})`;

const INSERT_UPLOAD = `insert into consistency_uploads (${[...UPLOAD_COLUMNS, ...TASK_TOTAL_COLUMNS].join(', ')})
  values (${placeholders(UPLOAD_COLUMNS.length + TASK_TOTAL_COLUMNS.length)})
  on conflict (task_id, idempotency_key) do nothing returning id`;

const READ_EARLIER =
  'select request_hash, finished_time, run_id from consistency_uploads where task_id = ? and idempotency_key = ?';

const upsertDirectories = (count: number) => `insert into task_directories
    (task_id, ${DIRECTORY_VALUES.join(', ')}, upload_id, finished_time)
  values ${Array.from({ length: count }, () => `(${placeholders(DIRECTORY_VALUES.length + 3)})`).join(', ')}
  on conflict (task_id, dir_check) do update set ${[
    ...DIRECTORY_VALUES.slice(1),
    'upload_id',
    'finished_time',
  ]
    .map((c) => `${c} = excluded.${c}`)
    .join(', ')}`;

const SUMS = TASK_TOTALS.filter((c) => !c.startsWith('latest_'));
const MOVE_TASK = `update tasks set ${SUMS.map((c) => `${c} = ?`).join(', ')} where id = ?`;
const MOVE_TASK_AND_LATEST = `update tasks set ${TASK_TOTALS.map((c) => `${c} = ?`).join(', ')} where id = ?`;

/**
 * The writes of uploads on SQLite, a batch at a time: one transaction of
 * statements prepared once (per count of directories where the count shapes
 * them) and run synchronously on the database thread (`sqlite-procedures.ts`), so nothing else runs on
 * the connection between them and no query is built per upload. For each
 * upload: the task's sums, the sums of the rows of the directories it names
 * (the rows themselves only when one is newer than the upload), the upload
 * row (with the task's sums after it), the rows of its directories, and the
 * task's sums. Its cost is the upload's size, whatever the task's.
 */
export class UploadWrites {
  /** `sqlite` prepares each statement once and reuses it (`openSqlite`). */
  constructor(private readonly sqlite: SqliteHandle) {}

  private readonly perCount = new Map<string, string>();

  /** The SQL of a statement shaped by a count, made once per count. */
  private sqlFor(make: (count: number) => string, name: string, count: number): string {
    const key = `${name}:${count}`;
    let sql = this.perCount.get(key);
    if (sql === undefined) {
      sql = make(count);
      this.perCount.set(key, sql);
    }
    return sql;
  }

  /**
   * Stores a batch of uploads in one transaction, committed before this
   * returns; the caller holds the connection. An upload whose task is gone is
   * answered `task-missing` without failing the batch; any other failure
   * rolls the whole batch back and throws.
   */
  storeBatch(uploads: readonly NewUpload[]): UploadOutcome[] {
    // the write lock from the start: a deferred transaction that read first could not take it if
    // another process (the CLI: sms-server user add) wrote meanwhile (SQLITE_BUSY_SNAPSHOT, which
    // no busy timeout waits out); taken here, it waits for that writer as the busy timeout allows
    this.sqlite.prepare('begin immediate').run([]);
    try {
      const outcomes = uploads.map((upload) => this.store(upload));
      this.sqlite.prepare('commit').run([]);
      return outcomes;
    } catch (error) {
      try {
        this.sqlite.prepare('rollback').run([]);
      } catch {
        // the failed commit may have ended the transaction already
      }
      throw error;
    }
  }

  /**
   * One upload, inside the batch's transaction, the only writer. An
   * idempotency key already used for the task is found by the insert (`ON
   * CONFLICT DO NOTHING`), and the earlier upload returned for the caller to compare.
   */
  private store(upload: NewUpload): UploadOutcome {
    const { taskId, finishedTime } = upload;
    const task = this.sqlite.prepare(READ_TASK).all([taskId])[0] as
      | (TaskTotals & { name: string })
      | undefined;
    // Deleted since the caller looked it up: say so, rather than fail the whole batch on the foreign key.
    if (!task) return { kind: 'task-missing' };
    const change = this.changeOf(task, upload);
    const { totals } = change;
    const row = uploadRow(upload);
    const after = taskTotalsAfter(totals);
    const inserted = this.sqlite
      .prepare(INSERT_UPLOAD)
      .all([...UPLOAD_COLUMNS.map((c) => row[c]), ...TASK_TOTAL_COLUMNS.map((c) => after[c])])[0] as
      | { id: number | bigint }
      | undefined;
    if (!inserted) {
      const earlier = this.sqlite.prepare(READ_EARLIER).all([taskId, upload.idempotencyKey ?? null])[0] as
        | { request_hash: string; finished_time: number; run_id: string | null }
        | undefined;
      if (earlier) {
        return {
          kind: 'replayed',
          requestHash: earlier.request_hash,
          finishedTime: earlier.finished_time,
          runId: earlier.run_id,
        };
      }
      throw new StorageError('Storage failed (store upload): its idempotency key conflicted, then was gone');
    }
    const uploadId = Number(inserted.id);
    const fresh = change.directories;
    if (fresh.length > 0) {
      const values: unknown[] = [];
      for (const result of fresh) {
        values.push(taskId);
        for (const column of DIRECTORY_VALUES) values.push(result[column]);
        values.push(uploadId, finishedTime);
      }
      this.sqlite.prepare(this.sqlFor(upsertDirectories, 'upsert', fresh.length)).run(values);
    }
    const sums = SUMS.map((c) => totals[c as keyof typeof totals]);
    if (change.becomesLatest) {
      this.sqlite.prepare(MOVE_TASK_AND_LATEST).run([uploadId, finishedTime, ...sums, taskId]);
    } else {
      this.sqlite.prepare(MOVE_TASK).run([...sums, taskId]);
    }
    // the verdict's change, for the project's webhooks, in this same transaction
    const event = verdictChange(task, totals, taskId, upload.runId);
    if (event) {
      this.sqlite
        .prepare(ENQUEUE_FOR_TASK)
        .run([randomUUID(), 'verdict.changed', JSON.stringify(event), finishedTime, finishedTime, taskId]);
    }
    return { kind: 'stored', finishedTime };
  }

  /** What the upload changes in its task: from the sums of its directories' rows, or from the rows when one is newer. */
  private changeOf(task: TaskTotals, upload: NewUpload): TaskChange {
    const count = upload.results.length;
    if (count === 0) return changeReplacingAll(task, NO_DIRECTORIES, upload);
    const dirChecks = upload.results.map((r) => r.dir_check);
    const sums = this.sqlite
      .prepare(this.sqlFor(sumDirectories, 'sum', count))
      .all([upload.finishedTime, upload.taskId, ...dirChecks])[0] as DirectorySums & { newer: number };
    if (sums.newer === 0) return changeReplacingAll(task, sums, upload);
    const current = this.sqlite
      .prepare(this.sqlFor(readDirectories, 'read', count))
      .all([upload.taskId, ...dirChecks]) as DirectoryState[];
    return changeOf(task, current, upload);
  }
}
