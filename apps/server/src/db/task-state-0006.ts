import { type ConsistencyResult, isConsistent } from '@sms/domain';

// How migration 0006 folded the uploads stored before it into each task's state (one JSON value
// of directories per task), kept as it was so that the migration does on an old database what it
// always did; 0007 then moves that value into rows of task_directories.

/** A directory of a task with its newest result, and the upload that brought it. */
export interface DirectoryState extends ConsistencyResult {
  upload_id: number;
  finished_time: number;
}

/** What a task keeps of its uploads: its newest upload, and each directory's newest result with their sums. */
export interface TaskState {
  latest_upload_id: number | null;
  latest_finished_time: number | null;
  /** The directories, as JSON (`DirectoryState[]`, by `dir_check`). */
  directories: string;
  dir_count: number;
  inconsistent_dirs: number;
  total_files: number;
  different_files: number;
  miss_files: number;
  more_files: number;
}

/** The state of a task without uploads. */
export const EMPTY_TASK_STATE: TaskState = {
  latest_upload_id: null,
  latest_finished_time: null,
  directories: '[]',
  dir_count: 0,
  inconsistent_dirs: 0,
  total_files: 0,
  different_files: 0,
  miss_files: 0,
  more_files: 0,
};

/** Is (time, id) `a` newer than `b`? The order that decides the newest result: by time, then by id (stored later). */
function newer(
  a: { finished_time: number; upload_id: number },
  b: { finished_time: number; upload_id: number },
) {
  return (
    a.finished_time > b.finished_time || (a.finished_time === b.finished_time && a.upload_id > b.upload_id)
  );
}

export function parseDirectories(json: string): DirectoryState[] {
  return JSON.parse(json) as DirectoryState[];
}

/**
 * A task's state after one more upload: each directory of the upload replaces
 * the one of the same `dir_check` unless that one is newer, and the newest
 * upload moves to this one unless a newer one is already there (uploads can
 * be stored out of their time order). Directories never disappear: one left
 * out of an upload keeps its last result.
 */
export function nextTaskState(
  current: Pick<TaskState, 'latest_upload_id' | 'latest_finished_time' | 'directories'>,
  upload: { id: number; finishedTime: number; results: readonly ConsistencyResult[] },
): TaskState {
  const stamp = { upload_id: upload.id, finished_time: upload.finishedTime };
  const byDir = new Map(parseDirectories(current.directories).map((d) => [d.dir_check, d]));
  for (const result of upload.results) {
    const existing = byDir.get(result.dir_check);
    if (!existing || newer(stamp, existing)) byDir.set(result.dir_check, { ...result, ...stamp });
  }
  const directories = [...byDir.values()].sort((a, b) =>
    a.dir_check < b.dir_check ? -1 : a.dir_check > b.dir_check ? 1 : 0,
  );
  const latestIsOlder =
    current.latest_upload_id === null ||
    current.latest_finished_time === null ||
    newer(stamp, { upload_id: current.latest_upload_id, finished_time: current.latest_finished_time });
  return {
    latest_upload_id: latestIsOlder ? upload.id : current.latest_upload_id,
    latest_finished_time: latestIsOlder ? upload.finishedTime : current.latest_finished_time,
    directories: JSON.stringify(directories),
    dir_count: directories.length,
    inconsistent_dirs: directories.filter((d) => !isConsistent(d)).length,
    total_files: directories.reduce((sum, d) => sum + d.num_total_files, 0),
    different_files: directories.reduce((sum, d) => sum + d.num_different_files, 0),
    miss_files: directories.reduce((sum, d) => sum + d.num_target_miss_files, 0),
    more_files: directories.reduce((sum, d) => sum + d.num_target_more_files, 0),
  };
}

/** A task state's sums, as an upload keeps them. */
/** The columns of an upload that migration 0006 added to keep the task's sums after it (renamed by 0008). */
export const TASK_TOTAL_COLUMNS_0006 = [
  'task_dir_count',
  'task_inconsistent_dirs',
  'task_total_files',
  'task_different_files',
  'task_miss_files',
  'task_more_files',
] as const;

export function taskTotalsOf(state: TaskState): Record<(typeof TASK_TOTAL_COLUMNS_0006)[number], number> {
  return {
    task_dir_count: state.dir_count,
    task_inconsistent_dirs: state.inconsistent_dirs,
    task_total_files: state.total_files,
    task_different_files: state.different_files,
    task_miss_files: state.miss_files,
    task_more_files: state.more_files,
  };
}
