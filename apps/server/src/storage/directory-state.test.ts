import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { result } from '../testing/app.js';
import {
  changeOf,
  changeReplacingAll,
  type DirectoryState,
  NO_DIRECTORIES,
  type TaskTotals,
} from './directory-state.js';

const clean = { num_different_files: 0, num_target_miss_files: 0, num_target_more_files: 0 };
const empty: TaskTotals = { latest_upload_id: null, latest_finished_time: null, ...NO_DIRECTORIES };

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

describe('changeReplacingAll', () => {
  const count = fc.integer({ min: 0, max: 1_000_000 });
  const counts = fc.record({
    num_total_files: count,
    num_different_files: fc.oneof(fc.constant(0), count),
    num_target_miss_files: fc.oneof(fc.constant(0), count),
    num_target_more_files: fc.oneof(fc.constant(0), count),
  });

  it('moves the sums as changeOf does when no current row is newer than the upload', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 40 }), counts, fc.boolean()), {
          selector: ([dir]) => dir,
          maxLength: 30,
        }),
        fc.integer({ min: 0, max: 100 }),
        (entries, finishedTime) => {
          const results = entries.map(([dir, c]) => ({ dir_check: `/d${dir}`, ...c }));
          // the rows of the directories the upload names that exist, none newer than it
          const current: DirectoryState[] = entries
            .filter(([, , exists]) => exists)
            .map(([dir], i) => ({
              ...result(`/d${dir}`, { num_total_files: 10 + i, num_different_files: i % 2 }),
              upload_id: i,
              finished_time: finishedTime - (i % 3),
            }));
          // the sums of those rows; the task has five other directories besides
          const sums = { ...NO_DIRECTORIES };
          for (const row of current) {
            sums.dir_count += 1;
            sums.inconsistent_dirs +=
              row.num_different_files + row.num_target_miss_files + row.num_target_more_files > 0 ? 1 : 0;
            sums.num_total_files += row.num_total_files;
            sums.num_different_files += row.num_different_files;
            sums.num_target_miss_files += row.num_target_miss_files;
            sums.num_target_more_files += row.num_target_more_files;
          }
          const task: TaskTotals = {
            latest_upload_id: 1,
            latest_finished_time: finishedTime - 1,
            dir_count: sums.dir_count + 5,
            inconsistent_dirs: sums.inconsistent_dirs + 2,
            num_total_files: sums.num_total_files + 500,
            num_different_files: sums.num_different_files + 3,
            num_target_miss_files: sums.num_target_miss_files + 4,
            num_target_more_files: sums.num_target_more_files,
          };
          const upload = { finishedTime, results };
          expect(changeReplacingAll(task, sums, upload)).toEqual(changeOf(task, current, upload));
        },
      ),
    );
  });
});
