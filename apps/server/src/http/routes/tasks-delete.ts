import type { Hono } from 'hono';
import type { AppEnv } from '../context.js';
import { authenticate, principalOf } from '../middleware/authenticate.js';
import { TASK_PATH, taskIdOf } from './task-path.js';

/** `DELETE /v3/tasks/{task_id}`: the task and its whole history of results. */
export function registerTasksDelete(app: Hono<AppEnv>): void {
  app.delete(TASK_PATH, authenticate, async (c) => {
    await c.get('deps').tasks.delete(principalOf(c), taskIdOf(c));
    return c.json({});
  });
}
