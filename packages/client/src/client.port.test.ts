import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateCredentialResponseSchema } from '@sms/domain';
import { createMemoryLogger, loadConfig, type RunningServer, startServer } from '@sms/server';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmsClient } from './client.js';

const result = (dir: string, different: number) => ({
  dir_check: dir,
  num_total_files: 5,
  num_different_files: different,
  num_target_miss_files: 0,
  num_target_more_files: 0,
});

describe('SmsClient over a real port', () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sms-client-port-'));
    const config = loadConfig({ PORT: '0', SMS_DATA_DIR: dir, SMS_ADMIN_PASSWORD: 'port-admin-pw' });
    server = await startServer(config, createMemoryLogger());
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('does a whole round with the global fetch', async () => {
    const client = new SmsClient({
      endpoint: server.url,
      credentials: { user: 'admin', password: 'port-admin-pw', project: 'default' },
    });
    const { id } = await client.createTask({ name: 'over-tcp' });
    await client.updateConsistencyResult(id, [result('/data', 0)]);
    const { result_list } = await client.showConsistencyResult(id);
    expect(result_list[0]?.check_result).toBe('CONSISTENT');
  });

  it('signs with an access key made through the API (AK/SK), and is refused with a wrong secret', async () => {
    const password = new SmsClient({
      endpoint: server.url,
      credentials: { user: 'admin', password: 'port-admin-pw', project: 'default' },
    });
    const { token, body } = await password.createToken();
    const made = await fetch(`${server.url}/v3.0/OS-CREDENTIAL/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify({ credential: { user_id: body.token.user.id, description: 'client over tcp' } }),
    });
    expect(made.status).toBe(201);
    const { credential } = v.parse(CreateCredentialResponseSchema, await made.json());
    const key = {
      accessKey: credential.access,
      secretKey: credential.secret,
      projectId: body.token.project.id,
    };
    const client = new SmsClient({ endpoint: server.url, credentials: key });
    const { id } = await client.createTask({ name: 'signed-over-tcp' });
    await client.updateConsistencyResult(id, [result('/signed', 1)]);
    const { result_list } = await client.showConsistencyResult(id);
    expect(result_list[0]?.check_result).toBe('INCONSISTENT');
    const wrong = `${key.secretKey.slice(0, -1)}${key.secretKey.endsWith('X') ? 'Y' : 'X'}`;
    await expect(
      new SmsClient({ endpoint: server.url, credentials: { ...key, secretKey: wrong } }).showTask(id),
    ).rejects.toMatchObject({ name: 'SmsForbiddenError', status: 403, errorCode: 'SMS.9007' });
  });
});
