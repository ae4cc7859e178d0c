import { ListTasksQuerySchema } from '@sms/domain';
import type { Hono } from 'hono';
import { validateInput } from '../body.js';
import type { AppEnv } from '../context.js';
import { authenticate, principalOf } from '../middleware/authenticate.js';

/** `GET /v3/tasks?state=&name=&id=&limit=&offset=`: the caller's project's tasks, newest first. */
export function registerTasksList(app: Hono<AppEnv>): void {
  app.get('/v3/tasks', authenticate, async (c) => {
    const params = validateInput(ListTasksQuerySchema, c.req.query(), 'query');
    return c.json(await c.get('deps').tasks.list(principalOf(c), params));
  });
}
