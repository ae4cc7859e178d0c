#!/usr/bin/env node
// Dashboard benchmark: how long the server takes to answer the dashboard's
// pages for a project of many tasks, beside its own JSON task list
// (GET /v3/tasks?limit=50, the peer: one page of the same tasks without their
// verdicts), all in this process through the app's request handler, on SQLite
// and on PostgreSQL. Prints p50/p99 and the ratios, and writes
// bench/results/dashboard-latest.json.
//
//   node apps/server/bench/dashboard.mjs     (BENCH_TASKS=10000 BENCH_RUNS=200 to change)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { passwordTokenRequest } from '@sms/domain';
import pg from 'pg';
import { createApp, createMemoryLogger, createServices, Storage } from '../dist/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const TASKS = Number(process.env.BENCH_TASKS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const HISTORY = 2_000;
const WIDE = 5_000;
const PG_URL = process.env.SMS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PASSWORD = 'bench-admin-password';

const dirs = (n, bad) =>
  Array.from({ length: n }, (_, i) => ({
    dir_check: `/srv/data/${i}`,
    num_total_files: 10_000,
    num_different_files: bad ? i : 0,
    num_target_miss_files: bad ? 2 * i : 0,
    num_target_more_files: bad ? 3 * i : 0,
  }));

/**
 * A project of TASKS tasks: a third never verified, the others with two uploads each; one task
 * with HISTORY uploads of 30 directories; one with WIDE directories.
 */
async function seed(storage) {
  const services = await createServices(storage, { tokenTtlSeconds: 3600 });
  await services.users.addUser('admin', PASSWORD, 'default', 'admin', { createProject: true });
  const project = await storage.findProject({ name: 'default' });
  const ids = [];
  for (let start = 0; start < TASKS; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, TASKS - start) }, (_, k) =>
      storage.createTask(
        { projectId: project.id, name: `host-${start + k}`, type: 'MIGRATE_FILE' },
        start + k,
      ),
    );
    ids.push(...(await Promise.all(batch)));
  }
  const upload = (taskId, time, results) =>
    storage.storeUpload({
      taskId,
      finishedTime: time,
      checkResult: results.some(
        (r) => r.num_different_files + r.num_target_miss_files + r.num_target_more_files > 0,
      )
        ? 'INCONSISTENT'
        : 'CONSISTENT',
      idempotencyKey: undefined,
      requestHash: 'h',
      results,
    });
  const verified = ids.filter((_, i) => i % 3 !== 0);
  for (let start = 0; start < verified.length; start += 1000) {
    await Promise.all(
      verified
        .slice(start, start + 1000)
        .flatMap((id, k) => [
          upload(id, 1000 + k, dirs(3, true)),
          upload(id, 2000 + k, dirs(3, k % 2 === 0)),
        ]),
    );
  }
  const busy = ids[1];
  for (let start = 0; start < HISTORY; start += 500) {
    await Promise.all(
      Array.from({ length: 500 }, (_, k) =>
        upload(busy, 10_000 + start + k, dirs(30, (start + k) % 4 !== 0)),
      ),
    );
  }
  // one task of WIDE directories (a server verified directory by directory), in uploads of 30
  const wide = ids[2];
  for (let start = 0; start < WIDE; start += 30) {
    await upload(
      wide,
      20_000 + start,
      Array.from({ length: Math.min(30, WIDE - start) }, (_, k) => ({
        dir_check: `/home/user-${start + k}`,
        num_total_files: 1_000,
        num_different_files: (start + k) % 7 === 0 ? 1 : 0,
        num_target_miss_files: 0,
        num_target_more_files: 0,
      })),
    );
  }
  const app = createApp({ ...services, logger: createMemoryLogger('error') });
  return { app, services, busy, wide };
}

async function session(app) {
  const form = await app.request('/ui/sign-in');
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())[1];
  const res = await app.request('/ui/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `sms_signin=${csrf}` },
    body: new URLSearchParams({ csrf, user: 'admin', password: PASSWORD }).toString(),
  });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sms_session='));
  if (!cookie) throw new Error(`sign-in failed: ${res.status}`);
  return cookie.split(';')[0];
}

async function token(app) {
  const res = await app.request('/v3/auth/tokens', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(passwordTokenRequest({ user: 'admin', password: PASSWORD, project: 'default' })),
  });
  return res.headers.get('x-subject-token');
}

async function time(app, path, headers) {
  const samples = [];
  for (let i = 0; i < RUNS + 10; i++) {
    const started = performance.now();
    const res = await app.request(path, { headers });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 200)}`);
    if (i >= 10) samples.push(performance.now() - started); // the first 10 warm up
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return { p50: Math.round(at(0.5) * 100) / 100, p99: Math.round(at(0.99) * 100) / 100 };
}

async function measure(label, storage) {
  const seeded = performance.now();
  const { app, busy, wide } = await seed(storage);
  console.log(`${label}: seeded ${TASKS} tasks in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);
  const cookie = { cookie: await session(app) };
  const api = await time(app, '/v3/tasks?limit=50', { 'x-auth-token': await token(app) });
  const pages = {
    'task list (worst first)': await time(app, '/ui/tasks', cookie),
    'task list (by last result)': await time(app, '/ui/tasks?sort=last&order=desc', cookie),
    'task list (name filter, verdict)': await time(app, '/ui/tasks?q=host-99&verdict=inconsistent', cookie),
    'task list (page 150)': await time(app, '/ui/tasks?page=150', cookie),
    [`task page (${HISTORY} uploads of 30 dirs)`]: await time(app, `/ui/tasks/${busy}`, cookie),
    [`task page (${WIDE} dirs, first 100)`]: await time(app, `/ui/tasks/${wide}`, cookie),
    [`task page (${WIDE} dirs, page 50)`]: await time(app, `/ui/tasks/${wide}?dirs_page=50`, cookie),
  };
  console.log(`${label}: GET /v3/tasks?limit=50 (peer) p50 ${api.p50} ms, p99 ${api.p99} ms`);
  for (const [name, r] of Object.entries(pages)) {
    console.log(
      `${label}: ${name.padEnd(36)} p50 ${String(r.p50).padStart(7)} ms (${(r.p50 / api.p50).toFixed(1)}x peer), p99 ${String(r.p99).padStart(7)} ms`,
    );
  }
  return { api, pages };
}

const results = {};
const dataDir = mkdtempSync(join(tmpdir(), 'sms-bench-dashboard-'));
const sqlite = await Storage.open({ dataDir });
results.sqlite = await measure('SQLite', sqlite);
await sqlite.close();
rmSync(dataDir, { recursive: true, force: true });

const dbName = `sms_bench_dashboard_${Date.now()}`;
const admin = new pg.Client({ connectionString: PG_URL });
try {
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const dbUrl = new URL(PG_URL);
  dbUrl.pathname = `/${dbName}`;
  const postgres = await Storage.open({ databaseUrl: dbUrl.toString(), dataDir: '' });
  results.postgres = await measure('PostgreSQL', postgres);
  await postgres.close();
  await admin.query(`drop database ${dbName} with (force)`);
} catch (error) {
  console.log(`PostgreSQL skipped: ${error.message}`);
} finally {
  await admin.end().catch(() => {});
}

mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'dashboard-latest.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, tasks: TASKS, runs: RUNS, results }, null, 2)}\n`,
);
