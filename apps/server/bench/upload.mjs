#!/usr/bin/env node
// Upload benchmark: requests per second and p99 latency of a 30-result upload
// (POST /v3/tasks/{task_id}/consistency-result, each with its own
// Idempotency-Key) against the server on SQLite and on PostgreSQL, beside a
// bare Hono route that returns {}, all driven by the same load generator in
// this process: every uploader to its own task (as agents do), and all of them
// to one task (the worst case: one task's uploads are written one after the
// other). Prints the ratios and writes bench/results/upload-latest.json.
//
//   node apps/server/bench/upload.mjs            (BENCH_SECONDS=10 BENCH_CONCURRENCY=32 to change)
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ADMIN_PASSWORD, agent, createDatabase, post, signIn, start } from './support.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

const body = JSON.stringify({
  consistency_result: Array.from({ length: 30 }, (_, i) => ({
    dir_check: `/srv/data/volume-${String(i).padStart(2, '0')}/projects/archive`,
    num_total_files: 120_000 + i,
    num_different_files: i,
    num_target_miss_files: 2 * i,
    num_target_more_files: 3 * i,
  })),
});

async function prepare(url) {
  const token = await signIn(url);
  const taskIds = [];
  for (let i = 0; i < CONCURRENCY; i++) {
    const task = await post(
      url,
      '/v3/tasks',
      { 'x-auth-token': token },
      JSON.stringify({ name: `bench-${i}` }),
    );
    taskIds.push(JSON.parse(task.text).id);
  }
  return { token, taskIds };
}

async function load(url, headersOf, seconds) {
  const latencies = [];
  let ok = 0;
  let failed = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      while (performance.now() < deadline) {
        const started = performance.now();
        const res = await post(url, headersOf.path(worker), headersOf.headers(), body);
        latencies.push(performance.now() - started);
        if (res.status === 200) ok++;
        else failed++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    requests: latencies.length,
    ok,
    failed,
    rps: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
  };
}

async function measure(name, server, prepared, oneTask = false) {
  const target = {
    path: (worker) => `/v3/tasks/${prepared.taskIds[oneTask ? 0 : worker]}/consistency-result`,
    headers: () => ({
      ...(prepared.token ? { 'x-auth-token': prepared.token } : {}),
      'idempotency-key': randomUUID(),
    }),
  };
  await load(server.url, target, 1); // warm-up
  const result = await load(server.url, target, SECONDS);
  console.log(
    `${name.padEnd(22)} ${result.rps.toFixed(0).padStart(7)} req/s   p50 ${result.p50.toFixed(2).padStart(7)} ms   p99 ${result.p99.toFixed(2).padStart(7)} ms   ${result.ok} ok, ${result.failed} failed`,
  );
  return result;
}

const results = {};
console.log(`30-result uploads, ${CONCURRENCY} concurrent, ${SECONDS} s each, Node ${process.version}\n`);

const bare = await start(join(here, 'bare-server.mjs'), [], {});
results.bare = await measure('bare Hono {}', bare, { taskIds: Array(CONCURRENCY).fill('bench') });
await bare.stop();

const dataDir = mkdtempSync(join(tmpdir(), 'sms-bench-'));
const sqlite = await start(join(here, '..', 'bin', 'sms-server.js'), ['serve'], {
  SMS_DATA_DIR: dataDir,
  SMS_ADMIN_PASSWORD: ADMIN_PASSWORD,
});
const sqlitePrepared = await prepare(sqlite.url);
results.sqlite = await measure('SQLite, own tasks', sqlite, sqlitePrepared);
results.sqliteOneTask = await measure('SQLite, one task', sqlite, sqlitePrepared, true);
await sqlite.stop();
rmSync(dataDir, { recursive: true, force: true });

const database = await createDatabase(pg);
const postgres = await start(join(here, '..', 'bin', 'sms-server.js'), ['serve'], {
  DATABASE_URL: database.url,
  SMS_ADMIN_PASSWORD: ADMIN_PASSWORD,
});
const postgresPrepared = await prepare(postgres.url);
results.postgres = await measure('PostgreSQL, own tasks', postgres, postgresPrepared);
results.postgresOneTask = await measure('PostgreSQL, one task', postgres, postgresPrepared, true);
await postgres.stop();
await database.drop();
agent.destroy();

const ratio = (r) =>
  `${((r.rps / results.bare.rps) * 100).toFixed(1)}% of bare throughput, p99 ${(r.p99 / results.bare.p99).toFixed(1)}x bare`;
console.log(`\nSQLite, own tasks:     ${ratio(results.sqlite)}`);
console.log(`SQLite, one task:      ${ratio(results.sqliteOneTask)}`);
console.log(`PostgreSQL, own tasks: ${ratio(results.postgres)}`);
console.log(`PostgreSQL, one task:  ${ratio(results.postgresOneTask)}`);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'upload-latest.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, seconds: SECONDS, concurrency: CONCURRENCY, results }, null, 2)}\n`,
);
