import { describe, expect, it } from 'vitest';
import { Backoff } from './daemon-loop.js';

describe("the daemon's backoff", () => {
  it('waits 1 s doubling to 30 s, each delay between half and all of its step, and starts again after a success', () => {
    const backoff = new Backoff();
    const steps = [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000];
    for (const step of steps) {
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(step / 2);
      expect(delay).toBeLessThanOrEqual(step);
    }
    backoff.reset();
    expect(backoff.next()).toBeLessThanOrEqual(1000);
  });
});
