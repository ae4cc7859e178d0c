import { StorageError } from '@sms/domain';
import { CompiledQuery, type Kysely } from 'kysely';
import { type Database, TASK_TOTAL_COLUMNS } from '../db/schema.js';
import { changeOf, type DirectoryState, type TaskTotals } from './directory-state.js';
import type { NewUpload, UploadOutcome } from './upload-store.js';
import {
  DIRECTORY_VALUES,
  TASK_TOTALS,
  taskTotalsAfter,
  UPLOAD_COLUMNS,
  uploadRow,
} from './upload-writes.js';

/** PostgreSQL types of the parameters that need one (in VALUES and CASE, it cannot infer them). */
const TYPES: Record<string, string> = {
  dir_check: 'text',
  num_total_files: 'bigint',
  num_different_files: 'bigint',
  num_target_miss_files: 'bigint',
  num_target_more_files: 'bigint',
};

/** The task's sums, locked until the commit (a row lock: uploads to other tasks and reads go on). */
const READ_TASK = `select ${TASK_TOTALS.join(', ')} from tasks where id = $1 for no key update`;

/**
 * The rows of the directories the upload names: a statement of its own, after
 * the lock, so that it sees what the upload that held the lock before committed
 * (a statement that waits for a row lock keeps its earlier snapshot for the rest).
 */
const READ_DIRECTORIES = `select ${[...DIRECTORY_VALUES, 'upload_id', 'finished_time'].join(', ')}
  from task_directories where task_id = $1 and dir_check = any($2::text[])`;

/**
 * The writes of one upload as one statement: the upload row (`ON CONFLICT DO
 * NOTHING` on its idempotency key), then, only if it was inserted, the rows of
 * its `count` newer directories and the task's sums. Built once per count.
 */
function writeStatement(count: number): string {
  const uploadColumns = [...UPLOAD_COLUMNS, ...TASK_TOTAL_COLUMNS];
  let n = 0;
  const param = (type?: string) => (type ? `$${++n}::${type}` : `$${++n}`);
  const upload = uploadColumns.map(() => param()).join(', ');
  const taskId = param('text');
  const finishedTime = param('bigint');
  const becomesLatest = param('boolean');
  const sums = TASK_TOTALS.filter((c) => !c.startsWith('latest_')).map((c) => `${c} = ${param('bigint')}`);
  const rows = Array.from(
    { length: count },
    () => `(${DIRECTORY_VALUES.map((c) => param(TYPES[c])).join(', ')})`,
  );
  const directories =
    count === 0
      ? ''
      : `, directories as (
    insert into task_directories (task_id, ${DIRECTORY_VALUES.join(', ')}, upload_id, finished_time)
    select ${taskId}, v.*, up.id, ${finishedTime} from up, (values ${rows.join(', ')}) as v(${DIRECTORY_VALUES.join(', ')})
    on conflict (task_id, dir_check) do update set ${[
      ...DIRECTORY_VALUES.slice(1),
      'upload_id',
      'finished_time',
    ]
      .map((c) => `${c} = excluded.${c}`)
      .join(', ')}
  )`;
  return `with up as (
    insert into consistency_uploads (${uploadColumns.join(', ')}) values (${upload})
    on conflict (task_id, idempotency_key) do nothing returning id
  )${directories}, moved as (
    update tasks set ${sums.join(', ')},
      latest_upload_id = case when ${becomesLatest} then up.id else tasks.latest_upload_id end,
      latest_finished_time = case when ${becomesLatest} then ${finishedTime} else tasks.latest_finished_time end
    from up where tasks.id = ${taskId}
  )
  select id from up`;
}

/**
 * On PostgreSQL, one upload in a transaction of three statements (the task
 * under its row lock, its directories, then the writes in one), so that
 * uploads to one task from several connections or instances apply one after
 * the other: six round trips with the principal's query, BEGIN and COMMIT,
 * where a statement per table took eight.
 */
export class PostgresUploadWrites {
  private readonly statements = new Map<number, string>();

  async store(db: Kysely<Database>, upload: NewUpload): Promise<UploadOutcome> {
    const dirChecks = upload.results.map((r) => r.dir_check);
    const { rows } = await db.executeQuery(
      CompiledQuery.raw(READ_TASK, [upload.taskId]) as CompiledQuery<TaskTotals>,
    );
    const task = rows[0];
    if (!task) return { kind: 'task-missing' };
    const current =
      dirChecks.length === 0
        ? []
        : (
            await db.executeQuery(
              CompiledQuery.raw(READ_DIRECTORIES, [
                upload.taskId,
                dirChecks,
              ]) as CompiledQuery<DirectoryState>,
            )
          ).rows;
    const change = changeOf(task, current, upload);
    const { totals } = change;
    const count = change.directories.length;
    let sql = this.statements.get(count);
    if (sql === undefined) {
      sql = writeStatement(count);
      this.statements.set(count, sql);
    }
    const row = uploadRow(upload);
    const taskTotals = taskTotalsAfter(totals);
    const parameters: unknown[] = [
      ...UPLOAD_COLUMNS.map((c) => row[c]),
      ...TASK_TOTAL_COLUMNS.map((c) => taskTotals[c]),
      upload.taskId,
      upload.finishedTime,
      change.becomesLatest,
      ...TASK_TOTALS.filter((c) => !c.startsWith('latest_')).map((c) => totals[c as keyof typeof totals]),
      ...change.directories.flatMap((d) => DIRECTORY_VALUES.map((c) => d[c])),
    ];
    const inserted = await db.executeQuery(
      CompiledQuery.raw(sql, parameters) as CompiledQuery<{ id: number }>,
    );
    if (inserted.rows[0]) return { kind: 'stored', finishedTime: upload.finishedTime };
    const earlier = await db
      .selectFrom('consistency_uploads')
      .select(['request_hash', 'finished_time'])
      .where('task_id', '=', upload.taskId)
      .where('idempotency_key', '=', upload.idempotencyKey ?? null)
      .executeTakeFirst();
    if (earlier)
      return { kind: 'replayed', requestHash: earlier.request_hash, finishedTime: earlier.finished_time };
    throw new StorageError('Storage failed (store upload): its idempotency key conflicted, then was gone');
  }
}
