import * as v from 'valibot';
import { EpochMillisSchema } from '../consistency-result/index.js';
import { TaskIdSchema } from '../task-id/index.js';

/** The states of an SMS v3 task. */
export const TaskStateSchema = v.picklist([
  'READY',
  'RUNNING',
  'SYNCING',
  'MIGRATE_SUCCESS',
  'SYNC_SUCCESS',
  'MIGRATE_FAIL',
  'SYNC_FAIL',
  'ABORTING',
  'ABORT',
  'SKIPPING',
  'DELETING',
  'RESETING',
]);
export type TaskState = v.InferOutput<typeof TaskStateSchema>;

/** File-level or block-level migration. */
export const TaskTypeSchema = v.picklist(['MIGRATE_FILE', 'MIGRATE_BLOCK']);
export type TaskType = v.InferOutput<typeof TaskTypeSchema>;

/** A task's name: 1..255 characters. */
export const TaskNameSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(255));

/** The body of `POST /v3/tasks`. */
export const CreateTaskRequestSchema = v.strictObject({
  name: TaskNameSchema,
  type: v.optional(TaskTypeSchema),
});
export type CreateTaskRequest = v.InferInput<typeof CreateTaskRequestSchema>;

/** The 200 body of `POST /v3/tasks`. */
export const CreateTaskResponseSchema = v.strictObject({ id: TaskIdSchema });
export type CreateTaskResponse = v.InferOutput<typeof CreateTaskResponseSchema>;

/** A task, as `GET /v3/tasks/{task_id}` and `GET /v3/tasks` return it. Dates are ms since the epoch. */
export const TaskSchema = v.strictObject({
  id: TaskIdSchema,
  name: TaskNameSchema,
  type: TaskTypeSchema,
  state: TaskStateSchema,
  project_id: v.string(),
  project_name: v.string(),
  create_date: EpochMillisSchema,
  start_date: v.nullable(EpochMillisSchema),
  finish_date: v.nullable(EpochMillisSchema),
});
export type Task = v.InferOutput<typeof TaskSchema>;

/** The most tasks one page of `GET /v3/tasks` returns, and the default. */
export const TASK_PAGE_MAX = 100;
export const TASK_PAGE_DEFAULT = 50;

/** The filters of `GET /v3/tasks`, as a caller passes them. */
export const ListTasksParamsSchema = v.strictObject({
  state: v.optional(TaskStateSchema),
  name: v.optional(TaskNameSchema),
  id: v.optional(TaskIdSchema),
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(TASK_PAGE_MAX))),
  offset: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(Number.MAX_SAFE_INTEGER))),
});
export type ListTasksParams = v.InferOutput<typeof ListTasksParamsSchema>;

/** A query-string integer: decimal digits only, then the rules of the number it becomes. */
const QueryInteger = v.pipe(
  v.string(),
  v.regex(/^\d{1,16}$/, 'expected a non-negative integer'),
  v.transform(Number),
);

/**
 * The query string of `GET /v3/tasks`: the same rules as `ListTasksParamsSchema`,
 * with `limit` and `offset` read from their decimal text.
 */
export const ListTasksQuerySchema = v.pipe(
  v.strictObject({
    state: v.optional(v.string()),
    name: v.optional(v.string()),
    id: v.optional(v.string()),
    limit: v.optional(QueryInteger),
    offset: v.optional(QueryInteger),
  }),
  ListTasksParamsSchema,
);

/** The body of `GET /v3/tasks`: `count` is the number of tasks that match, before paging. */
export const ListTasksResponseSchema = v.strictObject({
  count: v.pipe(v.number(), v.integer(), v.minValue(0)),
  tasks: v.array(TaskSchema),
});
export type ListTasksResponse = v.InferOutput<typeof ListTasksResponseSchema>;
