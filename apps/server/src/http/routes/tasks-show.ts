import type { Hono } from 'hono';
import type { AppEnv } from '../context.js';
import { authenticate, principalOf } from '../middleware/authenticate.js';
import { TASK_PATH, taskIdOf } from './task-path.js';

/** `GET /v3/tasks/{task_id}`. */
export function registerTasksShow(app: Hono<AppEnv>): void {
  app.get(TASK_PATH, authenticate, async (c) =>
    c.json(await c.get('deps').tasks.show(principalOf(c), taskIdOf(c))),
  );
}
