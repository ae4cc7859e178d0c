#!/usr/bin/env node
// Wide-task benchmark: 1,000 uploads of 30 new directories each into one task
// (30,000 directories, as an agent verifying that many sends them), one after
// the other, against the server on SQLite and on PostgreSQL. Prints the mean
// time of the first 100 uploads and of the last 100, and their ratio (the
// target: at most 1.5x, a cost that does not grow with the task's directories);
// writes bench/results/wide-task-latest.json.
//
//   node apps/server/bench/wide-task.mjs         (BENCH_UPLOADS=1000 to change)
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ADMIN_PASSWORD, createDatabase, post, signIn, start } from './support.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 1000);
const WINDOW = Math.max(1, Math.floor(UPLOADS / 10));
const SERVER = join(here, '..', 'bin', 'sms-server.js');

async function run(name, env) {
  const server = await start(SERVER, ['serve'], { SMS_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env });
  try {
    const token = await signIn(server.url);
    const task = await post(server.url, '/v3/tasks', { 'x-auth-token': token }, '{"name":"wide"}');
    const path = `/v3/tasks/${JSON.parse(task.text).id}/consistency-result`;
    const times = [];
    for (let upload = 0; upload < UPLOADS; upload++) {
      const body = JSON.stringify({
        consistency_result: Array.from({ length: 30 }, (_, i) => ({
          dir_check: `/srv/data/batch-${String(upload).padStart(4, '0')}/dir-${String(i).padStart(2, '0')}`,
          num_total_files: 1_000 + i,
          num_different_files: i % 7 === 0 ? 1 : 0,
          num_target_miss_files: 0,
          num_target_more_files: 0,
        })),
      });
      const started = performance.now();
      const res = await post(
        server.url,
        path,
        { 'x-auth-token': token, 'idempotency-key': randomUUID() },
        body,
      );
      times.push(performance.now() - started);
      if (res.status !== 200) throw new Error(`upload ${upload}: ${res.status} ${res.text}`);
    }
    const mean = (list) => list.reduce((sum, t) => sum + t, 0) / list.length;
    const first = mean(times.slice(0, WINDOW));
    const last = mean(times.slice(-WINDOW));
    console.log(
      `${name.padEnd(11)} first ${WINDOW}: ${first.toFixed(2).padStart(7)} ms   last ${WINDOW}: ${last.toFixed(2).padStart(7)} ms   ratio ${(last / first).toFixed(2)}x (target <= 1.5x)`,
    );
    return { first, last, ratio: last / first };
  } finally {
    await server.stop();
  }
}

console.log(
  `${UPLOADS} uploads of 30 new directories into one task, one after the other, Node ${process.version}\n`,
);
const results = {};
const dataDir = mkdtempSync(join(tmpdir(), 'sms-bench-wide-'));
results.sqlite = await run('SQLite', { SMS_DATA_DIR: dataDir });
rmSync(dataDir, { recursive: true, force: true });
const database = await createDatabase(pg);
try {
  results.postgres = await run('PostgreSQL', { DATABASE_URL: database.url });
} finally {
  await database.drop();
}
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'wide-task-latest.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, uploads: UPLOADS, window: WINDOW, results }, null, 2)}\n`,
);
