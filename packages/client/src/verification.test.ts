import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SmsClient } from './client.js';
import { ADMIN, AGENT, createTestServer, type TestServer } from './test-support/server.js';

const ENDPOINT = 'http://sms.test';
const fast = { limit: 3, delay: () => 5, jitter: false } as const;
const REQUEST_ID = '0b7f3c1e-8d2a-4c55-9e1f-2a3b4c5d6e7f';
const LEASE_ID = '1c8f4d2f-9e3b-4d66-8f2a-3b4c5d6e7f80';

let server: TestServer;
let admin: SmsClient;
let agent: SmsClient;
beforeAll(async () => {
  server = await createTestServer();
  admin = new SmsClient({ endpoint: ENDPOINT, credentials: ADMIN, fetch: server.fetch, retry: fast });
  agent = new SmsClient({ endpoint: ENDPOINT, credentials: AGENT, fetch: server.fetch, retry: fast });
});
afterAll(() => server.close());
beforeEach(() => server.reset());

describe('configuration and verification requests: checked before anything is sent', () => {
  it('refuses an unknown key and a bad value, naming the key', async () => {
    await expect(
      admin.updateConfiguration('task-1', [{ config_key: 'CONSISTENCY_DIRS', config_value: '["/a"]' }]),
    ).rejects.toMatchObject({
      name: 'SmsValidationError',
      message: expect.stringContaining('CONSISTENCY_DIRS'),
    });
    await expect(
      admin.updateConfiguration('task-1', [{ config_key: 'CONSISTENCY_DIR', config_value: 'root/data' }]),
    ).rejects.toMatchObject({
      name: 'SmsValidationError',
      message: expect.stringMatching(/CONSISTENCY_DIR: expected a JSON array/),
    });
    expect(server.attempts).toHaveLength(0);
  });

  it('refuses a lease outside 10..3600 seconds, a wait over 30 and a request id that is not a UUID', async () => {
    await expect(
      agent.claimConsistencyCheck(REQUEST_ID, { leaseSeconds: 5, agent: 'host' }),
    ).rejects.toMatchObject({
      name: 'SmsValidationError',
      message: expect.stringContaining('lease_seconds'),
    });
    await expect(agent.pollConsistencyChecks({ wait: 31 })).rejects.toMatchObject({
      name: 'SmsValidationError',
      message: expect.stringContaining('wait'),
    });
    await expect(agent.pollConsistencyChecks({ wait: 0, agent: 'web\n01' })).rejects.toMatchObject({
      name: 'SmsValidationError',
      message: expect.stringContaining('agent'),
    });
    await expect(
      agent.heartbeatConsistencyCheck('not-a-uuid', { leaseId: LEASE_ID, leaseSeconds: 60 }),
    ).rejects.toMatchObject({ name: 'SmsValidationError', message: expect.stringContaining('request id') });
    await expect(
      agent.finishConsistencyCheck(REQUEST_ID, { leaseId: LEASE_ID, state: 'failed', error: '' }),
    ).rejects.toMatchObject({ name: 'SmsValidationError', message: expect.stringContaining('error') });
    await expect(agent.releaseConsistencyCheck(REQUEST_ID, 'lease')).rejects.toMatchObject({
      name: 'SmsValidationError',
    });
    expect(server.attempts).toHaveLength(0);
  });
});

describe('configuration and verification requests against the real server', () => {
  it('sets, reads and removes configuration keys', async () => {
    const { id } = await admin.createTask({ name: 'config' });
    await admin.updateConfiguration(id, [
      { config_key: 'CONSISTENCY_DIR', config_value: '["/root/data"]' },
      { config_key: 'CONSISTENCY_MODE', config_value: 'content' },
    ]);
    expect((await agent.getConfiguration(id)).configurations).toEqual([
      { config_key: 'CONSISTENCY_DIR', config_value: '["/root/data"]' },
      { config_key: 'CONSISTENCY_MODE', config_value: 'content' },
    ]);
    await admin.updateConfiguration(id, [{ config_key: 'CONSISTENCY_MODE', config_value: '' }]);
    expect((await agent.getConfiguration(id)).configurations.map((e) => e.config_key)).toEqual([
      'CONSISTENCY_DIR',
    ]);
    await expect(
      agent.updateConfiguration(id, [{ config_key: 'CONSISTENCY_MODE', config_value: 'quick' }]),
    ).rejects.toMatchObject({ name: 'SmsForbiddenError', status: 403 });
  });

  it("polls with the longest timeout allowed: the poll's wait is added and the sum held to what a timer takes", async () => {
    const patient = new SmsClient({
      endpoint: ENDPOINT,
      credentials: AGENT,
      fetch: server.fetch,
      retry: fast,
      timeout: 2_147_483_647,
    });
    await expect(patient.pollConsistencyChecks({ wait: 1 })).resolves.toMatchObject({ requests: [] });
  });

  it('takes a request through claim, heartbeat and finish; a second claim is 409 SMS.1008', async () => {
    const { id: taskId } = await admin.createTask({ name: 'requests' });
    const { request, created } = await admin.requestConsistencyCheck(taskId);
    expect([request.state, created]).toEqual(['pending', true]);
    expect((await admin.requestConsistencyCheck(taskId)).created).toBe(false);
    const { requests } = await agent.pollConsistencyChecks({ wait: 0 });
    expect(requests.map((r) => r.id)).toContain(request.id);
    await admin.updateConfiguration(taskId, [{ config_key: 'CONSISTENCY_AGENT', config_value: 'host-a' }]);
    expect((await agent.pollConsistencyChecks({ wait: 0 })).requests.map((r) => r.id)).not.toContain(
      request.id,
    );
    expect(
      (await agent.pollConsistencyChecks({ wait: 0, agent: 'host-a' })).requests.map((r) => r.id),
    ).toContain(request.id);
    const claim = await agent.claimConsistencyCheck(request.id, { leaseSeconds: 60, agent: 'host-a' });
    expect(claim.request.state).toBe('running');
    await expect(
      admin.claimConsistencyCheck(request.id, { leaseSeconds: 60, agent: 'host-b' }),
    ).rejects.toMatchObject({ name: 'SmsApiError', status: 409, errorCode: 'SMS.1008' });
    const runId = crypto.randomUUID();
    const beat = await agent.heartbeatConsistencyCheck(request.id, {
      leaseId: claim.lease_id,
      leaseSeconds: 60,
      runId,
    });
    expect(beat.run_id).toBe(runId);
    const done = await agent.finishConsistencyCheck(request.id, {
      leaseId: claim.lease_id,
      state: 'done',
      runId,
      checkResult: 'CONSISTENT',
    });
    expect([done.state, done.check_result]).toEqual(['done', 'CONSISTENT']);
    // a finish retried after a lost answer answers the request again
    expect(
      (
        await agent.finishConsistencyCheck(request.id, {
          leaseId: claim.lease_id,
          state: 'done',
          runId,
          checkResult: 'CONSISTENT',
        })
      ).state,
    ).toBe('done');
    expect((await admin.listConsistencyChecks(taskId)).requests[0]).toMatchObject({
      id: request.id,
      state: 'done',
    });
  });

  it('hands a request back with release, and fails one with the agent’s error', async () => {
    const { id: taskId } = await admin.createTask({ name: 'release' });
    const { request } = await admin.requestConsistencyCheck(taskId);
    const first = await agent.claimConsistencyCheck(request.id, { leaseSeconds: 60, agent: 'host-a' });
    expect((await agent.releaseConsistencyCheck(request.id, first.lease_id)).state).toBe('pending');
    const second = await agent.claimConsistencyCheck(request.id, { leaseSeconds: 60, agent: 'host-b' });
    await expect(
      agent.heartbeatConsistencyCheck(request.id, { leaseId: first.lease_id, leaseSeconds: 60 }),
    ).rejects.toMatchObject({ status: 409, errorCode: 'SMS.1008' });
    const failed = await agent.finishConsistencyCheck(request.id, {
      leaseId: second.lease_id,
      state: 'failed',
      error: 'CONSISTENCY_TARGET is not set',
    });
    expect([failed.state, failed.error]).toEqual(['failed', 'CONSISTENCY_TARGET is not set']);
  });

  it('waits in the long poll longer than the client timeout, and answers once a request appears', async () => {
    // signed in beforehand, with the default timeout: the 500 ms one is for the long poll (a sign-in on
    // a loaded machine can take longer, which is not what this test is about)
    const { token } = await agent.createToken();
    const patient = new SmsClient({ endpoint: ENDPOINT, token, fetch: server.fetch, timeout: 500 });
    const { id: taskId } = await admin.createTask({ name: 'poll' });
    // drain what earlier tests left pending
    for (const r of (await agent.pollConsistencyChecks({ wait: 0 })).requests) {
      const { lease_id } = await agent.claimConsistencyCheck(r.id, { leaseSeconds: 10, agent: 'drain' });
      await agent.finishConsistencyCheck(r.id, { leaseId: lease_id, state: 'failed', error: 'drained' });
    }
    const started = Date.now();
    const polling = patient.pollConsistencyChecks({ wait: 2 });
    setTimeout(() => void admin.requestConsistencyCheck(taskId), 1000);
    const { requests } = await polling;
    expect(requests.map((r) => r.task_id)).toEqual([taskId]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});
