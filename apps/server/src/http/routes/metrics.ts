import type { Hono } from 'hono';
import type { Metrics } from '../../metrics.js';
import type { AppEnv } from '../context.js';

/** `GET /metrics`: the Prometheus text format; registered only when `SMS_METRICS=1`. */
export function registerMetrics(app: Hono<AppEnv>, metrics: Metrics): void {
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  );
}
