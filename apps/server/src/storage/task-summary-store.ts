import {
  type CheckResult,
  type ConsistencyResult,
  type TaskState,
  type TaskSummaryQuery,
  type TaskType,
  VERDICTS_WORST_FIRST,
  type Verdict,
} from '@sms/domain';
import { sql } from 'kysely';
import { TASK_TOTAL_COLUMNS } from '../db/schema.js';
import type { DirectoryState } from './directory-state.js';
import { Store } from './handle.js';
import { nameContains } from './task-store.js';

/** The columns of a directory's row besides its task. */
export const DIRECTORY_COLUMNS = [
  'dir_check',
  'num_total_files',
  'num_different_files',
  'num_target_miss_files',
  'num_target_more_files',
  'upload_id',
  'finished_time',
] as const;

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
  num_total_files: number | null;
  num_different_files: number | null;
  num_target_miss_files: number | null;
  num_target_more_files: number | null;
  inconsistent_dirs: number | null;
}
/** One upload with its summed counts, and the task's sums right after it. */
export interface UploadSummary {
  id: number;
  task_dir_count: number;
  task_inconsistent_dirs: number;
  task_num_total_files: number;
  task_num_different_files: number;
  task_num_target_miss_files: number;
  task_num_target_more_files: number;
  finished_time: number;
  check_result: CheckResult;
  results: ConsistencyResult[];
  dir_count: number;
  num_total_files: number;
  num_different_files: number;
  num_target_miss_files: number;
  num_target_more_files: number;
}
/**
 * One run of a task (an agent's `verify`, however many uploads it sent; an
 * upload without a run id is a run of its own): its uploads summed, and the
 * task's sums right after its last upload.
 */
export interface RunSummary extends Omit<UploadSummary, 'id' | 'results'> {
  /** The run id; `upload:<id>` for an upload stored without one before runs were kept. */
  run_id: string;
  uploads: number;
  started_time: number;
  /** When its last upload was stored. */
  finished_time: number;
  /** INCONSISTENT when an upload of the run was, else CONSISTENT when one was, else NO_RESULT. */
  check_result: CheckResult;
}

/** The run of an upload row: its run id, or one of its own for an upload stored before runs were kept. */
const RUN_OF_UPLOAD = sql<string>`coalesce(run_id, 'upload:' || cast(id as text))`;

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
    num_total_files: count(row.num_total_files),
    num_different_files: count(row.num_different_files),
    num_target_miss_files: count(row.num_target_miss_files),
    num_target_more_files: count(row.num_target_more_files),
    inconsistent_dirs: count(row.inconsistent_dirs),
  };
}

/** What the dashboard reads of tasks: verdicts, sums over directories, directories, recent uploads. */
export class TaskSummaryStore extends Store {
  // --- task summaries (the dashboard) -------------------------------------------

  /** A project's tasks (or one of them), with the name filter applied. */
  private summaryQuery(projectId: string, filter: { name?: string | undefined; taskId?: string } = {}) {
    let query = this.db.selectFrom('tasks').where('tasks.project_id', '=', projectId);
    if (filter.taskId !== undefined) query = query.where('tasks.id', '=', filter.taskId);
    if (filter.name !== undefined) query = query.where(nameContains(filter.name));
    return query;
  }

  private summaryColumns<Q extends ReturnType<TaskSummaryStore['summaryQuery']>>(query: Q) {
    return query.select([
      'tasks.id',
      'tasks.name',
      'tasks.type',
      'tasks.state',
      'tasks.create_date',
      'tasks.latest_finished_time as finished_time',
      VERDICT.as('verdict'),
      'tasks.dir_count',
      'tasks.num_total_files',
      'tasks.num_different_files',
      'tasks.num_target_miss_files',
      'tasks.num_target_more_files',
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
        total: sql`tasks.num_total_files`,
        different: sql`tasks.num_different_files`,
        missing: sql`tasks.num_target_miss_files`,
        extra: sql`tasks.num_target_more_files`,
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

  /** A task's newest runs (at most `limit`), newest first (by their last upload), with their sums. */
  async recentRuns(taskId: string, limit: number): Promise<RunSummary[]> {
    return this.run('read recent runs', async () => {
      const runs = await this.db
        .selectFrom('consistency_uploads')
        .select([
          RUN_OF_UPLOAD.as('run_id'),
          sql<number>`max(id)`.as('last_id'),
          sql<number>`count(*)`.as('uploads'),
          sql<number>`min(finished_time)`.as('started_time'),
          sql<number>`max(finished_time)`.as('finished_time'),
          sql<number>`max(case when check_result = 'INCONSISTENT' then 2 when check_result = 'CONSISTENT' then 1 else 0 end)`.as(
            'rank',
          ),
          sql<number>`sum(dir_count)`.as('dir_count'),
          sql<number>`sum(num_total_files)`.as('num_total_files'),
          sql<number>`sum(num_different_files)`.as('num_different_files'),
          sql<number>`sum(num_target_miss_files)`.as('num_target_miss_files'),
          sql<number>`sum(num_target_more_files)`.as('num_target_more_files'),
        ])
        .where('task_id', '=', taskId)
        .groupBy(RUN_OF_UPLOAD)
        .orderBy(sql`max(finished_time)`, 'desc')
        .orderBy(sql`max(id)`, 'desc')
        .limit(limit)
        .execute();
      if (runs.length === 0) return [];
      const after = await this.db
        .selectFrom('consistency_uploads')
        .select(['id', ...TASK_TOTAL_COLUMNS])
        .where(
          'id',
          'in',
          runs.map((r) => Number(r.last_id)),
        )
        .execute();
      const totals = new Map(after.map((row) => [Number(row.id), row]));
      return runs.map((r) => {
        const last = totals.get(Number(r.last_id));
        return {
          run_id: r.run_id,
          uploads: Number(r.uploads),
          started_time: Number(r.started_time),
          finished_time: Number(r.finished_time),
          check_result: (['NO_RESULT', 'CONSISTENT', 'INCONSISTENT'] as const)[Number(r.rank)] ?? 'NO_RESULT',
          dir_count: Number(r.dir_count),
          num_total_files: Number(r.num_total_files),
          num_different_files: Number(r.num_different_files),
          num_target_miss_files: Number(r.num_target_miss_files),
          num_target_more_files: Number(r.num_target_more_files),
          task_dir_count: Number(last?.task_dir_count ?? 0),
          task_inconsistent_dirs: Number(last?.task_inconsistent_dirs ?? 0),
          task_num_total_files: Number(last?.task_num_total_files ?? 0),
          task_num_different_files: Number(last?.task_num_different_files ?? 0),
          task_num_target_miss_files: Number(last?.task_num_target_miss_files ?? 0),
          task_num_target_more_files: Number(last?.task_num_target_more_files ?? 0),
        };
      });
    });
  }

  /** How many runs a task has. */
  async countRuns(taskId: string): Promise<number> {
    return this.run('count runs', async () => {
      const row = await this.db
        .selectFrom('consistency_uploads')
        .select(sql<number>`count(distinct ${RUN_OF_UPLOAD})`.as('n'))
        .where('task_id', '=', taskId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  /** The run of each of these uploads (`upload:<id>` for one stored without a run id). */
  async runsOfUploads(uploadIds: readonly number[]): Promise<Map<number, string>> {
    return this.run('read runs of uploads', async () => {
      if (uploadIds.length === 0) return new Map();
      const rows = await this.db
        .selectFrom('consistency_uploads')
        .select(['id', RUN_OF_UPLOAD.as('run_id')])
        .where('id', 'in', [...new Set(uploadIds)])
        .execute();
      return new Map(rows.map((r) => [Number(r.id), r.run_id]));
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
          'num_total_files',
          'num_different_files',
          'num_target_miss_files',
          'num_target_more_files',
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
}
