import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Metrics } from '../../metrics.js';
import type { AppEnv } from '../context.js';

/** The upload route, as registered (see `registerConsistencyResultUpdate`). */
const UPLOAD = { method: 'POST', suffix: '/consistency-result' };

/**
 * Times every request by the route that answered it (`(none)` when no route
 * did), and counts the uploads stored and refused by the answer's error code.
 */
export function measureRequests(metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const handler = matchedRoutes(c).at(-1);
    const route = handler && handler.method !== 'ALL' ? handler.path : '(none)';
    metrics.requestFinished(c.req.method, route, c.res.status, (performance.now() - started) / 1000);
    if (handler?.method === UPLOAD.method && handler.path.endsWith(UPLOAD.suffix)) {
      if (c.res.status === 200) metrics.uploadStored();
      else {
        const body = (await c.res
          .clone()
          .json()
          .catch(() => ({}))) as { error_code?: unknown };
        metrics.uploadRefused(typeof body.error_code === 'string' ? body.error_code : `HTTP ${c.res.status}`);
      }
    }
  };
}
