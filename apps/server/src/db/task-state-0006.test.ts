import { describe, expect, it } from 'vitest';
import { result } from '../testing/app.js';
import { EMPTY_TASK_STATE, nextTaskState, parseDirectories } from './task-state-0006.js';

const clean = { num_different_files: 0, num_target_miss_files: 0, num_target_more_files: 0 };
const fold = (uploads: { id: number; finishedTime: number; results: ReturnType<typeof result>[] }[]) =>
  uploads.reduce((state, upload) => nextTaskState(state, upload), EMPTY_TASK_STATE);

describe('nextTaskState', () => {
  it('adds up a verification split over uploads, directory by directory', () => {
    const state = fold([
      { id: 1, finishedTime: 10, results: [result('/a', { num_total_files: 5, ...clean }), result('/b')] },
      { id: 2, finishedTime: 11, results: [result('/c', { num_total_files: 7, ...clean })] },
    ]);
    expect(state).toMatchObject({
      latest_upload_id: 2,
      latest_finished_time: 11,
      dir_count: 3,
      inconsistent_dirs: 1,
      total_files: 112,
      different_files: 1,
      miss_files: 2,
      more_files: 3,
    });
    expect(parseDirectories(state.directories).map((d) => [d.dir_check, d.upload_id])).toEqual([
      ['/a', 1],
      ['/b', 1],
      ['/c', 2],
    ]);
  });

  it('replaces a directory by a newer result only: by time, then by the later id', () => {
    const fixed = result('/a', { num_total_files: 5, ...clean });
    const broken = result('/a', {
      num_total_files: 5,
      num_different_files: 5,
      num_target_miss_files: 0,
      num_target_more_files: 0,
    });
    // stored out of time order: the older result arrives last and changes nothing
    const outOfOrder = fold([
      { id: 1, finishedTime: 20, results: [fixed] },
      { id: 2, finishedTime: 10, results: [broken] },
    ]);
    expect(outOfOrder).toMatchObject({ latest_upload_id: 1, latest_finished_time: 20, inconsistent_dirs: 0 });
    // the same time: the later id wins
    const tie = fold([
      { id: 1, finishedTime: 10, results: [broken] },
      { id: 2, finishedTime: 10, results: [fixed] },
    ]);
    expect(tie).toMatchObject({ latest_upload_id: 2, inconsistent_dirs: 0, different_files: 0 });
  });

  it('keeps directories an upload leaves out, and an upload with no directory changes only the newest upload', () => {
    const state = fold([
      { id: 1, finishedTime: 10, results: [result('/a')] },
      { id: 2, finishedTime: 11, results: [] },
    ]);
    expect(state).toMatchObject({
      latest_upload_id: 2,
      dir_count: 1,
      inconsistent_dirs: 1,
      total_files: 100,
    });
    expect(fold([{ id: 1, finishedTime: 1, results: [] }])).toMatchObject({
      latest_upload_id: 1,
      dir_count: 0,
    });
  });

  it('sums every count at its maximum over 30 directories without loss', () => {
    const max = {
      num_total_files: 1_000_000,
      num_different_files: 500_000,
      num_target_miss_files: 500_000,
      num_target_more_files: 1_000_000,
    };
    const state = fold([
      { id: 1, finishedTime: 1, results: Array.from({ length: 30 }, (_, i) => result(`/${i}`, max)) },
    ]);
    expect(state).toMatchObject({
      total_files: 30_000_000,
      different_files: 15_000_000,
      more_files: 30_000_000,
      inconsistent_dirs: 30,
    });
  });
});
