import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientRequestException } from '@huaweicloud/huaweicloud-sdk-core/exception/ClientRequestException.js';
import { CreateCredentialResponseSchema } from '@sms/domain';
import { formatSdkDate } from '@sms/domain/signature';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiOf } from '../test-support/client.js';
import { type KeyPair, sdkClient, smsRequests } from '../test-support/sdk.js';
import { result } from '../testing/app.js';
import { runServerCli, type ServerProcess, startServerProcess } from '../testing/process.js';

const ADMIN_PASSWORD = 'sdk-admin-password';
let dir: string;
let env: Record<string, string>;
let server: ServerProcess;
let token: string;
let taskId: string;
let key: KeyPair;
let projects: Map<string, string>;

/** Runs the CLI on the server's database and returns its stdout (failing the test on a non-zero exit). */
async function cli(...args: string[]): Promise<string> {
  const run = await runServerCli(args, env);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

/** The SDK's exception for a refused request: status and our error_code. */
async function refused(promise: Promise<unknown>) {
  const error = await promise.then(
    () => {
      throw new Error('the request succeeded');
    },
    (e: unknown) => e,
  );
  // the SDK's classes are compiled for old targets, where instanceof may not see subclasses of Error
  expect((error as Error).name, String(error)).toBe('ClientRequestException');
  const { httpStatusCode, errorCode } = error as ClientRequestException;
  return { httpStatusCode, errorCode };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sms-sdk-'));
  env = { SMS_DATA_DIR: dir, SMS_ADMIN_PASSWORD: ADMIN_PASSWORD };
  server = await startServerProcess(env);
  await cli('project', 'add', 'other');
  projects = new Map(
    (await cli('project', 'list'))
      .trim()
      .split('\n')
      .map((line) => line.split('\t') as [string, string]),
  );
  const created = v.parse(
    CreateCredentialResponseSchema,
    JSON.parse(await cli('access-key', 'create', 'admin', '--description', 'official sdk', '--json')),
  );
  key = { ak: created.credential.access, sk: created.credential.secret, projectId: projects.get('default')! };
  const api = apiOf(server.url);
  token = await api.token('admin', ADMIN_PASSWORD);
  taskId = await api.createTask(token, 'sdk-task');
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the official Huawei Cloud SDK core (BasicCredentials, HcClient) against sms-server', () => {
  it('uploads with UpdateConsistencyResult, reads it back with ShowConsistencyResult and lists the task', async () => {
    const client = sdkClient(server.url, key);
    const body = { consistency_result: [result('/srv/sdk', { num_total_files: 7 })] };
    const uploaded = await client.sendRequest(smsRequests.updateConsistencyResult(taskId, body));
    expect(uploaded.httpStatusCode).toBe(200);
    const shown = (await client.sendRequest(smsRequests.showConsistencyResult(taskId))) as unknown as {
      httpStatusCode: number;
      task_id: string;
      result_list: { consistency_result: { dir_check: string; num_total_files: number }[] }[];
    };
    expect(shown.httpStatusCode).toBe(200);
    expect(shown.task_id).toBe(taskId);
    expect(shown.result_list[0]?.consistency_result).toEqual([
      expect.objectContaining({ dir_check: '/srv/sdk', num_total_files: 7 }),
    ]);
    const listed = (await client.sendRequest(
      smsRequests.listTasks({ name: 'sdk-task', limit: 10, offset: 0 }),
    )) as unknown as {
      count: number;
      tasks: { id: string }[];
    };
    expect(listed.count).toBe(1);
    expect(listed.tasks[0]?.id).toBe(taskId);
  });

  it('gets a body that breaks a limit back as ClientRequestException with our error_code', async () => {
    const client = sdkClient(server.url, key);
    const body = { consistency_result: [result('/srv/too-many', { num_total_files: 1_000_001 })] };
    expect(await refused(client.sendRequest(smsRequests.updateConsistencyResult(taskId, body)))).toEqual({
      httpStatusCode: 400,
      errorCode: 'SMS.1001',
    });
  });

  it('is refused with a wrong secret (SMS.9007), a stale date (SMS.9008) and another project (SMS.9010)', async () => {
    const body = { consistency_result: [] };
    const wrongSecret = sdkClient(server.url, {
      ...key,
      sk: key.sk.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
    });
    expect(await refused(wrongSecret.sendRequest(smsRequests.updateConsistencyResult(taskId, body)))).toEqual(
      {
        httpStatusCode: 403,
        errorCode: 'SMS.9007',
      },
    );
    const stale = { 'X-Sdk-Date': formatSdkDate(Date.now() - 20 * 60_000) };
    expect(
      await refused(
        sdkClient(server.url, key).sendRequest(smsRequests.updateConsistencyResult(taskId, body, stale)),
      ),
    ).toEqual({ httpStatusCode: 403, errorCode: 'SMS.9008' });
    const otherProject = sdkClient(server.url, { ...key, projectId: projects.get('other')! });
    expect(
      await refused(otherProject.sendRequest(smsRequests.updateConsistencyResult(taskId, body))),
    ).toEqual({
      httpStatusCode: 403,
      errorCode: 'SMS.9010',
    });
  });

  it('is refused with an inactive key, and a deleted one (SMS.9006)', async () => {
    const client = sdkClient(server.url, key);
    const body = { consistency_result: [] };
    const api = apiOf(server.url);
    const deactivate = await api.call(`/v3.0/OS-CREDENTIAL/credentials/${key.ak}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify({ credential: { status: 'inactive' } }),
    });
    expect(deactivate.status).toBe(200);
    expect(await refused(client.sendRequest(smsRequests.updateConsistencyResult(taskId, body)))).toEqual({
      httpStatusCode: 403,
      errorCode: 'SMS.9006',
    });
    await cli('access-key', 'delete', key.ak);
    expect(await refused(client.sendRequest(smsRequests.showConsistencyResult(taskId)))).toEqual({
      httpStatusCode: 403,
      errorCode: 'SMS.9006',
    });
  });

  it('never writes a secret key to the database files or the log', async () => {
    const second = v.parse(
      CreateCredentialResponseSchema,
      JSON.parse(await cli('access-key', 'create', 'admin', '--json')),
    );
    const secrets = [key.sk, second.credential.secret];
    // the database, its WAL and SHM: the secret is only there sealed
    for (const file of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, file));
      for (const secret of secrets) expect(bytes.includes(Buffer.from(secret)), file).toBe(false);
    }
    expect(readdirSync(dir).some((file) => file.startsWith('sms.sqlite'))).toBe(true);
    const log = server.stdout.join('') + server.stderr.join('');
    for (const secret of secrets) expect(log).not.toContain(secret);
  });
});
