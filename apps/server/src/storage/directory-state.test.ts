import { describe, expect, it } from 'vitest';
import { result } from '../testing/app.js';
import { changeOf, type TaskTotals } from './directory-state.js';

const clean = { num_different_files: 0, num_target_miss_files: 0, num_target_more_files: 0 };
const empty: TaskTotals = {
  latest_upload_id: null,
  latest_finished_time: null,
  dir_count: 0,
  inconsistent_dirs: 0,
  num_total_files: 0,
  num_different_files: 0,
  num_target_miss_files: 0,
  num_target_more_files: 0,
};

describe('changeOf', () => {
  it('adds new directories to the sums and makes the first upload the newest', () => {
    const change = changeOf(empty, [], {
      finishedTime: 10,
      results: [result('/a', { num_total_files: 5, ...clean }), result('/b')],
    });
    expect(change.directories.map((d) => d.dir_check)).toEqual(['/a', '/b']);
    expect(change.becomesLatest).toBe(true);
    expect(change.totals).toEqual({
      dir_count: 2,
      inconsistent_dirs: 1,
      num_total_files: 105,
      num_different_files: 1,
      num_target_miss_files: 2,
      num_target_more_files: 3,
    });
  });

  it('replaces a row by the difference, keeps a newer one, and wins a tie (it is stored later)', () => {
    const task = {
      ...empty,
      latest_upload_id: 2,
      latest_finished_time: 20,
      dir_count: 2,
      inconsistent_dirs: 1,
    };
    const rows = [
      { ...result('/old'), upload_id: 1, finished_time: 10 },
      { ...result('/newer', { num_total_files: 5, ...clean }), upload_id: 2, finished_time: 20 },
    ];
    Object.assign(task, {
      num_total_files: 105,
      num_different_files: 1,
      num_target_miss_files: 2,
      num_target_more_files: 3,
    });
    const older = changeOf(task, rows, {
      finishedTime: 15,
      results: [result('/old', { num_total_files: 7, ...clean }), result('/newer')],
    });
    expect(older.directories.map((d) => d.dir_check)).toEqual(['/old']);
    expect(older.becomesLatest).toBe(false);
    expect(older.totals).toMatchObject({
      dir_count: 2,
      inconsistent_dirs: 0,
      num_total_files: 12,
      num_different_files: 0,
    });
    const tie = changeOf(task, rows, { finishedTime: 20, results: [result('/newer')] });
    expect(tie.directories).toHaveLength(1);
    expect(tie.becomesLatest).toBe(true);
    expect(tie.totals).toMatchObject({ dir_count: 2, inconsistent_dirs: 2, num_total_files: 200 });
  });

  it('changes only the newest upload for an upload with no directory', () => {
    const change = changeOf({ ...empty, dir_count: 3 }, [], { finishedTime: 5, results: [] });
    expect(change).toEqual({
      directories: [],
      totals: { ...change.totals, dir_count: 3 },
      becomesLatest: true,
    });
  });
});
