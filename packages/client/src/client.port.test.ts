import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLogger, loadConfig, type RunningServer, startServer } from '@sms/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmsClient } from './client.js';

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
    await client.updateConsistencyResult(id, [
      {
        dir_check: '/data',
        num_total_files: 5,
        num_different_files: 0,
        num_target_miss_files: 0,
        num_target_more_files: 0,
      },
    ]);
    const { result_list } = await client.showConsistencyResult(id);
    expect(result_list[0]?.check_result).toBe('CONSISTENT');
  });
});
