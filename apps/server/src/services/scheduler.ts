import type { Logger } from '../logger.js';
import type { VerificationService } from './verification-service.js';

/**
 * How far back the first tick of a server looks: a time no server was running for (a restart, an
 * upgrade, a night without power) still asks, once, for its latest time in that window; a time
 * asked for already is not asked again (the database's unique index of each task's times).
 */
export const SCHEDULER_LOOK_BACK_MS = 24 * 3600 * 1000;

/**
 * The server's scheduler: every `everyMs`, makes the requests the schedules
 * ask for since the previous tick (the first tick looks back a day,
 * `SCHEDULER_LOOK_BACK_MS`, and so does one after ticks that failed longer).
 * Returns a stop function.
 */
export function startScheduler(
  verifications: VerificationService,
  clock: () => number,
  everyMs: number,
  logger?: Logger,
): () => Promise<void> {
  const lookBack = Math.max(everyMs, SCHEDULER_LOOK_BACK_MS);
  let since = clock() - lookBack;
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running) return;
    const now = clock();
    running = verifications
      .schedule(Math.max(since, now - lookBack), now)
      .then(
        () => {
          since = now;
        },
        (error: unknown) =>
          logger?.warn('the scheduler could not make requests; it tries again', { err: String(error) }),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
