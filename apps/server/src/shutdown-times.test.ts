import { describe, expect, it } from 'vitest';
import { handlersAfterCutMs, shutdownGraceMs } from './server.js';

describe("a stop's times within SMS_SHUTDOWN_TIMEOUT_SECONDS", () => {
  it('cuts a second before the timeout (at half of it below 2 s), then waits half of what is left', () => {
    expect([shutdownGraceMs(10), handlersAfterCutMs(10)]).toEqual([9000, 500]);
    expect([shutdownGraceMs(2), handlersAfterCutMs(2)]).toEqual([1000, 500]);
    expect([shutdownGraceMs(1), handlersAfterCutMs(1)]).toEqual([500, 250]);
  });

  it('leaves time to close down before the timeout, whatever it is (1..3600 s)', () => {
    for (let seconds = 1; seconds <= 3600; seconds++) {
      const used = shutdownGraceMs(seconds) + handlersAfterCutMs(seconds);
      expect(seconds * 1000 - used).toBeGreaterThanOrEqual(250);
      expect(handlersAfterCutMs(seconds)).toBeGreaterThan(0);
    }
  });
});
