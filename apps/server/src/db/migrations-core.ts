import type { ConsistencyResult } from '@sms/domain';
import type { Kysely, Migration } from 'kysely';
import type { Database, Dialect } from './schema.js';
import {
  EMPTY_TASK_STATE,
  nextTaskState,
  parseDirectories,
  TASK_TOTAL_COLUMNS_0006,
  type TaskState,
  taskTotalsOf,
} from './task-state-0006.js';

/** The tables as migration 0006 left them: each task's directories in one JSON value. */
type Database0006 = {
  tasks: TaskState & { id: string };
  consistency_uploads: {
    id: number;
    task_id: string;
    finished_time: number;
    results: string;
  } & ReturnType<typeof taskTotalsOf>;
  task_directories: Database['task_directories'];
};

/** Rows per INSERT when 0007 moves directories (8 parameters each, far below either database's limit). */
const MOVE_CHUNK = 500;

/**
 * Folds every stored upload, oldest first (by time, then id), a page at a
 * time, into its task's state; `each` sees every upload with the state after it.
 */
async function foldUploads(
  db: Kysely<Database0006>,
  each?: (upload: { id: number; task_id: string }, state: TaskState) => Promise<void>,
): Promise<Map<string, TaskState>> {
  const states = new Map<string, TaskState>();
  for (let after = { time: -1, id: -1 }; ; ) {
    const page = await db
      .selectFrom('consistency_uploads')
      .select(['id', 'task_id', 'finished_time', 'results'])
      .where((eb) =>
        eb.or([
          eb('finished_time', '>', after.time),
          eb.and([eb('finished_time', '=', after.time), eb('id', '>', after.id)]),
        ]),
      )
      .orderBy('finished_time')
      .orderBy('id')
      .limit(1000)
      .execute();
    for (const upload of page) {
      const state = nextTaskState(states.get(upload.task_id) ?? EMPTY_TASK_STATE, {
        id: Number(upload.id),
        finishedTime: upload.finished_time,
        results: JSON.parse(upload.results) as ConsistencyResult[],
      });
      states.set(upload.task_id, state);
      await each?.({ id: Number(upload.id), task_id: upload.task_id }, state);
    }
    const last = page.at(-1);
    if (!last) return states;
    after = { time: last.finished_time, id: Number(last.id) };
  }
}

/** Migrations 0001 to 0010: the schema of the SMS API (tokens, tasks, uploads) and its storage. */
export function coreMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('secrets')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('projects')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('token_generation', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('memberships')
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('memberships_pk', ['user_id', 'project_id'])
          .execute();
        await db.schema
          .createTable('tasks')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('create_date', 'bigint', (c) => c.notNull())
          .addColumn('start_date', 'bigint')
          .addColumn('finish_date', 'bigint')
          .execute();
        await db.schema
          .createIndex('tasks_project_created')
          .on('tasks')
          .columns(['project_id', 'create_date'])
          .execute();
        await db.schema
          .createTable('consistency_uploads')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
          .addColumn('finished_time', 'bigint', (c) => c.notNull())
          .addColumn('check_result', 'text', (c) => c.notNull())
          .addColumn('idempotency_key', 'text')
          .addColumn('request_hash', 'text', (c) => c.notNull())
          .addColumn('results', 'text', (c) => c.notNull())
          .addColumn('dir_count', 'integer', (c) => c.notNull())
          .addColumn('total_files', 'bigint', (c) => c.notNull())
          .addColumn('different_files', 'bigint', (c) => c.notNull())
          .addColumn('miss_files', 'bigint', (c) => c.notNull())
          .addColumn('more_files', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('uploads_task_time')
          .on('consistency_uploads')
          .columns(['task_id', 'finished_time'])
          .execute();
        // At most one upload per (task, key); NULL keys never collide.
        await db.schema
          .createIndex('uploads_task_idempotency_key')
          .unique()
          .on('consistency_uploads')
          .columns(['task_id', 'idempotency_key'])
          .execute();
      },
    },
    '0002_auth_failures': {
      async up(db: Kysely<unknown>) {
        // failed sign-ins per user name and per address, in fixed windows: shared by every instance
        await db.schema
          .createTable('auth_failures')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('window_start', 'bigint', (c) => c.notNull())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .execute();
      },
    },
    '0003_sessions': {
      async up(db: Kysely<unknown>) {
        // dashboard sign-ins: only a hash of the cookie's value is kept, so a copy of the database signs no one in
        await db.schema
          .createTable('sessions')
          .addColumn('id_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('token_generation', 'integer', (c) => c.notNull())
          .addColumn('csrf_token', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();
      },
    },
    '0004_task_latest_upload': {
      async up(db: Kysely<unknown>) {
        // each task points at its newest upload, so a list of thousands of tasks with their
        // verdicts is one join on a primary key, not a search of every task's history
        await db.schema.alterTable('tasks').addColumn('latest_upload_id', 'bigint').execute();
        await db.schema.alterTable('tasks').addColumn('latest_finished_time', 'bigint').execute();
        // filled in from the uploads already stored by 0006, with the rest of the task's state
      },
    },
    '0005_task_state': {
      async up(db: Kysely<unknown>) {
        // each task's directories with their newest results, and their sums: the agent splits a
        // verification of more than 30 directories into several uploads, so a task's state is
        // per directory, not its last upload's
        await db.schema
          .alterTable('tasks')
          .addColumn('directories', 'text', (c) => c.notNull().defaultTo('[]'))
          .execute();
        for (const column of [
          'dir_count',
          'inconsistent_dirs',
          'total_files',
          'different_files',
          'miss_files',
          'more_files',
        ]) {
          await db.schema
            .alterTable('tasks')
            .addColumn(column, 'bigint', (c) => c.notNull().defaultTo(0))
            .execute();
        }
        // filled in from the uploads already stored by 0006
      },
    },
    '0006_upload_task_totals': {
      async up(db: Kysely<unknown>) {
        // each upload keeps the task's sums right after it, so that the history shows whether the
        // task's gap is closing (an upload of one directory says little of the others)
        for (const column of TASK_TOTAL_COLUMNS_0006) {
          await db.schema
            .alterTable('consistency_uploads')
            .addColumn(column, 'bigint', (c) => c.notNull().defaultTo(0))
            .execute();
        }
        // One pass over the uploads already stored, oldest first, fills in what 0004 to 0006 add:
        // each upload's task sums after it and, at the end, each task's state.
        const typed = db as Kysely<Database0006>;
        const states = await foldUploads(typed, async (upload, state) => {
          await typed
            .updateTable('consistency_uploads')
            .set(taskTotalsOf(state))
            .where('id', '=', upload.id)
            .execute();
        });
        for (const [taskId, state] of states) {
          await typed.updateTable('tasks').set(state).where('id', '=', taskId).execute();
        }
      },
    },
    '0007_task_directories': {
      async up(db: Kysely<unknown>) {
        // each directory of a task as a row, upserted by the uploads that name it: an upload no
        // longer reads and rewrites the task's whole state, whose cost grew with its directories
        await db.schema
          .createTable('task_directories')
          .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
          .addColumn('dir_check', 'text', (c) => c.notNull())
          .addColumn('num_total_files', 'bigint', (c) => c.notNull())
          .addColumn('num_different_files', 'bigint', (c) => c.notNull())
          .addColumn('num_target_miss_files', 'bigint', (c) => c.notNull())
          .addColumn('num_target_more_files', 'bigint', (c) => c.notNull())
          .addColumn('upload_id', 'bigint', (c) => c.notNull())
          .addColumn('finished_time', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('task_directories_pk', ['task_id', 'dir_check'])
          .execute();
        // the tasks' JSON values, a task at a time, into rows; the sums on the tasks stay as they are
        const typed = db as Kysely<Database0006>;
        for (let after = ''; ; ) {
          const task = await typed
            .selectFrom('tasks')
            .select(['id', 'directories'])
            .where('id', '>', after)
            .orderBy('id')
            .limit(1)
            .executeTakeFirst();
          if (!task) break;
          after = task.id;
          const rows = parseDirectories(task.directories).map((d) => ({
            task_id: task.id,
            dir_check: d.dir_check,
            num_total_files: d.num_total_files,
            num_different_files: d.num_different_files,
            num_target_miss_files: d.num_target_miss_files,
            num_target_more_files: d.num_target_more_files,
            upload_id: d.upload_id,
            finished_time: d.finished_time,
          }));
          for (let i = 0; i < rows.length; i += MOVE_CHUNK) {
            await typed
              .insertInto('task_directories')
              .values(rows.slice(i, i + MOVE_CHUNK))
              .execute();
          }
        }
        await db.schema.alterTable('tasks').dropColumn('directories').execute();
      },
    },
    '0008_count_names': {
      async up(db: Kysely<unknown>) {
        // one name for each of the four counts, the API's, from the wire to the columns
        const renames = [
          ['total_files', 'num_total_files'],
          ['different_files', 'num_different_files'],
          ['miss_files', 'num_target_miss_files'],
          ['more_files', 'num_target_more_files'],
        ] as const;
        for (const [from, to] of renames) {
          await db.schema.alterTable('tasks').renameColumn(from, to).execute();
          await db.schema.alterTable('consistency_uploads').renameColumn(from, to).execute();
          await db.schema
            .alterTable('consistency_uploads')
            .renameColumn(`task_${from}`, `task_${to}`)
            .execute();
        }
      },
    },
    '0009_postgres_store_upload': {
      async up() {
        // PostgreSQL stores an upload in one call (one round trip) where it took five; SQLite has no functions.
        // The function is made by 0011 in the form the code calls now (with the run id); a database
        // migrated before 0011 had its first form made here, which 0011 drops.
      },
    },
    '0010_access_keys': {
      async up(db: Kysely<unknown>) {
        // access keys (AK/SK) for the SDKs' signed requests; the secret is kept sealed with a key
        // derived from the master secret, since checking a signature needs it back
        await db.schema
          .createTable('access_keys')
          .addColumn('access_key', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('secret_sealed', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('access_keys_user').on('access_keys').column('user_id').execute();
      },
    },
  };
}
