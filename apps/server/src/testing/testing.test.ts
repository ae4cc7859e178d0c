import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createTestApp, result, startServerProcess, type TestApp } from './index.js';

describe('@sms/server/testing', () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  it('builds the app in-process with admin and the users asked for, in their projects', async () => {
    const t = await createTestApp({
      users: [
        { name: 'agent-01', password: 'agent-password-1', role: 'agent' },
        { name: 'viewer-01', password: 'viewer-password-1', role: 'viewer', project: 'elsewhere' },
      ],
    });
    apps.push(t);
    await expect(t.tokenFor('admin', ADMIN_PASSWORD)).resolves.toMatch(/^sms1\./);
    const agent = await t.tokenFor('agent-01', 'agent-password-1');
    const taskId = await t.createTask();
    expect((await t.upload(taskId, { consistency_result: [result('/a')] }, {}, agent)).status).toBe(200);
    await expect(t.tokenFor('viewer-01', 'viewer-password-1', 'elsewhere')).resolves.toMatch(/^sms1\./);
    await expect(t.tokenFor('viewer-01', 'viewer-password-1', 'default')).rejects.toThrow(/no token/);
  });

  it('keeps a frozen clock by default and a running one when asked, both moved by advanceClock', async () => {
    const frozen = await createTestApp();
    const running = await createTestApp({ clock: 'running' });
    apps.push(frozen, running);
    const stamp = async (t: TestApp) => {
      const id = await t.createTask();
      await t.upload(id, { consistency_result: [] });
      return (await t.storage.uploads.listUploads(id))[0]!.finished_time;
    };
    const first = [await stamp(frozen), await stamp(running)];
    await new Promise((r) => setTimeout(r, 20));
    frozen.advanceClock(1_000);
    const second = [await stamp(frozen), await stamp(running)];
    expect(second[0]! - first[0]!).toBe(1_000);
    expect(second[1]! - first[1]!).toBeGreaterThanOrEqual(20);
    expect(second[1]! - first[1]!).toBeLessThan(1_000);
  });

  it('starts the built server as a process on a free port', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sms-testing-'));
    const server = await startServerProcess({ SMS_DATA_DIR: dataDir });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(await server.stop()).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  });
});
