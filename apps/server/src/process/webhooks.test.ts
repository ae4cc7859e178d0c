import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiOf } from '../test-support/client.js';
import { runServerCli, startServerProcess } from '../testing/process.js';

const PASSWORD = 'webhook-process-password';
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function listen(port: number, got: string[]) {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      got.push(body);
      res.writeHead(200).end();
    });
  });
  return new Promise<typeof server>((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describe('webhook events of a real server process', () => {
  it('delivers an event left pending by a server killed with SIGKILL once it runs again', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sms-webhooks-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const env = { SMS_DATA_DIR: dir, SMS_ADMIN_PASSWORD: PASSWORD, SMS_LOG_LEVEL: 'error' };
    // a port with nobody listening yet
    const probe = await listen(0, []);
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const server = await startServerProcess(env);
    const added = await runServerCli(['webhook', 'add', 'default', `http://127.0.0.1:${port}/events`], env);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/secret \(shown once[^)]*\): \S{40,}/);
    const api = apiOf(server.url);
    const token = await api.token('admin', PASSWORD);
    const taskId = await api.createTask(token, 'killed');
    const res = await fetch(`${server.url}/v3/tasks/${taskId}/consistency-result`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify({
        consistency_result: [
          {
            dir_check: '/d',
            num_total_files: 2,
            num_different_files: 1,
            num_target_miss_files: 0,
            num_target_more_files: 0,
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
    // the event is in the outbox; the receiver is down; the server dies without a word
    await new Promise((r) => setTimeout(r, 1500));
    expect(await server.stop('SIGKILL')).toBe(null);
    const got: string[] = [];
    const receiver = await listen(port, got);
    cleanups.push(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
    const again = await startServerProcess(env);
    cleanups.push(async () => {
      await again.stop();
    });
    for (let waited = 0; got.length === 0 && waited < 20_000; waited += 200)
      await new Promise((r) => setTimeout(r, 200));
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]!)).toMatchObject({
      type: 'verdict.changed',
      task_id: taskId,
      verdict: 'inconsistent',
    });
    // delivered once: nothing more comes
    await new Promise((r) => setTimeout(r, 2500));
    expect(got).toHaveLength(1);
    const listed = await runServerCli(['webhook', 'list'], env);
    expect(listed.stdout).toContain(`default\thttp://127.0.0.1:${port}/events`);
  });
});
