import { CreateTaskRequestSchema } from '@sms/domain';
import type { Hono } from 'hono';
import { readJsonBody } from '../body.js';
import type { AppEnv } from '../context.js';
import { authenticate, principalOf } from '../middleware/authenticate.js';

/** `POST /v3/tasks`: a task in the project of the caller's token. */
export function registerTasksCreate(app: Hono<AppEnv>): void {
  app.post('/v3/tasks', authenticate, async (c) => {
    const request = await readJsonBody(c, CreateTaskRequestSchema);
    return c.json(await c.get('deps').tasks.create(principalOf(c), request), 200);
  });
}
