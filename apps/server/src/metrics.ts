import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { StorageEvents } from './storage/handle.js';

/**
 * The server's Prometheus metrics (`GET /metrics` when `SMS_METRICS=1`):
 * uploads stored and refused by error code, request durations by route,
 * group-commit batch sizes, database errors and sign-in failures, beside
 * Node's process metrics.
 */
export interface Metrics {
  readonly registry: Registry;
  /** What the storage reports: batches committed, database errors, sign-in failures. */
  readonly storage: StorageEvents;
  uploadStored(): void;
  uploadRefused(errorCode: string): void;
  requestFinished(method: string, route: string, status: number, seconds: number): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const stored = new Counter({
    name: 'sms_uploads_stored_total',
    help: 'Uploads of consistency results answered 200 (stored, or a retry of one already stored).',
    registers: [registry],
  });
  const refused = new Counter({
    name: 'sms_uploads_refused_total',
    help: 'Uploads of consistency results refused, by the error_code of the answer.',
    labelNames: ['error_code'] as const,
    registers: [registry],
  });
  const requests = new Histogram({
    name: 'sms_request_duration_seconds',
    help: 'Time from a request reaching the app to its response, by route (the route as registered) and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const batches = new Histogram({
    name: 'sms_group_commit_batch_size',
    help: 'Uploads committed together by one SQLite transaction (group commit).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [registry],
  });
  const databaseErrors = new Counter({
    name: 'sms_database_errors_total',
    help: 'Database operations that failed (answered 500 SMS.2008), by operation.',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  const signInFailures = new Counter({
    name: 'sms_sign_in_failures_total',
    help: 'Failed sign-ins (wrong user name or password), as counted for the sign-in limits.',
    registers: [registry],
  });
  return {
    registry,
    storage: {
      batchCommitted: (size) => batches.observe(size),
      databaseError: (operation) => databaseErrors.inc({ operation }),
      signInFailure: () => signInFailures.inc(),
    },
    uploadStored: () => stored.inc(),
    uploadRefused: (errorCode) => refused.inc({ error_code: errorCode }),
    requestFinished: (method, route, status, seconds) =>
      requests.observe({ method, route, status: String(status) }, seconds),
  };
}
