import {
  ClaimRequestSchema,
  FinishRequestSchema,
  HeartbeatRequestSchema,
  ReleaseRequestSchema,
  VerificationIdSchema,
  WaitQuerySchema,
} from '@sms/domain';
import type { Context, Hono } from 'hono';
import * as v from 'valibot';
import { readJsonBody, validateInput } from '../body.js';
import type { AppEnv } from '../context.js';
import { authenticate, principalOf } from '../middleware/authenticate.js';
import { TASK_PATH, taskIdOf } from './task-path.js';

const LimitQuerySchema = v.strictObject({
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[0-9]{1,3}$/, 'expected a whole number'),
      v.transform(Number),
      v.minValue(1),
      v.maxValue(100),
    ),
  ),
});

function requestIdOf(c: Context<AppEnv>): string {
  return validateInput(VerificationIdSchema, c.req.param('id'), 'id');
}

/**
 * Verification requests (ours): "Verify now" (`POST …/consistency-check`), a
 * task's requests, and what agents' daemons call: the long poll, claim,
 * heartbeat, finish and release.
 */
export function registerVerification(app: Hono<AppEnv>): void {
  app.post(`${TASK_PATH}/consistency-check`, authenticate, async (c) => {
    const { request, created } = await c.get('deps').verifications.request(principalOf(c), taskIdOf(c));
    return c.json(request, created ? 201 : 200);
  });
  app.get(`${TASK_PATH}/consistency-checks`, authenticate, async (c) => {
    const taskId = taskIdOf(c);
    const { limit } = validateInput(LimitQuerySchema, c.req.query(), 'query');
    return c.json({ requests: await c.get('deps').verifications.list(principalOf(c), taskId, limit ?? 20) });
  });
  app.get('/v3/consistency-checks', authenticate, async (c) => {
    const { wait, agent } = validateInput(WaitQuerySchema, c.req.query(), 'query');
    const requests = await c
      .get('deps')
      .verifications.poll(principalOf(c), wait ?? 0, c.req.raw.signal, agent);
    return c.json({ requests });
  });
  app.post('/v3/consistency-checks/:id/claim', authenticate, async (c) => {
    const id = requestIdOf(c);
    const body = await readJsonBody(c, ClaimRequestSchema);
    return c.json(await c.get('deps').verifications.claim(principalOf(c), id, body));
  });
  app.post('/v3/consistency-checks/:id/heartbeat', authenticate, async (c) => {
    const id = requestIdOf(c);
    const body = await readJsonBody(c, HeartbeatRequestSchema);
    return c.json(await c.get('deps').verifications.heartbeat(principalOf(c), id, body));
  });
  app.post('/v3/consistency-checks/:id/finish', authenticate, async (c) => {
    const id = requestIdOf(c);
    const body = await readJsonBody(c, FinishRequestSchema);
    return c.json(await c.get('deps').verifications.finish(principalOf(c), id, body));
  });
  app.post('/v3/consistency-checks/:id/release', authenticate, async (c) => {
    const id = requestIdOf(c);
    const body = await readJsonBody(c, ReleaseRequestSchema);
    return c.json(await c.get('deps').verifications.release(principalOf(c), id, body.lease_id));
  });
}
