import {
  Actions,
  type ConsistencyResult,
  NotFoundError,
  TASK_DIRECTORIES_PER_PAGE,
  type Task,
  type TaskPageQuery,
  type TaskSummaryQuery,
  VERDICTS_WORST_FIRST,
  type Verdict,
} from '@sms/domain';
import type {
  FindingStore,
  RunSummary,
  TaskStore,
  TaskSummaryRow,
  TaskSummaryStore,
  UploadStore,
  UploadSummary,
} from '../storage/storage.js';

export type { RunSummary, TaskSummaryRow, UploadSummary };

import type { AuthService, Principal } from './auth-service.js';

/** The runs a task page charts and lists: the newest 50. */
export const HISTORY_LIMIT = 50;

export interface TaskListView {
  query: TaskSummaryQuery;
  /** The page shown: the one asked for, or the last one when it asked past the end. */
  page: number;
  pages: number;
  /** Tasks matching the name and verdict filters, over all pages. */
  count: number;
  tasks: TaskSummaryRow[];
  /** Tasks matching the name filter, by verdict (for the filter's counts). */
  verdictCounts: Record<Verdict, number>;
}

/** A directory's most recent result, the run it came from, and its findings. */
export interface DirectoryLatest {
  result: ConsistencyResult;
  finishedTime: number;
  /** The run of its newest result (`upload:<id>` for one stored before runs were kept). */
  runId: string;
  /** True when the task's latest run verified this directory. */
  inLatestRun: boolean;
  /** Its current findings (of that run), when the agent sent any. */
  findings?: { count: number; truncated: boolean };
}

export interface TaskPageView {
  task: Task;
  /** The task as the list shows it: verdict and sums over its directories. */
  summary: TaskSummaryRow;
  uploadCount: number;
  runCount: number;
  /** The newest runs, newest first (at most `HISTORY_LIMIT`). */
  history: RunSummary[];
  /**
   * One page (`TASK_DIRECTORIES_PER_PAGE`) of the task's directories with their newest results,
   * in the order: the inconsistent first, then by name.
   */
  directories: DirectoryLatest[];
  /** Which page of directories this is: the one asked for, or the last one when it asked past the end. */
  directoryPage: { page: number; pages: number; perPage: number; count: number };
}

/** The page to show of `count` items, `perPage` to a page: the one asked for, or the last one when it asked past the end. */
function pageOf(count: number, perPage: number, asked: number): { page: number; pages: number } {
  const pages = Math.max(1, Math.ceil(count / perPage));
  return { page: Math.min(asked, pages), pages };
}

/** What the web dashboard shows: the same permissions as the API, read in as few queries as it can. */
export class DashboardService {
  private readonly tasks: TaskStore;
  private readonly summaries: TaskSummaryStore;
  private readonly uploads: UploadStore;
  private readonly findings: FindingStore;

  constructor(
    stores: { tasks: TaskStore; summaries: TaskSummaryStore; uploads: UploadStore; findings: FindingStore },
    private readonly auth: AuthService,
  ) {
    this.tasks = stores.tasks;
    this.summaries = stores.summaries;
    this.uploads = stores.uploads;
    this.findings = stores.findings;
  }

  /** One page of the project's tasks with their latest verdicts; needs the rights to list tasks and read results. */
  async taskList(principal: Principal, query: TaskSummaryQuery): Promise<TaskListView> {
    const project = `project:${principal.projectName}`;
    this.auth.authorize(principal, Actions.listTasks, project);
    this.auth.authorize(principal, Actions.getConsistencyCheckResult, project);
    const verdictCounts = await this.summaries.verdictCounts(principal.projectId, query.q);
    const matching =
      query.verdict === undefined
        ? VERDICTS_WORST_FIRST.reduce((sum, verdict) => sum + verdictCounts[verdict], 0)
        : verdictCounts[query.verdict];
    const { page, pages } = pageOf(matching, query.per_page, query.page);
    const tasks = await this.summaries.taskSummaries(principal.projectId, {
      ...query,
      limit: query.per_page,
      offset: (page - 1) * query.per_page,
    });
    return { query, page, pages, count: matching, tasks, verdictCounts };
  }

  /** A task's page: 404 when it is not in the principal's project, 403 when its results may not be read. */
  async taskPage(principal: Principal, taskId: string, query: TaskPageQuery): Promise<TaskPageView> {
    const task = await this.readableTask(principal, taskId);
    const [summary, history, uploadCount, runCount] = await Promise.all([
      this.summaries.taskSummary(principal.projectId, taskId),
      this.summaries.recentRuns(taskId, HISTORY_LIMIT),
      this.uploads.countUploads(taskId),
      this.summaries.countRuns(taskId),
    ]);
    if (!summary) throw new NotFoundError('task', taskId); // deleted meanwhile
    const count = summary.dir_count ?? 0;
    const perPage = TASK_DIRECTORIES_PER_PAGE;
    const { page, pages } = pageOf(count, perPage, query.dirs_page);
    const states = await this.summaries.taskDirectories(taskId, {
      limit: perPage,
      offset: (page - 1) * perPage,
    });
    const [runs, findings] = await Promise.all([
      this.summaries.runsOfUploads(states.map((s) => s.upload_id)),
      this.findings.findingDirectories(taskId, { dirChecks: states.map((s) => s.dir_check), limit: perPage }),
    ]);
    const findingsOf = new Map(findings.map((f) => [f.dir_check, f]));
    const newest = history[0]?.run_id;
    return {
      task,
      summary,
      uploadCount,
      runCount,
      history,
      directories: states.map(({ upload_id, finished_time, ...result }) => {
        const runId = runs.get(upload_id) ?? `upload:${upload_id}`;
        const found = findingsOf.get(result.dir_check);
        return {
          result,
          finishedTime: finished_time,
          runId,
          inLatestRun: runId === newest,
          ...(found ? { findings: { count: found.findings, truncated: found.truncated } } : {}),
        };
      }),
      directoryPage: { page, pages, perPage, count },
    };
  }

  /** A task whose results the principal may read: 404 when it is not in the principal's project, 403 when its results may not be read. */
  async readableTask(principal: Principal, taskId: string): Promise<Task> {
    const task = await this.projectTask(principal, taskId);
    this.auth.authorizeTask(principal, Actions.getConsistencyCheckResult, task);
    return task;
  }

  /**
   * The task, if it is of the principal's project. Another project's task is not found here (for
   * any role, a page or a form): the dashboard does not confirm that an ID exists elsewhere.
   */
  async projectTask(principal: Principal, taskId: string): Promise<Task> {
    const task = await this.tasks.getTask(taskId);
    if (!task || task.project_id !== principal.projectId) throw new NotFoundError('task', taskId);
    return task;
  }
}
