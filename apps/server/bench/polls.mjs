#!/usr/bin/env node
// Uploads while a fleet's daemons long-poll for verification requests: 8 uploaders of 30 results
// for BENCH_SECONDS (6), first with no daemon polling, then with BENCH_POLLERS (500) long polls
// open (`GET /v3/consistency-checks?wait=20`, each under its own agent name), on SQLite or, with
// BENCH_PG=1, PostgreSQL (SMS_TEST_PG_URL), where it also counts the database's commits a second.
// Prints requests per second, p50 and p99 of the uploads and the server's CPU.
//
//   node apps/server/bench/polls.mjs
//   BENCH_PG=1 node apps/server/bench/polls.mjs
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ADMIN_PASSWORD, createDatabase, post, signIn, start } from './support.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const POLLERS = Number(process.env.BENCH_POLLERS ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const UPLOADERS = 8;
const body = JSON.stringify({
  consistency_result: Array.from({ length: 30 }, (_, i) => ({
    dir_check: `/srv/data/volume-${i}`,
    num_total_files: 100 + i,
    num_different_files: 0,
    num_target_miss_files: 0,
    num_target_more_files: 0,
  })),
});
function get(pollAgent, url, path, headers) {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { agent: pollAgent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}
const cpuOf = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

async function run(pollers) {
  const pollAgent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const dataDir = mkdtempSync(join(tmpdir(), 'sms-bench-polls-'));
  const database = process.env.BENCH_PG === '1' ? await createDatabase(pg) : undefined;
  const server = await start(join(here, '..', 'bin', 'sms-server.js'), ['serve'], {
    SMS_DATA_DIR: dataDir,
    ...(database ? { DATABASE_URL: database.url } : {}),
    SMS_ADMIN_PASSWORD: ADMIN_PASSWORD,
    SMS_LOG_LEVEL: 'warn',
  });
  const token = await signIn(server.url);
  const tasks = [];
  for (let i = 0; i < UPLOADERS; i++)
    tasks.push(
      JSON.parse(
        (await post(server.url, '/v3/tasks', { 'x-auth-token': token }, JSON.stringify({ name: `t${i}` })))
          .text,
      ).id,
    );
  let stop = false;
  const polling = Array.from({ length: pollers }, async (_, i) => {
    while (!stop)
      await get(pollAgent, server.url, `/v3/consistency-checks?wait=20&agent=host-${i}`, {
        'x-auth-token': token,
      });
  });
  // every poll has made its first look (its own read) and waits
  await new Promise((r) => setTimeout(r, 3000));
  const commits = async () => {
    if (!database) return 0;
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query(
      'select xact_commit from pg_stat_database where datname = current_database()',
    );
    await client.end();
    return Number(rows[0].xact_commit);
  };
  const commits0 = await commits();
  const cpu0 = cpuOf(server.child.pid);
  const latencies = [];
  const deadline = performance.now() + SECONDS * 1000;
  await Promise.all(
    tasks.map(async (task) => {
      while (performance.now() < deadline) {
        const t = performance.now();
        const res = await post(
          server.url,
          `/v3/tasks/${task}/consistency-result`,
          { 'x-auth-token': token },
          body,
        );
        if (res.status !== 200) throw new Error(`upload: ${res.status} ${res.text}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const cpu = cpuOf(server.child.pid) - cpu0;
  // the statistics collector reports a backend's counts when its transaction ends, at most every 0.5 s
  await new Promise((r) => setTimeout(r, 1000));
  const committed = (await commits()) - commits0;
  stop = true;
  latencies.sort((a, b) => a - b);
  // the stopping server answers the polls waiting at once
  await server.stop();
  await Promise.allSettled(polling);
  pollAgent.destroy();
  rmSync(dataDir, { recursive: true, force: true });
  await database?.drop();
  return {
    pollers,
    rps: latencies.length / SECONDS,
    p50: latencies[Math.floor(latencies.length / 2)],
    p99: latencies[Math.floor(latencies.length * 0.99)],
    serverCpuPerSecond: cpu / SECONDS,
    commitsPerSecond: committed / (SECONDS + 1),
  };
}
for (const n of [0, POLLERS]) {
  const r = await run(n);
  console.log(
    `${String(r.pollers).padStart(4)} polling daemons: uploads ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, server CPU ${r.serverCpuPerSecond.toFixed(2)} s/s${process.env.BENCH_PG === '1' ? `, PostgreSQL commits ${r.commitsPerSecond.toFixed(0)}/s` : ''}`,
  );
}
process.exit(0);
