import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FindingsLine } from '@sms/domain';
import { runServerCli, type ServerProcess, startServerProcess } from '@sms/server/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmsClient } from './client.js';
import { isSmsApiError, SmsValidationError } from './errors.js';

const PASSWORD = 'findings-admin-password';
let server: ServerProcess;
let dataDir: string;
let client: SmsClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sms-client-findings-'));
  server = await startServerProcess({ SMS_DATA_DIR: dataDir, SMS_ADMIN_PASSWORD: PASSWORD });
  client = new SmsClient({
    endpoint: server.url,
    credentials: { user: 'admin', password: PASSWORD, project: 'default' },
    retry: 0,
  });
});
afterAll(async () => {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A task with the counts of one run of `dirs`. */
async function run(dirs: string[]) {
  const { id } = await client.createTask({ name: `findings-${randomUUID().slice(0, 8)}` });
  const runId = randomUUID();
  await client.updateConsistencyResult(
    id,
    dirs.map((dir_check) => ({
      dir_check,
      num_total_files: 20_000,
      num_different_files: 0,
      num_target_miss_files: 10_000,
      num_target_more_files: 0,
    })),
    { runId },
  );
  return { id, runId };
}

async function* generated(dir: string, count: number): AsyncGenerator<FindingsLine> {
  for (let i = 0; i < count; i++)
    yield {
      dir_check: dir,
      category: 'missing',
      path: `d/f${String(i).padStart(5, '0')}`,
      reason: 'not at the target',
    };
}

async function text(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe('findings against the real server', () => {
  it('streams 10,000 findings, reads them back page by page, and exports CSV and the re-sync list', async () => {
    const { id, runId } = await run(['/srv']);
    const answer = await client.uploadFindings(id, runId, generated('/srv', 10_000));
    expect(answer).toEqual({ run_id: runId, stored: 10_000, superseded_dirs: [] });
    const first = await client.listFindings(id, { limit: 1000 });
    expect(first.findings).toHaveLength(1000);
    expect(first.next_marker).toBeDefined();
    const paths: string[] = [];
    for await (const finding of client.findings(id, { dirCheck: '/srv' })) paths.push(finding.path);
    expect(paths).toHaveLength(10_000);
    expect(paths[9999]).toBe('d/f09999');
    const csv = (await text(await client.exportFindings(id, { format: 'csv' })))
      .toString()
      .trim()
      .split('\r\n');
    expect(csv).toHaveLength(10_001);
    const list = (
      await text(await client.exportFindings(id, { format: 'files-from', null: true }))
    ).toString();
    expect(list.split('\0').filter(Boolean)).toHaveLength(10_000);
  });

  it('gives typed errors: a bad line before anything is sent, a run without counts as 409 SMS.1007', async () => {
    const { id, runId } = await run(['/srv']);
    await expect(
      client.uploadFindings(id, runId, [
        { dir_check: '/srv', category: 'gone', path: 'x', reason: '' } as never,
      ]),
    ).rejects.toBeInstanceOf(SmsValidationError);
    const error = await client
      .uploadFindings(id, randomUUID(), [{ dir_check: '/srv', category: 'missing', path: 'x', reason: '' }])
      .catch((e: unknown) => e);
    expect(isSmsApiError(error) && error.status === 409 && error.errorCode === 'SMS.1007').toBe(true);
  });

  it('uploads with an access key: the body signed and its hash declared', async () => {
    const created = await runServerCli(['access-key', 'create', 'admin', '--json'], {
      SMS_DATA_DIR: dataDir,
    });
    expect(created.code, created.stderr).toBe(0);
    const { credential } = JSON.parse(created.stdout) as { credential: { access: string; secret: string } };
    const signing = new SmsClient({
      endpoint: server.url,
      credentials: { accessKey: credential.access, secretKey: credential.secret },
      retry: 0,
    });
    const { id, runId } = await run(['/srv']);
    const answer = await signing.uploadFindings(id, runId, generated('/srv', 500));
    expect(answer.stored).toBe(500);
    expect((await client.listFindings(id, { limit: 1 })).findings[0]?.path).toBe('d/f00000');
  });
});
