import * as v from 'valibot';
import { Limits } from '../limits/index.js';
import { TaskIdSchema } from '../task-id/index.js';
import { noNul, wellFormed } from '../text/index.js';

/** A file count: a JSON integer 0..1,000,000 (not `"12"`, not `1.5`, not `-1`). */
export const FileCountSchema = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(0),
  v.maxValue(Limits.fileCountMax),
);

/**
 * `dir_check`: the directory verified, 0..1024 characters, without a NUL
 * character (no path holds one, and PostgreSQL cannot store it: it was a 500
 * there and taken on SQLite; now a 400 on both) and well-formed (`wellFormed`:
 * PostgreSQL made two such directories one).
 */
export const DirCheckSchema = v.pipe(
  v.string(),
  v.maxLength(Limits.dirCheckMaxLength),
  noNul('cannot hold a NUL character: no path can'),
  wellFormed(),
);

/**
 * One verified directory. All five fields are mandatory. Different and missing
 * files are a subset of the files verified, so
 * `num_different_files + num_target_miss_files <= num_total_files`.
 */
export const ConsistencyResultSchema = v.pipe(
  v.strictObject({
    dir_check: DirCheckSchema,
    num_total_files: FileCountSchema,
    num_different_files: FileCountSchema,
    num_target_miss_files: FileCountSchema,
    num_target_more_files: FileCountSchema,
  }),
  // Only judged once every field is valid: a count that is already wrong gets one clear message.
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed || dataset.issues) return;
    const r = dataset.value;
    if (r.num_different_files + r.num_target_miss_files <= r.num_total_files) return;
    addIssue({
      message: `num_different_files + num_target_miss_files must not exceed num_total_files (different and missing files are among the files verified): ${r.num_different_files} + ${r.num_target_miss_files} > ${r.num_total_files}`,
    });
  }),
);

export type ConsistencyResult = v.InferOutput<typeof ConsistencyResultSchema>;

/** The results of one upload: 0..30 entries, no two with the same `dir_check`. */
export const ConsistencyResultListSchema = v.pipe(
  v.array(ConsistencyResultSchema),
  v.maxLength(Limits.resultsPerUploadMax),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const firstIndexOf = new Map<string, number>();
    dataset.value.forEach((result, index) => {
      const first = firstIndexOf.get(result.dir_check);
      if (first === undefined) {
        firstIndexOf.set(result.dir_check, index);
        return;
      }
      addIssue({
        message: `duplicates the dir_check of consistency_result[${first}]; each directory may appear once per upload`,
        path: [
          { type: 'array', origin: 'value', input: dataset.value, key: index, value: result },
          { type: 'object', origin: 'value', input: result, key: 'dir_check', value: result.dir_check },
        ],
      });
    });
  }),
);

/**
 * The body of `POST /v3/tasks/{task_id}/consistency-result`.
 * `consistency_result` may be absent or empty; unknown fields are refused, so
 * that a misspelt `consistency_results` is an error, not an empty upload.
 */
export const UpdateConsistencyResultRequestSchema = v.pipe(
  // valibot's object schemas accept arrays; `[]` must not pass as an empty upload.
  v.custom<Record<string, unknown>>(
    (input) => typeof input === 'object' && input !== null && !Array.isArray(input),
    (issue) => `expected object, received ${issue.received}`,
  ),
  v.strictObject({
    consistency_result: v.optional(ConsistencyResultListSchema),
  }),
);

export type UpdateConsistencyResultRequest = v.InferOutput<typeof UpdateConsistencyResultRequestSchema>;

/** The 200 body of the upload: `{}`. */
export const UpdateConsistencyResultResponseSchema = v.strictObject({});

/**
 * The verdict of one upload, derived from its counts:
 * - `CONSISTENT`: at least one directory, and every directory has 0 different, 0 missing and 0 extra files;
 * - `INCONSISTENT`: some directory has a different, missing or extra file;
 * - `NO_RESULT`: the upload held no directories.
 */
export const CheckResultSchema = v.picklist(['CONSISTENT', 'INCONSISTENT', 'NO_RESULT']);

export type CheckResult = v.InferOutput<typeof CheckResultSchema>;

/** True when a directory's target matched its source exactly. */
export function isConsistent(result: ConsistencyResult): boolean {
  return (
    result.num_different_files === 0 &&
    result.num_target_miss_files === 0 &&
    result.num_target_more_files === 0
  );
}

/**
 * The documented `check_result` of an upload.
 * @example deriveCheckResult([]) // 'NO_RESULT'
 */
export function deriveCheckResult(results: readonly ConsistencyResult[]): CheckResult {
  if (results.length === 0) return 'NO_RESULT';
  return results.every(isConsistent) ? 'CONSISTENT' : 'INCONSISTENT';
}

/** Milliseconds since the Unix epoch, as an integer. */
export const EpochMillisSchema = v.pipe(v.number(), v.integer(), v.minValue(0));

/** One stored upload, stamped by the server when it was stored. */
export const ConsistencyResultEntrySchema = v.strictObject({
  finished_time: EpochMillisSchema,
  check_result: CheckResultSchema,
  consistency_result: ConsistencyResultListSchema,
});

export type ConsistencyResultEntry = v.InferOutput<typeof ConsistencyResultEntrySchema>;

/** The body of `GET /v3/tasks/{task_id}/consistency-result`: every upload, newest first. */
export const ShowConsistencyResultResponseSchema = v.strictObject({
  task_id: TaskIdSchema,
  result_list: v.array(ConsistencyResultEntrySchema),
});

export type ShowConsistencyResultResponse = v.InferOutput<typeof ShowConsistencyResultResponseSchema>;
