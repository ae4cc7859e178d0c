import {
  IDEMPOTENCY_KEY_HEADER,
  IdempotencyKeySchema,
  RUN_ID_HEADER,
  UpdateConsistencyResultRequestSchema,
} from '@sms/domain';
import type { Hono } from 'hono';
import { readJsonBody, validateInput } from '../body.js';
import type { AppEnv } from '../context.js';
import { authenticateForTask, principalOf } from '../middleware/authenticate.js';
import { runIdOf } from './findings-upload.js';
import { TASK_PATH, taskIdOf } from './task-path.js';

/**
 * `POST /v3/tasks/{task_id}/consistency-result`, checked in the documented
 * order: token (403), path and body (400), task (404), permission (403
 * `SMS.9004`), storage (500). 200 `{}` is sent only after the commit.
 */
export function registerConsistencyResultUpdate(app: Hono<AppEnv>): void {
  app.post(`${TASK_PATH}/consistency-result`, authenticateForTask, async (c) => {
    const taskId = taskIdOf(c);
    const key = c.req.header(IDEMPOTENCY_KEY_HEADER);
    const idempotencyKey =
      key === undefined ? undefined : validateInput(IdempotencyKeySchema, key, IDEMPOTENCY_KEY_HEADER);
    // ours: the run the upload belongs to (one sms-agent verify); without one, the upload is a run of
    // its own; the run it was stored in is answered (a retry's: the first's), for findings to name it
    const runId = runIdOf(c.req.header(RUN_ID_HEADER));
    const body = await readJsonBody(c, UpdateConsistencyResultRequestSchema);
    const stored = await c
      .get('deps')
      .consistency.upload(principalOf(c), taskId, body.consistency_result ?? [], idempotencyKey, runId);
    if (stored.runId !== undefined) c.header(RUN_ID_HEADER, stored.runId);
    return c.json({}, 200);
  });
}
