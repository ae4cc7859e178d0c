import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiOf } from '../test-support/client.js';
import { type ServerProcess, startServerProcess } from '../testing/process.js';

const PASSWORD = 'findings-cut-password';
let server: ServerProcess;
let dir: string;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sms-findings-cut-'));
  server = await startServerProcess({
    SMS_DATA_DIR: dir,
    SMS_ADMIN_PASSWORD: PASSWORD,
    SMS_LOG_LEVEL: 'warn',
  });
  token = await apiOf(server.url).token('admin', PASSWORD);
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A task with counts of /d in a run. */
async function runWithCounts(): Promise<{ taskId: string; runId: string }> {
  const taskId = await apiOf(server.url).createTask(token, `cut-${randomUUID().slice(0, 6)}`);
  const runId = randomUUID();
  const res = await fetch(`${server.url}/v3/tasks/${taskId}/consistency-result`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-auth-token': token, 'x-sms-run-id': runId },
    body: JSON.stringify({
      consistency_result: [
        {
          dir_check: '/d',
          num_total_files: 9,
          num_different_files: 0,
          num_target_miss_files: 9,
          num_target_more_files: 0,
        },
      ],
    }),
  });
  expect(res.status).toBe(200);
  return { taskId, runId };
}

/**
 * Sends the head and `lines` whole NDJSON lines of a findings upload over a raw socket, then
 * closes the connection without ending the body: with a declared length (more than was
 * sent) or chunked (without the last chunk). Resolves once the socket is gone.
 */
function cutUpload(
  taskId: string,
  runId: string,
  lines: number,
  framing: 'length' | 'chunked',
): Promise<void> {
  const url = new URL(server.url);
  const line = `${JSON.stringify({ dir_check: '/d', category: 'missing', path: 'f', reason: 'r' })}\n`;
  const body = line.repeat(lines);
  const head = [
    `POST /v3/tasks/${taskId}/consistency-result/files HTTP/1.1`,
    `Host: ${url.host}`,
    `X-Auth-Token: ${token}`,
    `X-Sms-Run-Id: ${runId}`,
    'Content-Type: application/x-ndjson',
    framing === 'length' ? `Content-Length: ${Buffer.byteLength(body) * 2}` : 'Transfer-Encoding: chunked',
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(head);
      socket.write(framing === 'length' ? body : `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n`);
      // the agent's host loses its network: no more bytes, the connection closed
      setTimeout(() => socket.destroy(), 300);
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

async function findings(taskId: string): Promise<unknown[]> {
  const res = await fetch(`${server.url}/v3/tasks/${taskId}/consistency-result/files?limit=1000`, {
    headers: { 'x-auth-token': token },
  });
  return ((await res.json()) as { findings: unknown[] }).findings;
}

describe('a findings upload whose connection is cut (a real server process)', () => {
  it.each(['length', 'chunked'] as const)(
    'stores nothing of a body cut off mid-way (%s framing), though every line it got was whole',
    async (framing) => {
      const { taskId, runId } = await runWithCounts();
      await cutUpload(taskId, runId, 5000, framing);
      // the server notices the closed connection and deletes what it wrote
      await new Promise((r) => setTimeout(r, 500));
      expect(await findings(taskId)).toEqual([]);
      // and the same run's findings sent whole afterwards are taken
      const res = await fetch(`${server.url}/v3/tasks/${taskId}/consistency-result/files`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', 'x-auth-token': token, 'x-sms-run-id': runId },
        body: `${JSON.stringify({ dir_check: '/d', category: 'missing', path: 'whole', reason: 'r' })}\n`,
      });
      expect(res.status).toBe(200);
      expect(await findings(taskId)).toHaveLength(1);
    },
  );
});
