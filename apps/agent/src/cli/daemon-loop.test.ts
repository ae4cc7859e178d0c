import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SmsApiError, type SmsClient, SmsNetworkError } from '@sms/client';
import { afterAll, describe, expect, it } from 'vitest';
import { wrongPassword } from '../test-support/refusals.js';
import * as deliver from '../upload/deliver.js';
import { Spool } from '../upload/spool.js';
import * as workflow from '../upload/workflow.js';
import { Backoff, runDaemon } from './daemon-loop.js';
import type { UploadContext } from './verification.js';

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

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});
const newSpool = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sms-daemon-loop-'));
  temporary.push(dir);
  return new Spool(join(dir, 'spool'));
};

/** A request as the server lists it. */
const request = (id: string) => ({
  id,
  task_id: 'task-0001',
  state: 'pending',
  origin: 'manual',
  created_at: 1_700_000_000_000,
});

/**
 * `runDaemon` against a fake server: `poll` answers `requests` after a few milliseconds (or at
 * the stop), `calls` counts each call by name; `overrides` replace calls.
 */
function daemonWith(
  overrides: Record<string, (...args: never[]) => unknown>,
  requests: ReturnType<typeof request>[],
  spool = newSpool(),
  extra: {
    stopGraceMs?: number;
    backoff?: () => Backoff;
    unreachableRetryMs?: number;
    leaseSeconds?: number;
    once?: boolean;
    credentialsRetryMs?: number;
  } = {},
) {
  const stop = new AbortController();
  const calls: Record<string, number> = {};
  const count = (name: string) => {
    calls[name] = (calls[name] ?? 0) + 1;
  };
  const client = new Proxy(
    {
      endpoint: 'http://127.0.0.1:9',
      async pollConsistencyChecks(options: { signal?: AbortSignal }) {
        await sleep(5, undefined, options.signal ? { signal: options.signal } : {}).catch(() => {});
        return { requests };
      },
      ...overrides,
    } as Record<string, unknown>,
    {
      get(target, name: string) {
        const value = target[name];
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          count(name);
          return (value as (...a: unknown[]) => unknown)(...args);
        };
      },
    },
  ) as unknown as SmsClient;
  const log: string[] = [];
  const running = runDaemon({
    context: { client, spool, upload: deliver, workflow } as unknown as UploadContext,
    name: 'test-host',
    leaseSeconds: 60,
    once: false,
    stop: stop.signal,
    log: (l) => log.push(l),
    ...extra,
  });
  return { stop, calls, log, running, spool };
}

describe('daemon --once (for cron)', () => {
  it('exits after one poll that found nothing pending, and after a poll that failed, without a stop', async () => {
    const idle = daemonWith({}, [], newSpool(), { once: true });
    expect(await idle.running).toBe('done');
    expect(idle.calls.pollConsistencyChecks).toBe(1);
    expect(idle.log.at(-1)).toBe('no verification request was pending; --once: exiting');
    const away = daemonWith(
      {
        async pollConsistencyChecks() {
          throw new SmsNetworkError('fetch failed: connect ECONNREFUSED 127.0.0.1:9', { cause: undefined });
        },
      },
      [],
      newSpool(),
      { once: true },
    );
    expect(await away.running).toBe('unreachable');
    expect(away.calls.pollConsistencyChecks).toBe(1);
    expect(away.log.at(-1)).toMatch(/^poll failed: .*ECONNREFUSED.*; --once: no request taken$/);
    // refused, not unreachable: its credentials (exit 2, saying to correct them)
    const refused = daemonWith(
      {
        async pollConsistencyChecks() {
          throw wrongPassword();
        },
      },
      [],
      newSpool(),
      { once: true },
    );
    expect(await refused.running).toBe('refused');
    expect(refused.log.at(-1)).toMatch(
      /refused this daemon's credentials .*correct them .*; --once: no request taken$/,
    );
  });
});

describe('daemon --once (for cron), its request', () => {
  const claimedOnce = (id: string) => async () => ({
    request: { ...request(id), state: 'running' },
    lease_id: `lease-${id}`,
  });
  const once = (overrides: Record<string, (...args: never[]) => unknown>) =>
    daemonWith({ async heartbeatConsistencyCheck() {}, ...overrides }, [request('vr-20')], newSpool(), {
      once: true,
      unreachableRetryMs: 100,
      backoff: () => new Backoff(20, 40),
    });
  const configuration = () => {
    const task = equalTask();
    return async () => task;
  };

  it('is done when the request taken was finished done', async () => {
    const d = once({
      claimConsistencyCheck: claimedOnce('vr-20'),
      getConfiguration: configuration(),
      async updateConsistencyResult() {},
      async finishConsistencyCheck() {},
    });
    expect(await d.running).toBe('done');
  });

  it('is failed when the request taken ended failed (exit 2), and unreachable when it could not be taken or finished (3)', async () => {
    const failed = once({
      claimConsistencyCheck: claimedOnce('vr-20'),
      async getConfiguration() {
        return {
          configurations: [{ config_key: 'CONSISTENCY_SOURCE', config_value: '/nonexistent-source' }],
        };
      },
      async finishConsistencyCheck() {},
    });
    expect(await failed.running).toBe('failed');
    const notTaken = once({
      async claimConsistencyCheck() {
        throw new SmsApiError({
          status: 500,
          errorCode: 'SMS.2008',
          errorMsg: 'storage failed',
          requestId: undefined,
          body: {},
        });
      },
    });
    expect(await notTaken.running).toBe('unreachable');
    expect(notTaken.log.at(-1)).toBe('no verification request could be taken; --once: exiting');
    const notFinished = once({
      claimConsistencyCheck: claimedOnce('vr-20'),
      getConfiguration: configuration(),
      async updateConsistencyResult() {},
      async finishConsistencyCheck() {
        throw new SmsNetworkError('fetch failed: connect ECONNREFUSED 127.0.0.1:9', { cause: undefined });
      },
    });
    expect(await notFinished.running).toBe('unreachable');
    expect(notFinished.log.some((l) => /finish failed .*giving up/.test(l))).toBe(true);
    // its end refused: the lease ran out and another agent took it (not this run's failure: 3, not 2)
    const leaseGone = once({
      claimConsistencyCheck: claimedOnce('vr-20'),
      getConfiguration: configuration(),
      async updateConsistencyResult() {},
      async finishConsistencyCheck() {
        throw new SmsApiError({
          status: 409,
          errorCode: 'SMS.2011',
          errorMsg: 'lease held by another agent',
          requestId: undefined,
          body: {},
        });
      },
    });
    expect(await leaseGone.running).toBe('unreachable');
  });
});

describe('the daemon whose credentials the server refuses', () => {
  it('says to correct them and waits minutes, not seconds, before signing in again (each failure counts toward the lock-out)', async () => {
    const d = daemonWith(
      {
        async pollConsistencyChecks() {
          throw wrongPassword();
        },
      },
      [],
      newSpool(),
      // a backoff of 100 ms would poll about 10 times in the second waited here
      { backoff: () => new Backoff(100, 30_000), credentialsRetryMs: 400 },
    );
    await sleep(1000);
    d.stop.abort('SIGTERM');
    await d.running;
    expect(d.calls.pollConsistencyChecks).toBeGreaterThanOrEqual(2);
    expect(d.calls.pollConsistencyChecks).toBeLessThanOrEqual(3);
    expect(d.log).toContainEqual(
      expect.stringMatching(
        /^poll failed: the server refused this daemon's credentials \(401 SMS\.9002.*\): correct them .* and restart the daemon; trying again in 0\.4 s$/,
      ),
    );
  });
});

describe('the daemon against a server that errs', () => {
  it('backs off when claims fail, longer each time, instead of polling and claiming again at once', async () => {
    const d = daemonWith(
      {
        async claimConsistencyCheck() {
          throw new SmsApiError({
            status: 500,
            errorCode: 'SMS.2008',
            errorMsg: 'storage',
            requestId: undefined,
            body: {},
          });
        },
      },
      [request('vr-1')],
      newSpool(),
      // 100 ms doubling (as the default's 1 s), each wait at least half its step
      { backoff: () => new Backoff(100, 30_000) },
    );
    await sleep(1200);
    d.stop.abort('SIGTERM');
    await d.running;
    // waits of at least 50, 100, 200, 400 ms: at most 5 claims in 1.2 s (a wait that did not grow,
    // 50 to 100 ms, would allow 12 to 24; none at all, hundreds)
    expect(d.calls.claimConsistencyCheck).toBeGreaterThanOrEqual(2);
    expect(d.calls.claimConsistencyCheck).toBeLessThanOrEqual(5);
    expect(d.log.filter((l) => l.includes('claim of request vr-1 failed'))).toHaveLength(
      d.calls.claimConsistencyCheck!,
    );
  });

  it('hands back, without running it, a request claimed as the stop came', async () => {
    let d: ReturnType<typeof daemonWith>;
    d = daemonWith(
      {
        async claimConsistencyCheck() {
          d.stop.abort('SIGTERM');
          return { request: { ...request('vr-2'), state: 'running' }, lease_id: 'lease-1' };
        },
        async releaseConsistencyCheck() {
          return request('vr-2');
        },
        async heartbeatConsistencyCheck() {
          return {};
        },
      },
      [request('vr-2')],
    );
    await d.running;
    expect(d.calls.releaseConsistencyCheck).toBe(1);
    expect(d.calls.finishConsistencyCheck).toBeUndefined();
    expect(d.log.some((l) => l.includes('released request vr-2'))).toBe(true);
  });

  it('does not poll again at once when the server answered a poll at once with nothing (it did not hold it)', async () => {
    // the fake server answers every poll after 5 ms: one that ignores `wait`
    const d = daemonWith({}, []);
    await sleep(1500);
    d.stop.abort('SIGTERM');
    await d.running;
    // one a second (about 300 without the pause)
    expect(d.calls.pollConsistencyChecks).toBeGreaterThanOrEqual(1);
    expect(d.calls.pollConsistencyChecks).toBeLessThanOrEqual(3);
  });

  it('delivers what waits in the spool while no request comes', async () => {
    const stored: string[] = [];
    const spool = newSpool();
    spool.add('task-0001', [
      {
        dir_check: '/data',
        num_total_files: 1,
        num_different_files: 0,
        num_target_miss_files: 0,
        num_target_more_files: 0,
      },
    ]);
    const d = daemonWith(
      {
        async updateConsistencyResult(_task: string, results: { dir_check: string }[]) {
          stored.push(...results.map((r) => r.dir_check));
          return {};
        },
      },
      [],
      spool,
    );
    for (let i = 0; i < 100 && stored.length === 0; i++) await sleep(20);
    d.stop.abort('SIGTERM');
    await d.running;
    expect(stored).toEqual(['/data']);
    expect(spool.list().entries).toEqual([]);
    expect(d.log).toContain('spool: 1 delivered, 0 still waiting, 0 refused');
    // once a minute at most
    expect(d.calls.updateConsistencyResult).toBe(1);
  });
});

describe('the daemon stopped while it uploads to a server that does not answer', () => {
  it('ends its calls once the grace is over, keeping the counts in the spool', async () => {
    const base = mkdtempSync(join(tmpdir(), 'sms-daemon-stop-'));
    temporary.push(base);
    for (const side of ['src', 'dst']) {
      mkdirSync(join(base, side, 'd'), { recursive: true });
      writeFileSync(join(base, side, 'd', 'a'), 'a');
    }
    /** A call that answers only by failing when its signal fires (a blackholed server). */
    const hang = (options?: { signal?: AbortSignal }) =>
      new Promise((_, reject) => {
        const signal = options?.signal;
        if (signal?.aborted) reject(signal.reason);
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    let d: ReturnType<typeof daemonWith>;
    let stoppedAt = 0;
    d = daemonWith(
      {
        async claimConsistencyCheck() {
          return { request: { ...request('vr-3'), state: 'running' }, lease_id: 'lease-3' };
        },
        async heartbeatConsistencyCheck() {
          return {};
        },
        async getConfiguration() {
          return {
            configurations: [
              { config_key: 'CONSISTENCY_SOURCE', config_value: join(base, 'src') },
              { config_key: 'CONSISTENCY_TARGET', config_value: join(base, 'dst') },
              { config_key: 'CONSISTENCY_DIR', config_value: '["/d"]' },
            ],
          };
        },
        // the walk has ended: the stop comes while the counts are being sent
        updateConsistencyResult(_task: never, _results: never, options: never) {
          stoppedAt = Date.now();
          d.stop.abort('SIGTERM');
          return hang(options);
        },
        finishConsistencyCheck(_id: never, options: never) {
          return hang(options);
        },
      },
      [request('vr-3')],
      newSpool(),
      { stopGraceMs: 300 },
    );
    await d.running;
    const after = Date.now() - stoppedAt;
    expect(stoppedAt).toBeGreaterThan(0);
    expect(after).toBeGreaterThanOrEqual(250);
    expect(after).toBeLessThan(5000);
    // not stored: it waits in the spool for the next start, with its key
    const waiting = d.spool.list().entries;
    expect(
      waiting.map((e) =>
        'consistency_result' in e.entry ? e.entry.consistency_result.map((r) => r.dir_check) : [],
      ),
    ).toEqual([['/d']]);
    expect(
      d.log.some((l) => /request vr-3: not finished \(the daemon was stopped 0.3 s before\)/.test(l)),
    ).toBe(true);
  });
});

/** A task's source and target of one equal file, and its configuration as the server lists it. */
function equalTask() {
  const base = mkdtempSync(join(tmpdir(), 'sms-daemon-away-'));
  temporary.push(base);
  for (const side of ['src', 'dst']) {
    mkdirSync(join(base, side, 'd'), { recursive: true });
    writeFileSync(join(base, side, 'd', 'a'), 'a');
  }
  return {
    configurations: [
      { config_key: 'CONSISTENCY_SOURCE', config_value: join(base, 'src') },
      { config_key: 'CONSISTENCY_TARGET', config_value: join(base, 'dst') },
      { config_key: 'CONSISTENCY_DIR', config_value: '["/d"]' },
    ],
  };
}

const refused = new SmsNetworkError('fetch failed: connect ECONNREFUSED 127.0.0.1:8080', {
  cause: new Error('connect ECONNREFUSED 127.0.0.1:8080'),
});
/** A proxy's or load balancer's page while the server is redeployed: a status, no error code of ours. */
const proxyPage = (status: number) =>
  new SmsApiError({ status, errorCode: undefined, errorMsg: 'Not Found', requestId: undefined, body: {} });

describe('the daemon while the server is away after a claim', () => {
  const claimed = (id: string) => async () => ({
    request: { ...request(id), state: 'running' },
    lease_id: `lease-${id}`,
  });

  it('reads the configuration again and runs the request once the server is back', async () => {
    const task = equalTask();
    let reads = 0;
    let finished: { state?: string; checkResult?: string } | undefined;
    let d: ReturnType<typeof daemonWith>;
    d = daemonWith(
      {
        claimConsistencyCheck: claimed('vr-4'),
        async heartbeatConsistencyCheck() {
          return {};
        },
        async getConfiguration() {
          if (++reads <= 2) throw reads === 1 ? refused : proxyPage(502);
          return task;
        },
        async updateConsistencyResult() {
          return {};
        },
        async uploadFindings() {
          return { stored: 0, superseded_dirs: [] };
        },
        async finishConsistencyCheck(_id: never, body: { state: string; checkResult: string }) {
          finished = body;
          d.stop.abort('SIGTERM');
          return {};
        },
      },
      [request('vr-4')],
      newSpool(),
      { backoff: () => new Backoff(50, 200), unreachableRetryMs: 10_000 },
    );
    await d.running;
    expect(reads).toBe(3);
    expect(finished).toMatchObject({ state: 'done', checkResult: 'CONSISTENT' });
    expect(d.log.filter((l) => l.includes('could not be read')).length).toBe(2);
    expect(d.calls.releaseConsistencyCheck).toBeUndefined();
  });

  it.each([
    [
      'when the server stays away past the retries, its renewals too',
      async () => {
        throw refused;
      },
    ],
    [
      // a server that fails over, say: not this task's fault, and not a failed run
      'when its reads fail on the network, though a renewal gets through (a moment after the first read failed)',
      async () => {
        await sleep(100);
        return {};
      },
    ],
  ] as const)('hands the request back, not failed, %s', async (_, heartbeat) => {
    let d: ReturnType<typeof daemonWith>;
    d = daemonWith(
      {
        claimConsistencyCheck: claimed('vr-5'),
        heartbeatConsistencyCheck: heartbeat,
        async getConfiguration() {
          throw refused;
        },
        async releaseConsistencyCheck() {
          d.stop.abort('SIGTERM');
          return request('vr-5');
        },
      },
      [request('vr-5')],
      newSpool(),
      { backoff: () => new Backoff(50, 100), unreachableRetryMs: 400 },
    );
    await d.running;
    expect(d.calls.getConfiguration).toBeGreaterThanOrEqual(2);
    expect(d.calls.releaseConsistencyCheck).toBe(1);
    expect(d.calls.finishConsistencyCheck).toBeUndefined();
    expect(d.log.some((l) => l.includes('handing the request back'))).toBe(true);
  });

  it('fails the request with the error when only its configuration cannot be read (the server answers the rest)', async () => {
    let d: ReturnType<typeof daemonWith>;
    let finished: { state?: string; error?: string } | undefined;
    d = daemonWith(
      {
        claimConsistencyCheck: claimed('vr-8'),
        async heartbeatConsistencyCheck() {
          return {};
        },
        async getConfiguration() {
          throw new SmsApiError({
            status: 500,
            errorCode: 'SMS.2008',
            errorMsg: 'storage failed (read configuration)',
            requestId: undefined,
            body: {},
          });
        },
        async finishConsistencyCheck(_id: never, body: { state: string; error: string }) {
          finished = body;
          d.stop.abort('SIGTERM');
          return {};
        },
      },
      [request('vr-8')],
      newSpool(),
      { backoff: () => new Backoff(50, 100), unreachableRetryMs: 400 },
    );
    await d.running;
    // handed back, it would be taken again at once, for ever, with nothing on the page
    expect(d.calls.releaseConsistencyCheck).toBeUndefined();
    expect(finished?.state).toBe('failed');
    expect(finished?.error).toContain('storage failed (read configuration)');
  });

  it('finishes the request done when its counts were stored and only its findings were refused', async () => {
    const task = equalTask();
    const src = task.configurations[0]!.config_value;
    writeFileSync(join(src, 'd', 'only-here'), 'x');
    let d: ReturnType<typeof daemonWith>;
    let finished: { state?: string; checkResult?: string; error?: string } | undefined;
    const stored: string[] = [];
    d = daemonWith(
      {
        claimConsistencyCheck: claimed('vr-9'),
        async heartbeatConsistencyCheck() {
          return {};
        },
        async getConfiguration() {
          return task;
        },
        async updateConsistencyResult(_task: string, results: { dir_check: string }[]) {
          stored.push(...results.map((r) => r.dir_check));
          return {};
        },
        async uploadFindings() {
          throw new SmsApiError({
            status: 400,
            errorCode: 'SMS.2001',
            errorMsg: 'a line of the findings is not valid',
            requestId: undefined,
            body: {},
          });
        },
        async finishConsistencyCheck(_id: never, body: typeof finished) {
          finished = body;
          d.stop.abort('SIGTERM');
          return {};
        },
      },
      [request('vr-9')],
    );
    await d.running;
    expect(stored).toEqual(['/d']);
    // the task shows the verdict: the request is done with it, not failed
    expect(finished?.state, JSON.stringify(finished)).toBe('done');
    expect(finished?.checkResult).toBe('INCONSISTENT');
    expect(
      d.log.some((l) => /^warning: an upload was refused by the server: .*not valid/.test(l)),
      d.log.join('\n'),
    ).toBe(true);
  });

  it('renews a lease soon after a failed heartbeat, and a proxy 404 does not abandon the run', async () => {
    let beats = 0;
    let second = 0;
    let third = 0;
    const d = daemonWith(
      {
        claimConsistencyCheck: claimed('vr-6'),
        async heartbeatConsistencyCheck() {
          beats++;
          if (beats === 3) third = Date.now();
          if (beats === 2) {
            second = Date.now();
            throw proxyPage(404);
          }
          return {};
        },
        // the run waits here: the server is away for its configuration all along
        async getConfiguration() {
          throw refused;
        },
        async releaseConsistencyCheck() {
          return request('vr-6');
        },
      },
      [request('vr-6')],
      newSpool(),
      // heartbeats every 3 s (a 9 s lease); after a failure, again within 1 s (the first step)
      { leaseSeconds: 9, backoff: () => new Backoff(200, 200), unreachableRetryMs: 60_000 },
    );
    for (let waited = 0; second === 0 && waited < 5000; waited += 20) await sleep(20);
    await sleep(1800);
    d.stop.abort('SIGTERM');
    await d.running;
    // the second heartbeat failed; a third came within a second of it, not at the next tick (3 s)
    expect(second).toBeGreaterThan(0);
    expect(third).toBeGreaterThan(0);
    expect(third - second).toBeLessThan(2000);
    expect(d.log.some((l) => l.includes('lease lost'))).toBe(false);
    expect(d.log.some((l) => /heartbeat failed .*; trying again in/.test(l))).toBe(true);
  });

  it('gives up finishing after the retries when the server keeps failing, rather than holding the request', async () => {
    const task = equalTask();
    const d = daemonWith(
      {
        claimConsistencyCheck: claimed('vr-7'),
        async heartbeatConsistencyCheck() {
          return {};
        },
        async getConfiguration() {
          return task;
        },
        async updateConsistencyResult() {
          return {};
        },
        async uploadFindings() {
          return { stored: 0, superseded_dirs: [] };
        },
        async finishConsistencyCheck() {
          throw proxyPage(503);
        },
      },
      [request('vr-7')],
      newSpool(),
      { unreachableRetryMs: 1500 },
    );
    for (let waited = 0; !d.log.some((l) => l.includes('giving up')) && waited < 8000; waited += 50)
      await sleep(50);
    d.stop.abort('SIGTERM');
    await d.running;
    expect(d.log.some((l) => l.includes('request vr-7: finish failed') && l.includes('giving up'))).toBe(
      true,
    );
  });
});

/** An older server's answer to a poll that gives the agent's name: its query takes only `wait`. */
const nameRefused = () =>
  new SmsApiError({
    status: 400,
    errorCode: 'SMS.1001',
    errorMsg: 'agent: is not a field of this object; remove it',
    requestId: undefined,
    body: {},
  });

describe('the daemon and a server older than CONSISTENCY_AGENT', () => {
  it("polls without its name once the server refuses it (400 on the query's agent)", async () => {
    const asked: (string | undefined)[] = [];
    const d = daemonWith(
      {
        async pollConsistencyChecks(options: { agent?: string; signal?: AbortSignal }) {
          asked.push(options.agent);
          if (options.agent !== undefined) throw nameRefused();
          await sleep(5, undefined, options.signal ? { signal: options.signal } : {}).catch(() => {});
          return { requests: [] };
        },
      },
      [],
    );
    for (let i = 0; i < 100 && asked.length < 3; i++) await sleep(10);
    d.stop.abort('SIGTERM');
    await d.running;
    expect(asked.slice(0, 3)).toEqual(['test-host', undefined, undefined]);
    expect(d.log.some((l) => l.includes('older than this agent; polling without it'))).toBe(true);
  });
});

describe('the daemon and a server upgraded while it runs', () => {
  it('asks by name again once the server was away (a restart, perhaps into a newer version)', async () => {
    const asked: (string | undefined)[] = [];
    const d = daemonWith(
      {
        async pollConsistencyChecks(options: { agent?: string; signal?: AbortSignal }) {
          asked.push(options.agent);
          if (asked.length === 1) throw nameRefused();
          if (asked.length === 2) throw refused;
          await sleep(5, undefined, options.signal ? { signal: options.signal } : {}).catch(() => {});
          return { requests: [] };
        },
      },
      [],
      newSpool(),
      { backoff: () => new Backoff(20, 40) },
    );
    for (let i = 0; i < 200 && asked.length < 3; i++) await sleep(10);
    d.stop.abort('SIGTERM');
    await d.running;
    expect(asked.slice(0, 3)).toEqual(['test-host', undefined, 'test-host']);
  });
});
