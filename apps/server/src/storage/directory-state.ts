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
  const totals = {
    dir_count: task.dir_count,
    inconsistent_dirs: task.inconsistent_dirs,
    num_total_files: task.num_total_files,
    num_different_files: task.num_different_files,
    num_target_miss_files: task.num_target_miss_files,
    num_target_more_files: task.num_target_more_files,
  };
  const move = (result: ConsistencyResult, sign: 1 | -1) => {
    totals.dir_count += sign;
    totals.inconsistent_dirs += isConsistent(result) ? 0 : sign;
    totals.num_total_files += sign * result.num_total_files;
    totals.num_different_files += sign * result.num_different_files;
    totals.num_target_miss_files += sign * result.num_target_miss_files;
    totals.num_target_more_files += sign * result.num_target_more_files;
  };
  const directories: ConsistencyResult[] = [];
  for (const result of upload.results) {
    const existing = byDir.get(result.dir_check);
    if (existing && existing.finished_time > upload.finishedTime) continue;
    if (existing) move(existing, -1);
    move(result, 1);
    directories.push(result);
  }
  const becomesLatest =
    task.latest_finished_time === null || upload.finishedTime >= task.latest_finished_time;
  return { directories, totals, becomesLatest };
}
