import { AUTH_TOKEN_HEADER, TaskIdSchema } from '@sms/domain';
import type { MiddlewareHandler } from 'hono';
import * as v from 'valibot';
import type { AppEnv } from '../context.js';

/**
 * The first check of every protected route: a missing, malformed, expired or
 * revoked token is refused (403 `SMS.9001`) before the path or body is looked at.
 */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const principal = await c.get('deps').auth.authenticate(c.req.header(AUTH_TOKEN_HEADER));
  c.set('principal', principal);
  await next();
};

/** The principal that `authenticate` set; routes behind it always have one. */
export function principalOf(c: { get(key: 'principal'): AppEnv['Variables']['principal'] }) {
  const principal = c.get('principal');
  if (!principal) throw new Error('route is not behind authenticate');
  return principal;
}

/**
 * `authenticate` for a route on one task: the task of the path is read in the
 * principal's query (`Principal.task`), for the service to check without
 * reading it again. A path that is not a task ID is left to the route's checks.
 */
export const authenticateForTask: MiddlewareHandler<AppEnv> = async (c, next) => {
  const taskId = c.req.param('task_id');
  const principal = await c
    .get('deps')
    .auth.authenticate(
      c.req.header(AUTH_TOKEN_HEADER),
      taskId && v.is(TaskIdSchema, taskId) ? taskId : undefined,
    );
  c.set('principal', principal);
  await next();
};
