import type { Hono } from 'hono';
import type { AppEnv } from '../context.js';

/** `GET /healthz`: the process is alive. `GET /readyz`: the storage answers. */
export function registerHealth(app: Hono<AppEnv>): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    try {
      await c.get('deps').storage.ping();
      return c.json({ status: 'ready', storage: c.get('deps').storage.dialect });
    } catch (error) {
      return c.json(
        {
          status: 'not ready',
          storage: c.get('deps').storage.dialect,
          reason: error instanceof Error ? error.message.slice(0, 300) : 'storage did not answer',
        },
        503,
      );
    }
  });
}
