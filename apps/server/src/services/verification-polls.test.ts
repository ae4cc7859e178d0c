import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConfigurationStore, VerificationStore } from '../storage/storage.js';
import type { AuthService, Principal } from './auth-service.js';
import type { TaskService } from './task-service.js';
import { VerificationService } from './verification-service.js';

// A fleet's daemons each hold a long poll open: what every waiting poll costs the database and
// the process, whatever their number.
const principal = { projectId: 'p1', projectName: 'default' } as Principal;

/** A pending request for the agents named `for` (null: any agent). */
function service(clock: () => number = Date.now, pendingFor: (string | null)[] = [], readMs = 0) {
  const calls = { sweeps: 0, shared: 0, reads: 0 };
  const verifications = {
    async expireLeases() {
      calls.sweeps++;
      return 0;
    },
    async pendingAgents() {
      calls.shared++;
      const agents = new Set(pendingFor);
      if (readMs > 0) await new Promise((resolve) => setTimeout(resolve, readMs));
      return agents;
    },
    async create() {
      return { request: { id: 'made', task_id: 't1', state: 'pending' }, created: true };
    },
    async pending(_project: string, _limit: number, agent?: string) {
      calls.reads++;
      return pendingFor
        .filter((name) => name === null || name === agent)
        .map((name) => ({ id: `for-${name}`, task_id: 't1', state: 'pending' }));
    },
  } as unknown as VerificationStore;
  const auth = { authorize() {} } as unknown as AuthService;
  const verificationService = new VerificationService(
    { verifications, configurations: {} as ConfigurationStore },
    { async find() {} } as unknown as TaskService,
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
  it('share one sweep of ended leases and one read of what is pending a second', async () => {
    const { verificationService, calls } = service();
    const polls = 200;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: polls }, (_, i) => verificationService.poll(principal, 2, undefined, `host-${i}`)),
    );
    const seconds = (Date.now() - started) / 1000;
    // one sweep and one read for every second that passed, not one for each poll (each poll
    // looks at 0, 1 and 2 s); each poll's first look is its own, and later, with nothing pending,
    // no poll reads its own
    expect(calls.sweeps).toBeGreaterThanOrEqual(2);
    expect(calls.sweeps).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
    expect(calls.shared).toBeGreaterThanOrEqual(1);
    expect(calls.shared).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    expect(calls.reads).toBe(polls);
  });

  it('read their own requests only when one is pending that they may take', async () => {
    const pendingFor: (string | null)[] = [];
    const { verificationService, calls } = service(Date.now, pendingFor);
    const polls = ['host-1', 'host-2', 'host-3'].map((name) =>
      verificationService.poll(principal, 2.5, undefined, name),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    // made by another server: seen at the next shared read
    pendingFor.push('host-1');
    const [mine, ...others] = await Promise.all(polls);
    expect(mine!.map((r) => r.id)).toEqual(['for-host-1']);
    expect(others).toEqual([[], []]);
    // the first looks, and host-1's once the shared read named it: the others waited their 2.5 s
    // without a read of their own, the request being for host-1 alone
    expect(calls.reads).toBe(4);
  });

  it('read again at once when this server makes a request, before the next shared read', async () => {
    const pendingFor: (string | null)[] = [];
    const { verificationService } = service(Date.now, pendingFor);
    const polls = Array.from({ length: 20 }, (_, i) =>
      verificationService.poll(principal, 5, undefined, `h${i}`),
    );
    // after the shared read at 1 s, which found nothing
    await new Promise((resolve) => setTimeout(resolve, 1300));
    pendingFor.push(null);
    const made = performance.now();
    await verificationService.request(principal, 't1');
    const answers = await Promise.all(polls);
    expect(answers.map((a) => a.length)).toEqual(Array(20).fill(1));
    // not at the next second's shared read
    expect(performance.now() - made).toBeLessThan(500);
  });

  it('look again at once when this server makes a request during their look', async () => {
    const pendingFor: (string | null)[] = [];
    // a shared read that takes 300 ms
    const { verificationService } = service(Date.now, pendingFor, 300);
    const poll = verificationService.poll(principal, 5, undefined, 'h1');
    // during the look at 1 s, after its shared read began
    await new Promise((resolve) => setTimeout(resolve, 1100));
    pendingFor.push(null);
    const made = performance.now();
    await verificationService.request(principal, 't1');
    expect(await poll).toHaveLength(1);
    // the shared read again (300 ms), not the next second's look
    expect(performance.now() - made).toBeLessThan(800);
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
