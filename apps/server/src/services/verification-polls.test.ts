import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConfigurationStore, VerificationStore } from '../storage/storage.js';
import type { AuthService, Principal } from './auth-service.js';
import type { TaskService } from './task-service.js';
import { VerificationService } from './verification-service.js';

// A fleet's daemons each hold a long poll open: what every waiting poll costs the database and
// the process, whatever their number.
const principal = { projectId: 'p1', projectName: 'default' } as Principal;

function service(clock: () => number = Date.now) {
  const calls = { sweeps: 0, reads: 0 };
  const verifications = {
    async expireLeases() {
      calls.sweeps++;
      return 0;
    },
    async pending() {
      calls.reads++;
      return [];
    },
  } as unknown as VerificationStore;
  const auth = { authorize() {} } as unknown as AuthService;
  const verificationService = new VerificationService(
    { verifications, configurations: {} as ConfigurationStore },
    {} as TaskService,
    auth,
    clock,
  );
  return { verificationService, calls };
}

let sweepsSeen = 0;
const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
afterEach(() => {
  process.off('warning', onWarning);
  warnings.length = 0;
});

describe('long polls of many daemons', () => {
  it('share one sweep of ended leases a second, each reading its own pending requests', async () => {
    const { verificationService, calls } = service();
    const polls = 200;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: polls }, (_, i) => verificationService.poll(principal, 2, undefined, `host-${i}`)),
    );
    const seconds = (Date.now() - started) / 1000;
    // each poll looks at the database at 0, 1 and 2 s (once more when a timer fires late)
    expect(calls.reads).toBeGreaterThanOrEqual(polls * 3);
    // one sweep for every second that passed (and one at the start), not one for each poll
    expect(calls.sweeps).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
  });

  it.each([
    ['frozen', (): number => 1_800_000_000_000],
    ['stepped back an hour', (): number => Date.now() - 3600_000 * Math.min(1, sweepsSeen)],
  ] as const)('still sweep every second when the server\u2019s clock is %s', async (_name, clock) => {
    sweepsSeen = 0;
    const { verificationService, calls } = service((): number => {
      sweepsSeen = calls.sweeps;
      return clock();
    });
    await Promise.all(Array.from({ length: 10 }, () => verificationService.poll(principal, 2.5)));
    // at 0, 1 and 2 s (by the service's clock, the first alone)
    expect(calls.sweeps).toBeGreaterThanOrEqual(3);
  });

  it('end after their wait even when the wall clock is stepped back meanwhile', async () => {
    const { verificationService } = service();
    const real = Date.now.bind(Date);
    let calls = 0;
    // an hour back after the first look at it
    const now = vi.spyOn(Date, 'now').mockImplementation(() => real() - (calls++ > 0 ? 3600_000 : 0));
    try {
      const started = performance.now();
      await verificationService.poll(principal, 1);
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      now.mockRestore();
    }
  });

  it('wait on the server\u2019s stop without a warning of a listener leak', async () => {
    process.on('warning', onWarning);
    const { verificationService } = service();
    const waiting = Array.from({ length: 50 }, () => verificationService.poll(principal, 5));
    await new Promise((resolve) => setTimeout(resolve, 100));
    verificationService.endPolls();
    await Promise.all(waiting);
    // a warning is emitted on the next tick
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((w) => w.message)).toEqual([]);
  });
});
