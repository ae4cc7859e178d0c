import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiOf } from '../test-support/client.js';
import { result } from '../testing/app.js';
import { startServerProcess } from '../testing/process.js';

const root = mkdtempSync(join(tmpdir(), 'sms-modes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('the data directory of the embedded database', () => {
  const dataDir = join(root, 'nested', 'data');
  const file = join(dataDir, 'sms.sqlite');
  const env = { SMS_DATA_DIR: dataDir, SMS_ADMIN_PASSWORD: 'modes-admin-pw' };

  it('is created 0700 with the database, its WAL and its SHM 0600 on a first start', async () => {
    const server = await startServerProcess(env);
    const api = apiOf(server.url);
    const token = await api.token('admin', 'modes-admin-pw');
    const taskId = await api.createTask(token, 'modes');
    expect((await api.upload(token, taskId, { consistency_result: [result('/m')] })).status).toBe(200);
    expect([modeOf(dataDir), modeOf(file), modeOf(`${file}-wal`), modeOf(`${file}-shm`)]).toEqual([
      '700',
      '600',
      '600',
      '600',
    ]);
    expect(server.stdout.join('')).not.toContain('readable by other users');
    expect(await server.stop()).toBe(0);
  });

  it('is tightened, with a warning naming each path, when a start finds it readable by others', async () => {
    chmodSync(dataDir, 0o755);
    chmodSync(file, 0o644);
    const server = await startServerProcess(env);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect([modeOf(dataDir), modeOf(file)]).toEqual(['700', '600']);
    const warnings = server.stdout
      .join('')
      .split('\n')
      .filter((line) => line.includes('readable by other users'))
      .map((line) => JSON.parse(line) as { level: string; path: string; was: string; now: string });
    expect(warnings).toEqual([
      expect.objectContaining({ level: 'warn', path: dataDir, was: '0755', now: '0700' }),
      expect.objectContaining({ level: 'warn', path: file, was: '0644', now: '0600' }),
    ]);
    expect(await server.stop()).toBe(0);
  });
});

describe('the listening line', () => {
  it.each(['warn', 'error', 'silent'])(
    'is written at SMS_LOG_LEVEL=%s, and nothing below the level',
    async (level) => {
      // startServerProcess resolves only once it reads the line
      const server = await startServerProcess({ SMS_DATA_DIR: join(root, level), SMS_LOG_LEVEL: level });
      await fetch(`${server.url}/healthz`);
      expect(await server.stop()).toBe(0);
      const lines = server.stdout.join('').trim().split('\n');
      expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['listening']);
    },
  );
});
