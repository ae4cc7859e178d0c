import { type ConsistencyResult, isConsistent } from '@sms/domain';

/** A directory of a task with its newest result, and the upload that brought it (a row of `task_directories`). */
export interface DirectoryState extends ConsistencyResult {
  upload_id: number;
  finished_time: number;
}

/** A task's sums over the newest result of each of its directories, and its newest upload. */
export interface TaskTotals {
  latest_upload_id: number | null;
  latest_finished_time: number | null;
  dir_count: number;
  inconsistent_dirs: number;
  num_total_files: number;
  num_different_files: number;
  num_target_miss_files: number;
  num_target_more_files: number;
}

/** What one upload changes in its task: the directories whose rows it replaces or adds, and the new sums. */
export interface TaskChange {
  directories: ConsistencyResult[];
  totals: Omit<TaskTotals, 'latest_upload_id' | 'latest_finished_time'>;
  /** Whether the upload becomes the task's newest (it may be stored after a newer one). */
  becomesLatest: boolean;
}

/**
 * What an upload stored at `finishedTime` changes in its task, given the
 * current rows of the directories it names: each of its results replaces the
 * directory's row unless that row is newer. The upload is stored after every
 * row it is compared with (it gets a larger id), so at the same time it wins.
 * Directories it leaves out keep their rows; the sums move by the difference,
 * so the cost is the upload's size, not the task's.
 */
export function changeOf(
  task: TaskTotals,
  current: readonly DirectoryState[],
  upload: { finishedTime: number; results: readonly ConsistencyResult[] },
): TaskChange {
  const byDir = new Map(current.map((row) => [row.dir_check, row]));
  const totals = totalsOf(task);
  const directories: ConsistencyResult[] = [];
  for (const result of upload.results) {
    const existing = byDir.get(result.dir_check);
    if (existing && existing.finished_time > upload.finishedTime) continue;
    if (existing) move(totals, existing, -1);
    move(totals, result, 1);
    directories.push(result);
  }
  return { directories, totals, becomesLatest: becomesLatest(task, upload.finishedTime) };
}

/** What the current rows of an upload's directories hold together (as `SUM`s over them). */
export type DirectorySums = TaskChange['totals'];

/** The sums of no directory. */
export const NO_DIRECTORIES: DirectorySums = {
  dir_count: 0,
  inconsistent_dirs: 0,
  num_total_files: 0,
  num_different_files: 0,
  num_target_miss_files: 0,
  num_target_more_files: 0,
};

/**
 * `changeOf` when no current row of the upload's directories is newer than
 * the upload (the usual case: uploads are stamped as they arrive), given only
 * the sums of those rows: every result replaces its row, so the sums move by
 * the upload's results less what the replaced rows held. Saves reading the
 * rows one by one.
 */
export function changeReplacingAll(
  task: TaskTotals,
  replaced: DirectorySums,
  upload: { finishedTime: number; results: readonly ConsistencyResult[] },
): TaskChange {
  const totals = totalsOf(task);
  totals.dir_count -= replaced.dir_count;
  totals.inconsistent_dirs -= replaced.inconsistent_dirs;
  totals.num_total_files -= replaced.num_total_files;
  totals.num_different_files -= replaced.num_different_files;
  totals.num_target_miss_files -= replaced.num_target_miss_files;
  totals.num_target_more_files -= replaced.num_target_more_files;
  for (const result of upload.results) move(totals, result, 1);
  return {
    directories: [...upload.results],
    totals,
    becomesLatest: becomesLatest(task, upload.finishedTime),
  };
}

function totalsOf(task: TaskTotals): TaskChange['totals'] {
  return {
    dir_count: task.dir_count,
    inconsistent_dirs: task.inconsistent_dirs,
    num_total_files: task.num_total_files,
    num_different_files: task.num_different_files,
    num_target_miss_files: task.num_target_miss_files,
    num_target_more_files: task.num_target_more_files,
  };
}

function move(totals: TaskChange['totals'], result: ConsistencyResult, sign: 1 | -1): void {
  totals.dir_count += sign;
  totals.inconsistent_dirs += isConsistent(result) ? 0 : sign;
  totals.num_total_files += sign * result.num_total_files;
  totals.num_different_files += sign * result.num_different_files;
  totals.num_target_miss_files += sign * result.num_target_miss_files;
  totals.num_target_more_files += sign * result.num_target_more_files;
}

/** Whether an upload stored at `finishedTime` becomes the task's newest (it may be stored after a newer one). */
function becomesLatest(task: TaskTotals, finishedTime: number): boolean {
  return task.latest_finished_time === null || finishedTime >= task.latest_finished_time;
}
