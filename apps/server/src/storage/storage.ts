import { randomUUID } from 'node:crypto';
import {
  type CheckResult,
  type ConsistencyResult,
  type ConsistencyResultEntry,
  type ListTasksParams,
  type Role,
  StorageError,
  TASK_PAGE_DEFAULT,
  type Task,
  type TaskState,
  type TaskSummaryQuery,
  type TaskType,
  VERDICTS_WORST_FIRST,
  type Verdict,
} from '@sms/domain';
import { type Kysely, sql } from 'kysely';
import { type Connection, connect } from '../db/connect.js';
import type { ModeWarning } from '../db/file-modes.js';
import { migrateToLatest } from '../db/migrations.js';
import { type Database, type Dialect, TASK_TOTAL_COLUMNS } from '../db/schema.js';
import { changeOf, type DirectoryState, type TaskTotals } from './directory-state.js';

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

/** The columns of a directory's row besides its task. */
const DIRECTORY_COLUMNS = [
  'dir_check',
  'num_total_files',
  'num_different_files',
  'num_target_miss_files',
  'num_target_more_files',
  'upload_id',
  'finished_time',
] as const;

export interface ProjectRow {
  id: string;
  name: string;
  created_at: number;
}
export interface UserRow {
  id: string;
  name: string;
  password_hash: string;
  token_generation: number;
  created_at: number;
}
/** A dashboard session as stored: the hash of its id, who, and until when. */
export type SessionRow = Database['sessions'];
/**
 * A task as the dashboard lists it: its verdict, the time of its newest
 * upload, and the sums over the newest result of each of its directories
 * (null when it has none).
 */
export interface TaskSummaryRow {
  id: string;
  name: string;
  type: TaskType;
  state: TaskState;
  create_date: number;
  finished_time: number | null;
  verdict: Verdict;
  dir_count: number | null;
  total_files: number | null;
  different_files: number | null;
  miss_files: number | null;
  more_files: number | null;
  inconsistent_dirs: number | null;
}
/** One upload with its summed counts, and the task's sums right after it. */
export interface UploadSummary {
  id: number;
  task_dir_count: number;
  task_inconsistent_dirs: number;
  task_total_files: number;
  task_different_files: number;
  task_miss_files: number;
  task_more_files: number;
  finished_time: number;
  check_result: CheckResult;
  results: ConsistencyResult[];
  dir_count: number;
  total_files: number;
  different_files: number;
  miss_files: number;
  more_files: number;
}
/** Tasks whose name contains `part`, ignoring case; `%`, `_` and `\\` in it match themselves. */
function nameContains(part: string) {
  const pattern = `%${part.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  return sql<boolean>`lower(tasks.name) like lower(${pattern}) escape '\\'`;
}

/**
 * A task's verdict, in SQL (it must sort and filter thousands of tasks): never
 * verified without an upload; no result when its uploads held no directory;
 * inconsistent when a directory's newest result has a different, missing or
 * extra file; else consistent. Read off the task's own row, where each upload
 * keeps the sums over its directories.
 */
const VERDICT = sql<Verdict>`(case when tasks.latest_upload_id is null then 'never' when tasks.dir_count = 0 then 'no-result' when tasks.inconsistent_dirs > 0 then 'inconsistent' else 'consistent' end)`;
/** The verdict's place in `VERDICTS_WORST_FIRST`, for sorting. */
const VERDICT_RANK = sql`(case ${VERDICT} ${sql.join(
  VERDICTS_WORST_FIRST.map((verdict, rank) => sql`when ${sql.lit(verdict)} then ${sql.lit(rank)}`),
  sql` `,
)} end)`;

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

/** A summary row as the drivers return it, with the counts as numbers. */
function summaryRow(
  row: Record<keyof TaskSummaryRow, unknown> & { id: string; name: string; create_date: number },
): TaskSummaryRow {
  // A task with no directory has no numbers to show (rather than zeros that look like a result).
  const none = Number(row.dir_count) === 0;
  const count = (value: unknown) => (none || value === null ? null : Number(value));
  return {
    id: row.id,
    name: row.name,
    type: row.type as TaskType,
    state: row.state as TaskState,
    create_date: row.create_date,
    finished_time: row.finished_time === null ? null : Number(row.finished_time),
    verdict: row.verdict as Verdict,
    dir_count: count(row.dir_count),
    total_files: count(row.total_files),
    different_files: count(row.different_files),
    miss_files: count(row.miss_files),
    more_files: count(row.more_files),
    inconsistent_dirs: count(row.inconsistent_dirs),
  };
}
export interface MembershipRow {
  project_id: string;
  project_name: string;
  role: Role;
}
export interface NewUpload {
  taskId: string;
  finishedTime: number;
  checkResult: string;
  idempotencyKey: string | undefined;
  requestHash: string;
  results: readonly ConsistencyResult[];
}
/** What storing an upload did: stored it, or found the same key already stored. */
export type UploadOutcome =
  | { kind: 'stored'; finishedTime: number }
  | { kind: 'replayed'; requestHash: string; finishedTime: number }
  | { kind: 'task-missing' };

/** A unique constraint refused the write (the name is taken, the key is used). */
export class UniqueViolation extends Error {
  override name = 'UniqueViolation';
}

/** PostgreSQL's 23505; better-sqlite3's code; node:sqlite's extended result code (2067 unique, 1555 primary key). */
function isUniqueViolation(error: unknown): boolean {
  const { code, errcode } = (error ?? {}) as { code?: unknown; errcode?: unknown };
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    (code === 'ERR_SQLITE_ERROR' && (errcode === 2067 || errcode === 1555))
  );
}

/**
 * The one storage of the server: the same Kysely queries on SQLite and on
 * PostgreSQL. It knows nothing of HTTP or of permissions. Every driver error
 * becomes a `StorageError` (500, `SMS.2008`), so a full disk or a lost
 * database never looks like a client's mistake.
 */
export class Storage {
  readonly dialect: Dialect;
  readonly location: string;
  /** What was readable by other users at opening and was tightened (see `secureDataFiles`). */
  readonly tightened: ModeWarning[];
  private readonly db: Kysely<Database>;

  constructor(connection: Connection) {
    this.db = connection.db;
    this.dialect = connection.dialect;
    this.location = connection.location;
    this.tightened = connection.tightened;
  }

  /** Opens the configured database and brings its schema up to date. */
  static async open(options: Parameters<typeof connect>[0]): Promise<Storage> {
    const storage = new Storage(connect(options));
    try {
      await storage.run('migrate', () => migrateToLatest(storage.db as Kysely<unknown>, storage.dialect));
    } catch (error) {
      await storage.close();
      throw error;
    }
    return storage;
  }

  private async run<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof StorageError || error instanceof UniqueViolation) throw error;
      if (isUniqueViolation(error)) throw new UniqueViolation(`${what}: already exists`, { cause: error });
      const detail = error instanceof Error ? error.message : String(error);
      throw new StorageError(`Storage failed (${what}): ${detail}`.slice(0, 900), { cause: error });
    }
  }

  /** Answers when the database answers a trivial query. */
  async ping(): Promise<void> {
    await this.run('ping', () => sql`select 1`.execute(this.db));
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  // --- secrets ---------------------------------------------------------------

  /** The named secret; made by `generate` once, then the same for every process on this database. */
  async secret(name: string, generate: () => string): Promise<string> {
    return this.run('read secret', async () => {
      await this.db
        .insertInto('secrets')
        .values({ name, value: generate() })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const row = await this.db
        .selectFrom('secrets')
        .select('value')
        .where('name', '=', name)
        .executeTakeFirstOrThrow();
      return row.value;
    });
  }

  // --- failed sign-ins ----------------------------------------------------------

  /** The failures counted for `key` in the window that contains `now`, or 0. */
  async failures(
    key: string,
    now: number,
    windowMs: number,
  ): Promise<{ failures: number; windowStart: number }> {
    return this.run('read sign-in failures', async () => {
      const row = await this.db
        .selectFrom('auth_failures')
        .selectAll()
        .where('key', '=', key)
        .executeTakeFirst();
      if (!row || row.window_start <= now - windowMs) return { failures: 0, windowStart: now };
      return { failures: row.failures, windowStart: row.window_start };
    });
  }

  /** Counts one failure for each key, in one statement each, atomically across instances. */
  async countFailure(keys: readonly string[], now: number, windowMs: number): Promise<void> {
    await this.run('count sign-in failure', async () => {
      for (const key of keys) {
        await this.db
          .insertInto('auth_failures')
          .values({ key, window_start: now, failures: 1 })
          .onConflict((oc) =>
            oc.column('key').doUpdateSet({
              failures: sql<number>`case when auth_failures.window_start <= ${now - windowMs} then 1 else auth_failures.failures + 1 end`,
              window_start: sql<number>`case when auth_failures.window_start <= ${now - windowMs} then ${now} else auth_failures.window_start end`,
            }),
          )
          .execute();
      }
    });
  }

  async clearFailures(key: string): Promise<void> {
    await this.run('clear sign-in failures', () =>
      this.db.deleteFrom('auth_failures').where('key', '=', key).execute(),
    );
  }

  // --- dashboard sessions --------------------------------------------------------

  async createSession(row: SessionRow): Promise<void> {
    await this.run('create session', async () => {
      // Ended sessions are swept as new ones begin: the table holds only live ones and a few stale.
      await this.db.deleteFrom('sessions').where('expires_at', '<=', row.created_at).execute();
      await this.db.insertInto('sessions').values(row).execute();
    });
  }

  async findSession(idHash: string): Promise<SessionRow | undefined> {
    return this.run('read session', () =>
      this.db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst(),
    );
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.run('delete session', () =>
      this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute(),
    );
  }

  // --- projects --------------------------------------------------------------

  async createProject(name: string, now: number): Promise<ProjectRow> {
    const row = { id: randomUUID(), name, created_at: now };
    await this.run('create project', () => this.db.insertInto('projects').values(row).execute());
    return row;
  }

  async findProject(by: { id?: string; name?: string }): Promise<ProjectRow | undefined> {
    return this.run('read project', async () => {
      let query = this.db.selectFrom('projects').selectAll();
      if (by.id !== undefined) query = query.where('id', '=', by.id);
      if (by.name !== undefined) query = query.where('name', '=', by.name);
      return query.executeTakeFirst();
    });
  }

  async listProjects(): Promise<ProjectRow[]> {
    return this.run('list projects', () =>
      this.db.selectFrom('projects').selectAll().orderBy('name').execute(),
    );
  }

  // --- users -----------------------------------------------------------------

  async countUsers(): Promise<number> {
    return this.run('count users', async () => {
      const row = await this.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  async createUser(user: { name: string; passwordHash: string }, now: number): Promise<UserRow> {
    const row = {
      id: randomUUID(),
      name: user.name,
      password_hash: user.passwordHash,
      token_generation: 0,
      created_at: now,
    };
    await this.run('create user', () => this.db.insertInto('users').values(row).execute());
    return row;
  }

  async findUser(by: { id?: string; name?: string }): Promise<UserRow | undefined> {
    return this.run('read user', async () => {
      let query = this.db.selectFrom('users').selectAll();
      if (by.id !== undefined) query = query.where('id', '=', by.id);
      if (by.name !== undefined) query = query.where('name', '=', by.name);
      return query.executeTakeFirst();
    });
  }

  async listUsers(): Promise<(UserRow & { memberships: MembershipRow[] })[]> {
    return this.run('list users', async () => {
      const users = await this.db.selectFrom('users').selectAll().orderBy('name').execute();
      const memberships = await this.db
        .selectFrom('memberships')
        .innerJoin('projects', 'projects.id', 'memberships.project_id')
        .select([
          'memberships.user_id',
          'memberships.project_id',
          'projects.name as project_name',
          'memberships.role',
        ])
        .orderBy('projects.name')
        .execute();
      return users.map((user) => ({
        ...user,
        memberships: memberships
          .filter((m) => m.user_id === user.id)
          .map((m) => ({ project_id: m.project_id, project_name: m.project_name, role: m.role as Role })),
      }));
    });
  }

  /** Sets a new password hash and revokes every token issued before it. */
  async setPassword(userId: string, passwordHash: string): Promise<void> {
    await this.run('set password', () =>
      this.db
        .updateTable('users')
        .set((eb) => ({ password_hash: passwordHash, token_generation: eb('token_generation', '+', 1) }))
        .where('id', '=', userId)
        .execute(),
    );
  }

  async deleteUser(userId: string): Promise<void> {
    await this.run('delete user', () =>
      this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('memberships').where('user_id', '=', userId).execute();
        await trx.deleteFrom('users').where('id', '=', userId).execute();
      }),
    );
  }

  async setMembership(userId: string, projectId: string, role: Role): Promise<void> {
    await this.run('set membership', () =>
      this.db
        .insertInto('memberships')
        .values({ user_id: userId, project_id: projectId, role })
        .onConflict((oc) => oc.columns(['user_id', 'project_id']).doUpdateSet({ role }))
        .execute(),
    );
  }

  async removeMembership(userId: string, projectId: string): Promise<void> {
    await this.run('remove membership', () =>
      this.db
        .deleteFrom('memberships')
        .where('user_id', '=', userId)
        .where('project_id', '=', projectId)
        .execute(),
    );
  }

  async memberships(userId: string): Promise<MembershipRow[]> {
    return this.run('read memberships', async () => {
      const rows = await this.db
        .selectFrom('memberships')
        .innerJoin('projects', 'projects.id', 'memberships.project_id')
        .select(['memberships.project_id', 'projects.name as project_name', 'memberships.role'])
        .where('memberships.user_id', '=', userId)
        .orderBy('projects.name')
        .execute();
      return rows.map((r) => ({ ...r, role: r.role as Role }));
    });
  }

  /** The user and its role in one project, in one query: what every authenticated request needs. */
  async principal(
    userId: string,
    projectId: string,
  ): Promise<{ user: UserRow; project: ProjectRow; role: Role } | undefined> {
    return this.run('read principal', async () => {
      const row = await this.db
        .selectFrom('users')
        .innerJoin('memberships', 'memberships.user_id', 'users.id')
        .innerJoin('projects', 'projects.id', 'memberships.project_id')
        .select([
          'users.id as user_id',
          'users.name as user_name',
          'users.password_hash',
          'users.token_generation',
          'users.created_at as user_created_at',
          'projects.id as project_id',
          'projects.name as project_name',
          'projects.created_at as project_created_at',
          'memberships.role',
        ])
        .where('users.id', '=', userId)
        .where('projects.id', '=', projectId)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        user: {
          id: row.user_id,
          name: row.user_name,
          password_hash: row.password_hash,
          token_generation: row.token_generation,
          created_at: row.user_created_at,
        },
        project: { id: row.project_id, name: row.project_name, created_at: row.project_created_at },
        role: row.role as Role,
      };
    });
  }

  // --- tasks -----------------------------------------------------------------

  async createTask(task: { projectId: string; name: string; type: TaskType }, now: number): Promise<string> {
    const id = randomUUID();
    await this.run('create task', () =>
      this.db
        .insertInto('tasks')
        .values({
          id,
          project_id: task.projectId,
          name: task.name,
          type: task.type,
          state: 'READY' satisfies TaskState,
          create_date: now,
          start_date: null,
          finish_date: null,
          latest_upload_id: null,
          latest_finished_time: null,
        })
        .execute(),
    );
    return id;
  }

  private taskQuery() {
    return this.db
      .selectFrom('tasks')
      .innerJoin('projects', 'projects.id', 'tasks.project_id')
      .select([
        'tasks.id',
        'tasks.name',
        'tasks.type',
        'tasks.state',
        'tasks.project_id',
        'projects.name as project_name',
        'tasks.create_date',
        'tasks.start_date',
        'tasks.finish_date',
      ]);
  }

  async getTask(id: string): Promise<Task | undefined> {
    return this.run('read task', async () => {
      const row = await this.taskQuery().where('tasks.id', '=', id).executeTakeFirst();
      return row as Task | undefined;
    });
  }

  /** One page of a project's tasks, newest first, and how many match in all. */
  async listTasks(projectId: string, filters: ListTasksParams): Promise<{ count: number; tasks: Task[] }> {
    return this.run('list tasks', async () => {
      let query = this.taskQuery().where('tasks.project_id', '=', projectId);
      if (filters.state !== undefined) query = query.where('tasks.state', '=', filters.state);
      if (filters.id !== undefined) query = query.where('tasks.id', '=', filters.id);
      if (filters.name !== undefined) query = query.where(nameContains(filters.name));
      const count = await query
        .clearSelect()
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      const tasks = await query
        .orderBy('tasks.create_date', 'desc')
        .orderBy('tasks.id')
        .limit(filters.limit ?? TASK_PAGE_DEFAULT)
        .offset(filters.offset ?? 0)
        .execute();
      return { count: Number(count.n), tasks: tasks as Task[] };
    });
  }

  // --- task summaries (the dashboard) -------------------------------------------

  /** A project's tasks (or one of them), with the name filter applied. */
  private summaryQuery(projectId: string, filter: { name?: string | undefined; taskId?: string } = {}) {
    let query = this.db.selectFrom('tasks').where('tasks.project_id', '=', projectId);
    if (filter.taskId !== undefined) query = query.where('tasks.id', '=', filter.taskId);
    if (filter.name !== undefined) query = query.where(nameContains(filter.name));
    return query;
  }

  private summaryColumns<Q extends ReturnType<Storage['summaryQuery']>>(query: Q) {
    return query.select([
      'tasks.id',
      'tasks.name',
      'tasks.type',
      'tasks.state',
      'tasks.create_date',
      'tasks.latest_finished_time as finished_time',
      VERDICT.as('verdict'),
      'tasks.dir_count',
      'tasks.total_files',
      'tasks.different_files',
      'tasks.miss_files',
      'tasks.more_files',
      'tasks.inconsistent_dirs',
    ]);
  }

  /**
   * One page of a project's tasks with their verdicts and the sums over their
   * directories: filtered by part of the name and by verdict, sorted by any
   * column (how many match in all: `verdictCounts`). Tasks without numbers
   * sort after the others whichever the direction (except by verdict, which
   * puts the worst first).
   */
  async taskSummaries(
    projectId: string,
    query: Omit<TaskSummaryQuery, 'page' | 'per_page'> & { limit: number; offset: number },
  ): Promise<TaskSummaryRow[]> {
    return this.run('list task summaries', async () => {
      let q = this.summaryQuery(projectId, { name: query.q });
      if (query.verdict !== undefined) q = q.where(sql<boolean>`${VERDICT} = ${sql.lit(query.verdict)}`);
      const order = query.order;
      const column = {
        name: sql`lower(tasks.name)`,
        state: sql`tasks.state`,
        total: sql`tasks.total_files`,
        different: sql`tasks.different_files`,
        missing: sql`tasks.miss_files`,
        extra: sql`tasks.more_files`,
        last: sql`tasks.latest_finished_time`,
      } as const;
      let page = this.summaryColumns(q);
      if (query.sort === 'verdict') page = page.orderBy(VERDICT_RANK, order);
      else if (query.sort === 'name' || query.sort === 'state')
        page = page.orderBy(column[query.sort], order);
      else if (query.sort === 'last') {
        page = page
          .orderBy(sql`(case when tasks.latest_finished_time is null then 1 else 0 end)`)
          .orderBy(column.last, order);
      } else {
        page = page
          .orderBy(sql`(case when tasks.dir_count = 0 then 1 else 0 end)`)
          .orderBy(column[query.sort], order);
      }
      const rows = await page
        .orderBy(sql`lower(tasks.name)`, 'asc')
        .orderBy('tasks.id', 'asc')
        .limit(query.limit)
        .offset(query.offset)
        .execute();
      return rows.map(summaryRow);
    });
  }

  /** One task as the list shows it; undefined when the project has no such task. */
  async taskSummary(projectId: string, taskId: string): Promise<TaskSummaryRow | undefined> {
    return this.run('read task summary', async () => {
      const row = await this.summaryColumns(this.summaryQuery(projectId, { taskId })).executeTakeFirst();
      return row && summaryRow(row);
    });
  }

  /**
   * One page of a task's directories with their newest results: those that
   * differ first, then by `dir_check` (by code point on either database).
   */
  async taskDirectories(taskId: string, page: { limit: number; offset: number }): Promise<DirectoryState[]> {
    return this.run('read task directories', async () => {
      const byName = this.dialect === 'postgres' ? sql`dir_check collate "C"` : sql`dir_check`;
      const rows = await this.db
        .selectFrom('task_directories')
        .select(DIRECTORY_COLUMNS)
        .where('task_id', '=', taskId)
        .orderBy(
          sql`(case when num_different_files = 0 and num_target_miss_files = 0 and num_target_more_files = 0 then 1 else 0 end)`,
        )
        .orderBy(byName)
        .limit(page.limit)
        .offset(page.offset)
        .execute();
      return rows.map((row) => ({ ...row, upload_id: Number(row.upload_id) }));
    });
  }

  /** How many of a project's tasks (matching the name filter) have each verdict. */
  async verdictCounts(projectId: string, name: string | undefined): Promise<Record<Verdict, number>> {
    return this.run('count verdicts', async () => {
      const rows = await this.summaryQuery(projectId, { name })
        .select((eb) => [VERDICT.as('verdict'), eb.fn.countAll<number>().as('n')])
        .groupBy(VERDICT)
        .execute();
      const counts: Record<Verdict, number> = { inconsistent: 0, 'no-result': 0, never: 0, consistent: 0 };
      for (const row of rows) counts[row.verdict] += Number(row.n);
      return counts;
    });
  }

  /** A task's newest uploads (at most `limit`), newest first, with their totals. */
  async recentUploads(taskId: string, limit: number): Promise<UploadSummary[]> {
    return this.run('read recent uploads', async () => {
      const rows = await this.db
        .selectFrom('consistency_uploads')
        .select([
          'id',
          ...TASK_TOTAL_COLUMNS,
          'finished_time',
          'check_result',
          'results',
          'dir_count',
          'total_files',
          'different_files',
          'miss_files',
          'more_files',
        ])
        .where('task_id', '=', taskId)
        .orderBy('finished_time', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(({ results, ...row }) => ({
        ...row,
        check_result: row.check_result as CheckResult,
        results: JSON.parse(results) as ConsistencyResult[],
      }));
    });
  }

  /** Deletes a task and its uploads; false when there was no such task. */
  async deleteTask(id: string): Promise<boolean> {
    return this.run('delete task', () =>
      this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('consistency_uploads').where('task_id', '=', id).execute();
        const result = await trx.deleteFrom('tasks').where('id', '=', id).executeTakeFirst();
        return Number(result.numDeletedRows) > 0;
      }),
    );
  }

  // --- consistency uploads ----------------------------------------------------

  /**
   * Stores one upload as one row and folds it into its task's state, both
   * committed together when this resolves. With an idempotency key already
   * used for this task, nothing is written and the earlier upload is returned
   * for the caller to compare.
   *
   * On SQLite, uploads that arrive together are committed together (group
   * commit): one transaction and one fsync for the batch, each caller answered
   * only after that commit. better-sqlite3 blocks the event loop while it
   * fsyncs, so one fsync per upload would cap the server at the disk's fsync
   * rate. PostgreSQL groups concurrent commits by itself.
   */
  storeUpload(upload: NewUpload): Promise<UploadOutcome> {
    if (this.dialect !== 'sqlite') {
      return this.run('store upload', () =>
        this.db.transaction().execute((trx) => this.storeUploadIn(trx, upload, true)),
      );
    }
    return new Promise((resolve, reject) => {
      this.uploadQueue.push({ upload, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => void this.flushUploads());
      }
    });
  }

  private uploadQueue: {
    upload: NewUpload;
    resolve: (outcome: UploadOutcome) => void;
    reject: (error: unknown) => void;
  }[] = [];
  private flushScheduled = false;

  private async flushUploads(): Promise<void> {
    const batch = this.uploadQueue;
    this.uploadQueue = [];
    try {
      const outcomes = await this.run('store upload', () =>
        this.db.transaction().execute(async (trx) => {
          const done: UploadOutcome[] = [];
          for (const { upload } of batch) done.push(await this.storeUploadIn(trx, upload, false));
          return done;
        }),
      );
      for (const [i, item] of batch.entries()) item.resolve(outcomes[i]!);
    } catch (error) {
      for (const item of batch) item.reject(error);
    } finally {
      this.flushScheduled = this.uploadQueue.length > 0;
      if (this.flushScheduled) setImmediate(() => void this.flushUploads());
    }
  }

  /** The upload already stored under this one's idempotency key, if any. */
  private async findEarlier(db: Kysely<Database>, upload: NewUpload): Promise<UploadOutcome | undefined> {
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
  private async storeUploadIn(
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
      const earlier = await this.findEarlier(db, upload);
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

  /** Every upload of a task, newest first. */
  async listUploads(taskId: string): Promise<ConsistencyResultEntry[]> {
    return this.run('read uploads', async () => {
      const rows = await this.db
        .selectFrom('consistency_uploads')
        .select(['finished_time', 'check_result', 'results'])
        .where('task_id', '=', taskId)
        .orderBy('finished_time', 'desc')
        .orderBy('id', 'desc')
        .execute();
      return rows.map((row) => ({
        finished_time: row.finished_time,
        check_result: row.check_result as ConsistencyResultEntry['check_result'],
        consistency_result: JSON.parse(row.results) as ConsistencyResult[],
      }));
    });
  }

  /** How many uploads a task has (for tests and the load check). */
  async countUploads(taskId?: string): Promise<number> {
    return this.run('count uploads', async () => {
      let query = this.db.selectFrom('consistency_uploads').select((eb) => eb.fn.countAll<number>().as('n'));
      if (taskId !== undefined) query = query.where('task_id', '=', taskId);
      const row = await query.executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }
}
