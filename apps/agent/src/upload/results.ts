import type { ConsistencyResult } from '@sms/domain';
import { Limits } from '@sms/domain/limits';
import type { Counts } from '../engine/types.js';
import type { DirectoryResult } from '../verify.js';

/** The rules of the API this result must fit to be uploaded; undefined when it fits. */
export function uploadLimitProblem(dirCheck: string, counts: Counts): string | undefined {
  if (dirCheck.length > Limits.dirCheckMaxLength) {
    return `dir_check is ${dirCheck.length} characters, the API takes at most ${Limits.dirCheckMaxLength}: verify a shorter path (a parent with --source, or subdirectories with --dir)`;
  }
  const over = (['total', 'different', 'missing', 'extra'] as const).filter(
    (k) => counts[k] > Limits.fileCountMax,
  );
  if (over.length > 0) {
    return `${over.map((k) => `${k} ${counts[k]}`).join(', ')} exceed${over.length === 1 ? 's' : ''} the API's ${Limits.fileCountMax} files per directory: verify its subdirectories with --dir instead`;
  }
  return undefined;
}

/** The upload body's entry of a result. */
export function toConsistencyResult(result: DirectoryResult): ConsistencyResult {
  return {
    dir_check: result.dirCheck,
    num_total_files: result.counts.total,
    num_different_files: result.counts.different,
    num_target_miss_files: result.counts.missing,
    num_target_more_files: result.counts.extra,
  };
}
