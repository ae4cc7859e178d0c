import * as v from 'valibot';
import { Limits } from '../limits/index.js';

/** `task_id` path parameter: a string of 1..36 characters. */
export const TaskIdSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(Limits.taskIdMaxLength));

export type TaskId = v.InferOutput<typeof TaskIdSchema>;
