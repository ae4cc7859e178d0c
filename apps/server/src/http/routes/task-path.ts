import { TaskIdSchema } from '@sms/domain';
import type { Context } from 'hono';
import { validateInput } from '../body.js';
import type { AppEnv } from '../context.js';

/**
 * The `{task_id}` segment matches anything but a slash, also nothing, so that
 * an empty or over-long id is a 400 that names `task_id`, not an unknown route.
 */
export const TASK_PATH = '/v3/tasks/:task_id{[^/]*}';

export function taskIdOf(c: Context<AppEnv>): string {
  return validateInput(TaskIdSchema, c.req.param('task_id'), 'task_id');
}
