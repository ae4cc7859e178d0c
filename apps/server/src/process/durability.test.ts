import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConsistencyResult, ShowConsistencyResultResponseSchema } from '@sms/domain';
import * as v from 'valibot';
import { afterAll, describe, expect, it } from 'vitest';
import { apiOf } from '../test-support/client.js';
import { runUploaders } from '../test-support/load.js';
import { createTestDatabase } from '../testing/postgres.js';
import { startServerProcess } from '../testing/process.js';

/** Short in CI; LOAD_SECONDS for the longer run. */
const SECONDS = Number(process.env.LOAD_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 16);
const PASSWORD = 'durability-admin-pw';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function storage(kind: 'sqlite' | 'postgres'): Promise<Record<string, string>> {
  if (kind === 'postgres') {
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    return { DATABASE_URL: db.url, SMS_ADMIN_PASSWORD: PASSWORD };
  }
  const dir = mkdtempSync(join(tmpdir(), 'sms-durability-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { SMS_DATA_DIR: dir, SMS_ADMIN_PASSWORD: PASSWORD };
}

/** Every stored entry, by the dir_check that names its upload. */
async function stored(url: string, token: string, taskId: string) {
  const res = await fetch(`${url}/v3/tasks/${taskId}/consistency-result`, {
    headers: { 'x-auth-token': token },
  });
  const body = v.parse(ShowConsistencyResultResponseSchema, await res.json());
  const byName = new Map<string, ConsistencyResult[][]>();
  for (const entry of body.result_list) {
    const name = entry.consistency_result[0]?.dir_check ?? '';
    byName.set(name, [...(byName.get(name) ?? []), entry.consistency_result]);
  }
  return { entries: body.result_list.length, byName };
}

describe.each(['sqlite', 'postgres'] as const)('durability on %s', (kind) => {
  it(`stores exactly the uploads answered 200 under ${CONCURRENCY} concurrent uploaders`, {
    timeout: 120_000,
  }, async () => {
    const env = await storage(kind);
    const server = await startServerProcess(env);
    cleanups.push(() => void server.stop('SIGKILL'));
    const api = apiOf(server.url);
    const token = await api.token('admin', PASSWORD);
    const taskId = await api.createTask(token, 'load');
    const load = await runUploaders({
      url: server.url,
      token,
      taskId,
      concurrency: CONCURRENCY,
      durationMs: SECONDS * 1000,
    });
    console.log(
      `${kind}: ${load.acknowledged.size} uploads answered 200 in ${SECONDS} s, ${load.failures} failed`,
    );
    expect(load.acknowledged.size).toBeGreaterThan(0);
    expect(load.failures).toBe(0);
    expect([...load.otherStatuses]).toEqual([]);
    const { entries, byName } = await stored(server.url, token, taskId);
    expect(entries).toBe(load.acknowledged.size);
    for (const [name, results] of load.acknowledged) expect(byName.get(name)).toEqual([results]);
    expect(await server.stop()).toBe(0);
  });

  it('keeps every acknowledged upload, whole, when the server is killed (SIGKILL) during load', {
    timeout: 120_000,
  }, async () => {
    const env = await storage(kind);
    let server = await startServerProcess(env);
    const api = apiOf(server.url);
    const token = await api.token('admin', PASSWORD);
    const taskId = await api.createTask(token, 'crash');
    const killer = setTimeout(() => server.child.kill('SIGKILL'), (SECONDS * 1000) / 2);
    const load = await runUploaders({
      url: server.url,
      token,
      taskId,
      concurrency: CONCURRENCY,
      durationMs: SECONDS * 1000,
    });
    clearTimeout(killer);
    expect(load.failures).toBeGreaterThan(0); // the kill happened while uploads were in flight
    server = await startServerProcess(env);
    cleanups.push(() => void server.stop('SIGKILL'));
    const again = apiOf(server.url);
    const { entries, byName } = await stored(server.url, await again.token('admin', PASSWORD), taskId);
    console.log(
      `${kind}: ${load.acknowledged.size} acknowledged before SIGKILL, ${entries} stored after restart`,
    );
    // every acknowledged upload is there, once, and whole
    for (const [name, results] of load.acknowledged) expect(byName.get(name), name).toEqual([results]);
    // nothing half-written: every stored entry is exactly one upload that was sent
    for (const [name, versions] of byName) {
      expect(versions).toHaveLength(1);
      expect(versions[0]).toEqual(load.sent.get(name));
    }
    expect(entries).toBeGreaterThanOrEqual(load.acknowledged.size);
    expect(await server.stop()).toBe(0);
  });
});

describe('durability on PostgreSQL with two server processes', () => {
  it('stores every acknowledged upload once and none twice when one of them is killed (SIGKILL) under load and its uploaders retry on the other', {
    timeout: 120_000,
  }, async () => {
    const env = await storage('postgres');
    const doomed = await startServerProcess(env);
    const survivor = await startServerProcess(env);
    cleanups.push(() => void doomed.stop('SIGKILL'));
    cleanups.push(() => void survivor.stop('SIGKILL'));
    // one token serves both: they share the database, so its signing key
    const token = await apiOf(doomed.url).token('admin', PASSWORD);
    const taskId = await apiOf(survivor.url).createTask(token, 'two-instances');
    const killer = setTimeout(() => doomed.child.kill('SIGKILL'), (SECONDS * 1000) / 2);
    const load = await runUploaders({
      url: doomed.url,
      urls: [doomed.url, survivor.url],
      failoverUrl: survivor.url,
      token,
      taskId,
      concurrency: CONCURRENCY,
      durationMs: SECONDS * 1000,
    });
    clearTimeout(killer);
    // the kill happened while uploads were in flight, and those were sent again to the survivor
    expect(load.failedOver).toBeGreaterThan(0);
    expect([...load.otherStatuses]).toEqual([]);
    const { entries, byName } = await stored(survivor.url, token, taskId);
    console.log(
      `postgres, two instances: ${load.acknowledged.size} acknowledged, ${load.failedOver} sent again after SIGKILL, ${entries} stored`,
    );
    // every acknowledged upload is there, once, and whole
    for (const [name, results] of load.acknowledged) expect(byName.get(name), name).toEqual([results]);
    // none twice (a retry of one the killed server had committed is recognised by its key)
    for (const [name, versions] of byName) {
      expect(versions, name).toHaveLength(1);
      expect(versions[0]).toEqual(load.sent.get(name));
    }
    expect(entries).toBeGreaterThanOrEqual(load.acknowledged.size);
    expect(await survivor.stop()).toBe(0);
  });
});
