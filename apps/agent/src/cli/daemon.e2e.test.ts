import { join } from 'node:path';
import type { VerificationRequest } from '@sms/client';
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgent } from '../test-support/cli.js';
import { ADMIN_ENV, serverForTests } from '../test-support/server.js';
import { treePair } from '../test-support/tree.js';

const held = serverForTests();
const cleanups: (() => void)[] = [];
const daemons: AgentProcess[] = [];
afterEach(() => {
  for (const d of daemons.splice(0)) d.child.kill('SIGKILL');
  for (const c of cleanups.splice(0)) c();
});

/**
 * A task whose /root/data lost a file at the target. With `slow`, it asks for
 * a recheck: the run then waits 10 s (the recheck's delay) before it ends.
 */
async function task(name: string, options: { slow?: boolean; target?: boolean } = {}) {
  const pair = treePair({ root: { data: { a: '1', b: '2' } } }, { root: { data: { a: '1' } } });
  cleanups.push(pair.cleanup);
  const { id } = await held.admin.createTask({ name });
  await held.admin.updateConfiguration(id, [
    { config_key: 'CONSISTENCY_DIR', config_value: '["/root/data"]' },
    { config_key: 'CONSISTENCY_SOURCE', config_value: pair.src },
    ...(options.target === false ? [] : [{ config_key: 'CONSISTENCY_TARGET', config_value: pair.dst }]),
    ...(options.slow ? [{ config_key: 'CONSISTENCY_RECHECK', config_value: 'true' }] : []),
  ]);
  return { id, spool: join(pair.dir, 'spool') };
}

function daemon(name: string, spool: string, extra: string[] = []): AgentProcess {
  const d = startAgent(
    ['daemon', '--name', name, '--endpoint', held.server.url, '--spool-dir', spool, ...extra],
    ADMIN_ENV,
  );
  daemons.push(d);
  return d;
}

const requestOf = async (taskId: string): Promise<VerificationRequest> =>
  (await held.admin.listConsistencyChecks(taskId)).requests[0]!;

/** Polls the request until `done` says so (bounded). */
async function until(taskId: string, done: (r: VerificationRequest) => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const request = await requestOf(taskId);
    if (done(request)) return request;
    if (Date.now() > deadline) throw new Error(`request still ${JSON.stringify(request)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('sms-agent daemon against a real server', () => {
  it("takes a pending request, runs the task's configuration and finishes it done with the run's verdict", async () => {
    const t = await task('daemon-done');
    const { request } = await held.admin.requestConsistencyCheck(t.id);
    const d = daemon('host-a', t.spool, ['--once']);
    expect(await d.exited).toBe(0);
    expect(d.stderr()).toContain(`took request ${request.id} of task ${t.id}`);
    expect(d.stderr()).toMatch(new RegExp(`finished request ${request.id}: done, INCONSISTENT`));
    const finished = await requestOf(t.id);
    expect(finished).toMatchObject({ state: 'done', check_result: 'INCONSISTENT' });
    expect(finished.agent).toContain('host-a');
    const { result_list } = await held.admin.showConsistencyResult(t.id);
    expect(result_list[0]!.check_result).toBe('INCONSISTENT');
    expect(result_list[0]!.consistency_result.map((r) => [r.dir_check, r.num_target_miss_files])).toEqual([
      ['/root/data', 1],
    ]);
    expect((await held.admin.listFindings(t.id)).findings[0]!.run_id).toBe(finished.run_id);
  });

  it('fails a request whose task has no CONSISTENCY_TARGET, saying so, and goes on', async () => {
    const t = await task('daemon-failed', { target: false });
    await held.admin.requestConsistencyCheck(t.id);
    const d = daemon('host-a', t.spool, ['--once']);
    // --once says so to cron too: the request it took failed
    expect(await d.exited).toBe(2);
    const failed = await requestOf(t.id);
    expect(failed.state).toBe('failed');
    expect(failed.error).toContain('sets no CONSISTENCY_TARGET');
  });

  it('runs one request once with two daemons waiting for it', async () => {
    const t = await task('daemon-two');
    const a = daemon('host-a', t.spool);
    const b = daemon('host-b', `${t.spool}-b`);
    await Promise.all([a.waitFor(/waiting for verification requests/), b.waitFor(/waiting for/)]);
    const { request } = await held.admin.requestConsistencyCheck(t.id);
    const done = await until(t.id, (r) => r.state === 'done');
    // the other daemon is polling again (or never saw it): give it a moment to misbehave
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const took = [a, b].filter((d) => d.stderr().includes(`took request ${request.id}`));
    expect(took).toHaveLength(1);
    expect((await held.admin.showConsistencyResult(t.id)).result_list).toHaveLength(1);
    expect(done.check_result).toBe('INCONSISTENT');
    for (const d of [a, b]) d.child.kill('SIGTERM');
    expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
  });

  it("gives a request to the daemon its task's CONSISTENCY_AGENT names, whichever polls first", async () => {
    const t = await task('daemon-named');
    await held.admin.updateConfiguration(t.id, [{ config_key: 'CONSISTENCY_AGENT', config_value: 'host-d' }]);
    const c = daemon('host-c', `${t.spool}-c`);
    await c.waitFor(/waiting for verification requests/);
    const { request } = await held.admin.requestConsistencyCheck(t.id);
    // host-c polls and sees nothing for it; host-d starts later and takes it
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await held.admin.listConsistencyChecks(t.id)).requests[0]?.state).toBe('pending');
    const d = daemon('host-d', t.spool);
    const done = await until(t.id, (r) => r.state === 'done');
    expect(done.agent).toMatch(/@host-d$/);
    expect(c.stderr()).not.toContain(`took request ${request.id}`);
    for (const x of [c, d]) x.child.kill('SIGTERM');
    expect(await Promise.all([c.exited, d.exited])).toEqual([0, 0]);
  });

  it('hands a request back on SIGTERM while running it, and exits 0', async () => {
    const t = await task('daemon-sigterm', { slow: true });
    const { request } = await held.admin.requestConsistencyCheck(t.id);
    const d = daemon('host-a', t.spool);
    await d.waitFor(/recheck: 1 path/);
    expect((await requestOf(t.id)).state).toBe('running');
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
    expect(d.stderr()).toContain(`released request ${request.id}: pending again`);
    expect(await requestOf(t.id)).toMatchObject({ id: request.id, state: 'pending' });
    expect((await held.admin.showConsistencyResult(t.id)).result_list).toEqual([]);
    // leave nothing pending for the next test
    const { lease_id } = await held.admin.claimConsistencyCheck(request.id, {
      leaseSeconds: 10,
      agent: 'test',
    });
    await held.admin.finishConsistencyCheck(request.id, {
      leaseId: lease_id,
      state: 'failed',
      error: 'test over',
    });
  });

  it('finishes with another daemon a request whose daemon was SIGKILLed, once its lease expired', async () => {
    const t = await task('daemon-sigkill', { slow: true });
    const { request } = await held.admin.requestConsistencyCheck(t.id);
    const a = daemon('host-a', t.spool, ['--lease', '10']);
    await a.waitFor(/recheck: 1 path/);
    a.child.kill('SIGKILL');
    await a.exited;
    expect((await requestOf(t.id)).state).toBe('running');
    const b = daemon('host-b', `${t.spool}-b`, ['--once', '--lease', '10']);
    expect(await b.exited).toBe(0);
    expect(b.stderr()).toContain(`took request ${request.id}`);
    const done = await requestOf(t.id);
    expect(done).toMatchObject({ state: 'done', check_result: 'INCONSISTENT' });
    expect(done.agent).toContain('host-b');
    expect((await held.admin.showConsistencyResult(t.id)).result_list).toHaveLength(1);
  }, 60_000);

  it('abandons a run whose lease was lost (the daemon frozen past it, the request taken by another) and uploads nothing', async () => {
    const t = await task('daemon-lost', { slow: true });
    const { request } = await held.admin.requestConsistencyCheck(t.id);
    const d = daemon('host-a', t.spool, ['--lease', '10']);
    await d.waitFor(/recheck: 1 path/);
    d.child.kill('SIGSTOP');
    try {
      await until(t.id, (r) => r.state === 'pending', 30_000);
      const other = await held.admin.claimConsistencyCheck(request.id, { leaseSeconds: 60, agent: 'host-b' });
      d.child.kill('SIGCONT');
      await d.waitFor(new RegExp(`request ${request.id}: lease lost`));
      await d.waitFor(/nothing was uploaded/);
      expect(d.stderr()).not.toContain('finished request');
      expect((await held.admin.showConsistencyResult(t.id)).result_list).toEqual([]);
      expect(await requestOf(t.id)).toMatchObject({
        state: 'running',
        agent: expect.stringContaining('host-b'),
      });
      await held.admin.finishConsistencyCheck(request.id, {
        leaseId: other.lease_id,
        state: 'failed',
        error: 'test over',
      });
    } finally {
      d.child.kill('SIGCONT');
    }
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  }, 60_000);

  it('keeps polling while the server is stopped and started again, then takes the next request', async () => {
    const t = await task('daemon-restart');
    const d = daemon('host-a', t.spool, ['--retries', '0']);
    await d.waitFor(/waiting for verification requests/);
    await held.server.stop();
    await d.waitFor(/poll failed: .*; retrying in [\d.]+ s/);
    await held.server.restart();
    const { request } = await held.admin.requestConsistencyCheck(t.id);
    await d.waitFor(new RegExp(`finished request ${request.id}: done, INCONSISTENT`), 45_000);
    d.child.kill('SIGTERM');
    expect(await d.exited).toBe(0);
  }, 60_000);
});
