import {
  Actions,
  type ConsistencyResult,
  NotFoundError,
  type Task,
  type TaskSummaryQuery,
  VERDICTS_WORST_FIRST,
  type Verdict,
} from '@sms/domain';
import type { Storage, TaskSummaryRow, UploadSummary } from '../storage/storage.js';
import type { AuthService, Principal } from './auth-service.js';

/** The uploads a task page charts and lists: the newest 50. */
export const HISTORY_LIMIT = 50;
/** The uploads a task page reads to find each directory's latest result: the newest 500. */
export const DIRECTORY_LOOKBACK = 500;

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

/** A directory's most recent result, and the upload it came in. */
export interface DirectoryLatest {
  result: ConsistencyResult;
  finishedTime: number;
  /** True when the task's latest upload holds this directory. */
  inLatestUpload: boolean;
}

export interface TaskPageView {
  task: Task;
  uploadCount: number;
  /** The newest uploads, newest first (at most `HISTORY_LIMIT`). */
  history: UploadSummary[];
  /** Every directory seen in the newest `DIRECTORY_LOOKBACK` uploads, by name, with its latest result. */
  directories: DirectoryLatest[];
}

/** What the web dashboard shows: the same permissions as the API, read in as few queries as it can. */
export class DashboardService {
  constructor(
    private readonly storage: Storage,
    private readonly auth: AuthService,
  ) {}

  /** One page of the project's tasks with their latest verdicts; needs the rights to list tasks and read results. */
  async taskList(principal: Principal, query: TaskSummaryQuery): Promise<TaskListView> {
    const project = `project:${principal.projectName}`;
    this.auth.authorize(principal, Actions.listTasks, project);
    this.auth.authorize(principal, Actions.getConsistencyCheckResult, project);
    const verdictCounts = await this.storage.verdictCounts(principal.projectId, query.q);
    const matching =
      query.verdict === undefined
        ? VERDICTS_WORST_FIRST.reduce((sum, verdict) => sum + verdictCounts[verdict], 0)
        : verdictCounts[query.verdict];
    const pages = Math.max(1, Math.ceil(matching / query.per_page));
    const page = Math.min(query.page, pages);
    const tasks = await this.storage.taskSummaries(principal.projectId, {
      ...query,
      limit: query.per_page,
      offset: (page - 1) * query.per_page,
    });
    return { query, page, pages, count: matching, tasks, verdictCounts };
  }

  /** A task's page: 404 when it is not in the principal's project, 403 when its results may not be read. */
  async taskPage(principal: Principal, taskId: string): Promise<TaskPageView> {
    // Another project's task is not found here: the page does not confirm that an ID exists elsewhere.
    const task = await this.storage.getTask(taskId);
    if (!task || task.project_id !== principal.projectId) throw new NotFoundError('task', taskId);
    this.auth.authorizeTask(principal, Actions.getConsistencyCheckResult, task);
    const [uploads, uploadCount] = await Promise.all([
      this.storage.recentUploads(taskId, DIRECTORY_LOOKBACK),
      this.storage.countUploads(taskId),
    ]);
    const latest = new Map<string, DirectoryLatest>();
    for (const [index, upload] of uploads.entries()) {
      for (const result of upload.results) {
        if (!latest.has(result.dir_check)) {
          latest.set(result.dir_check, {
            result,
            finishedTime: upload.finished_time,
            inLatestUpload: index === 0,
          });
        }
      }
    }
    const directories = [...latest.values()].sort((a, b) =>
      a.result.dir_check < b.result.dir_check ? -1 : a.result.dir_check > b.result.dir_check ? 1 : 0,
    );
    return { task, uploadCount, history: uploads.slice(0, HISTORY_LIMIT), directories };
  }
}
