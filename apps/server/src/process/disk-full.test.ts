import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorResponseSchema } from '@sms/domain';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSqliteDriver, openSqlite } from '../db/sqlite-driver.js';
import { loadConfig } from '../env.js';
import { createMemoryLogger } from '../logger.js';
import { type RunningServer, startServer } from '../server.js';
import { apiOf } from '../test-support/client.js';

/** A 4 MiB tmpfs as the data directory: mounting needs root, which CI and this machine have. */
let mountPoint: string;
let server: RunningServer;
let token: string;
let taskId: string;
const PASSWORD = 'disk-full-admin-pw';

beforeAll(async () => {
  mountPoint = mkdtempSync(join(tmpdir(), 'sms-small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint]);
  server = await startServer(
    loadConfig({ PORT: '0', SMS_DATA_DIR: join(mountPoint, 'data'), SMS_ADMIN_PASSWORD: PASSWORD }),
    createMemoryLogger('error'),
  );
  const api = apiOf(server.url);
  token = await api.token('admin', PASSWORD);
  taskId = await api.createTask(token, 'disk-full');
});

afterAll(async () => {
  await server?.close().catch(() => {});
  try {
    execFileSync('umount', [mountPoint]);
  } finally {
    rmSync(mountPoint, { recursive: true, force: true });
  }
});

function upload(n: number) {
  const results = Array.from({ length: 30 }, (_, i) => ({
    dir_check: `/full/${n}/${'x'.repeat(900)}/${i}`,
    num_total_files: 10,
    num_different_files: 0,
    num_target_miss_files: 0,
    num_target_more_files: 0,
  }));
  return fetch(`${server.url}/v3/tasks/${taskId}/consistency-result`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-auth-token': token },
    body: JSON.stringify({ consistency_result: results }),
  });
}

describe('a full disk under the embedded database', () => {
  it('answers 500 SMS.2008 with the documented body, loses nothing acknowledged, and recovers when space returns', {
    timeout: 120_000,
  }, async () => {
    const acknowledged: number[] = [];
    // leave 64 KiB free, then upload until the disk is full
    const stats = statfsSync(mountPoint);
    const filler = join(mountPoint, 'filler');
    writeFileSync(filler, Buffer.alloc(Math.max(0, stats.bavail * stats.bsize - 64 * 1024)));
    let refused = 0;
    for (let n = 0; n < 200 && refused < 3; n++) {
      const res = await upload(n);
      if (res.status === 200) {
        acknowledged.push(n);
        await res.arrayBuffer();
        continue;
      }
      expect(res.status).toBe(500);
      const error = v.parse(ErrorResponseSchema, await res.json());
      expect(error.error_code).toBe('SMS.2008');
      // the kind of failure, in words the client may read (not the database file's path)
      expect(error.error_msg).toBe(
        "Storage failed (store upload): the database's disk is full; nothing was stored: retry later (the server's log has the cause, under this request's X-Request-Id)",
      );
      refused++;
    }
    expect(refused).toBe(3);

    // space returns: the same server takes uploads again, without a restart
    rmSync(filler);
    const after = await upload(1000);
    expect(after.status).toBe(200);
    acknowledged.push(1000);

    const history = await fetch(`${server.url}/v3/tasks/${taskId}/consistency-result`, {
      headers: { 'x-auth-token': token },
    });
    const { result_list } = (await history.json()) as {
      result_list: { consistency_result: { dir_check: string }[] }[];
    };
    const stored = new Set(result_list.map((e) => Number(e.consistency_result[0]!.dir_check.split('/')[2])));
    for (const n of acknowledged) expect(stored.has(n), `upload ${n}`).toBe(true);
    expect(result_list.every((e) => e.consistency_result.length === 30)).toBe(true);

    // no corruption
    await server.close();
    const db = openSqlite(join(mountPoint, 'data', 'sms.sqlite'), defaultSqliteDriver());
    const check = db.prepare('pragma integrity_check').all([]) as { integrity_check: string }[];
    db.close();
    expect(check.map((r) => r.integrity_check)).toEqual(['ok']);
  });
});
