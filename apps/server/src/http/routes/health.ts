import type { Hono } from 'hono';
import type { AppEnv } from '../context.js';

/** `GET /healthz`: the process is alive. `GET /readyz`: the storage answers. */
export function registerHealth(app: Hono<AppEnv>): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const readiness = await c.get('deps').health.readiness();
    if (readiness.ready) return c.json({ status: 'ready', storage: readiness.storage });
    return c.json({ status: 'not ready', storage: readiness.storage, reason: readiness.reason }, 503);
  });
}
