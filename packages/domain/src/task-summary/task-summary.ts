import * as v from 'valibot';
import type { CheckResult, ConsistencyResult } from '../consistency-result/index.js';
import { TASK_PAGE_MAX, TaskNameSchema } from '../task/index.js';

/**
 * A task's verdict, from its latest upload: `consistent` and `inconsistent`
 * as `check_result` says, `no-result` when the latest upload held no
 * directories, `never` when nothing was ever uploaded.
 */
export const VerdictSchema = v.picklist(['inconsistent', 'no-result', 'never', 'consistent']);
export type Verdict = v.InferOutput<typeof VerdictSchema>;

/** The verdicts, worst first: the order a sort by verdict follows. */
export const VERDICTS_WORST_FIRST: readonly Verdict[] = VerdictSchema.options;

/** The verdict of a task whose latest upload has `checkResult` (`null`: no upload). */
export function verdictOf(checkResult: CheckResult | null): Verdict {
  if (checkResult === null) return 'never';
  if (checkResult === 'CONSISTENT') return 'consistent';
  if (checkResult === 'INCONSISTENT') return 'inconsistent';
  return 'no-result';
}

/** How a task list may be sorted: by verdict (worst first), name, state, a total or the time of the latest result. */
export const TaskSortSchema = v.picklist([
  'verdict',
  'name',
  'state',
  'total',
  'different',
  'missing',
  'extra',
  'last',
]);
export type TaskSort = v.InferOutput<typeof TaskSortSchema>;

export const SortOrderSchema = v.picklist(['asc', 'desc']);
export type SortOrder = v.InferOutput<typeof SortOrderSchema>;

/** The default page size of a task summary list. */
export const TASK_SUMMARY_PAGE_DEFAULT = 50;

const QueryPositiveInteger = (max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d{1,9}$/, 'expected a positive integer'),
    v.transform(Number),
    v.minValue(1),
    v.maxValue(max),
  );

/** A query string's fields, an empty field (as a GET form sends it) counting as no field. */
const QueryFields = v.pipe(
  v.record(v.string(), v.unknown()),
  v.transform((input) =>
    Object.fromEntries(Object.entries(input).map(([k, value]) => [k, value === '' ? undefined : value])),
  ),
);

/**
 * The query string of the dashboard's task list (`/ui/tasks`): `q` (part of the
 * name, the same rule as a task name), `verdict`, `sort`, `order`, `page`
 * (from 1) and `per_page` (1..100, as `GET /v3/tasks`). Empty fields count as absent.
 */
export const TaskSummaryQuerySchema = v.pipe(
  QueryFields,
  v.strictObject({
    q: v.optional(TaskNameSchema),
    verdict: v.optional(VerdictSchema),
    sort: v.optional(TaskSortSchema, 'verdict'),
    order: v.optional(SortOrderSchema, 'asc'),
    page: v.optional(QueryPositiveInteger(Number.MAX_SAFE_INTEGER), '1'),
    per_page: v.optional(QueryPositiveInteger(TASK_PAGE_MAX), String(TASK_SUMMARY_PAGE_DEFAULT)),
  }),
);
export type TaskSummaryQuery = v.InferOutput<typeof TaskSummaryQuerySchema>;

/** How many directories one page of a task's dashboard page shows. */
export const TASK_DIRECTORIES_PER_PAGE = 100;

/**
 * The query string of a task's dashboard page (`/ui/tasks/{task_id}`): `dirs_page`
 * (from 1), the page of its directories, `TASK_DIRECTORIES_PER_PAGE` to a page.
 */
export const TaskPageQuerySchema = v.pipe(
  QueryFields,
  v.strictObject({
    dirs_page: v.optional(QueryPositiveInteger(Number.MAX_SAFE_INTEGER), '1'),
    /** What a form of the page just did (the page says so). */
    done: v.optional(v.picklist(['configuration', 'unchanged', 'requested', 'open'])),
  }),
);
export type TaskPageQuery = v.InferOutput<typeof TaskPageQuerySchema>;

/**
 * A directory's files split four ways, for drawing: `matching` (verified and
 * equal), `different`, `missing` (at the target) and `extra` (at the target).
 * The first three add up to `num_total_files`, since different and missing
 * files are among the files verified; extra files are beyond them.
 */
export function fileBreakdown(result: Omit<ConsistencyResult, 'dir_check'>): {
  matching: number;
  different: number;
  missing: number;
  extra: number;
} {
  return {
    matching: result.num_total_files - result.num_different_files - result.num_target_miss_files,
    different: result.num_different_files,
    missing: result.num_target_miss_files,
    extra: result.num_target_more_files,
  };
}
