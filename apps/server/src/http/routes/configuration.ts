import { UpdateConfigurationRequestSchema } from '@sms/domain';
import type { Hono } from 'hono';
import { readJsonBody } from '../body.js';
import type { AppEnv } from '../context.js';
import { authenticate, principalOf } from '../middleware/authenticate.js';
import { TASK_PATH, taskIdOf } from './task-path.js';

/**
 * `GET` and `POST /v3/tasks/{task_id}/configuration-setting`, in the SMS
 * shape `{ configurations: [{ config_key, config_value }] }`: every role
 * reads; admins set keys (`""` removes one), each value checked by its key's
 * schema (400 naming the key).
 */
export function registerConfiguration(app: Hono<AppEnv>): void {
  app.get(`${TASK_PATH}/configuration-setting`, authenticate, async (c) =>
    c.json(await c.get('deps').configurations.get(principalOf(c), taskIdOf(c))),
  );
  app.post(`${TASK_PATH}/configuration-setting`, authenticate, async (c) => {
    const taskId = taskIdOf(c);
    const body = await readJsonBody(c, UpdateConfigurationRequestSchema);
    await c.get('deps').configurations.update(principalOf(c), taskId, body);
    return c.json({}, 200);
  });
}
