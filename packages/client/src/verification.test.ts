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
