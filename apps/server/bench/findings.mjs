#!/usr/bin/env node
// Findings benchmark (issue 13): a run with 1,000,000 findings (a target missing a directory of a
// million files): the real agent verifies the tree while the server is down (counts and findings
// go to its spool), then `sms-agent flush` uploads them to the server on SQLite; then the findings
// pages and the CSV export. Prints and checks:
//   - the flush's time, agent start to the server's last commit (target: at most 30 s), and the
//     server's peak RSS growth during it (at most 100 MiB);
//   - the p50 of the first page and of a deep page reached by marker (at most 50 ms each);
//   - the CSV export's time to first byte (at most 200 ms), its rows, and the RSS growth during it.
// Writes bench/results/findings-latest.json.
//
//   node apps/server/bench/findings.mjs        (BENCH_FINDINGS=1000000 to change the count; needs the
//   agent built too: pnpm bench:findings builds both)
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_PASSWORD, post, signIn, start } from './support.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const FINDINGS = Number(process.env.BENCH_FINDINGS ?? 1_000_000);
const SAMPLES = 50;
const SERVER = join(here, '..', 'bin', 'sms-server.js');
const AGENT = join(here, '..', '..', 'agent', 'bin', 'sms-agent.js');

/** The server's resident memory, from /proc (bytes). */
function rssOf(pid) {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** Samples a process's RSS every 20 ms until stopped; resolves with the peak. */
function watchRss(pid) {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {}
  }, 20);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssOf(pid));
  };
}

/** A source of FINDINGS empty files under lost/ (1,000 to a directory) and a target without lost/. */
function makeTrees(root) {
  const src = join(root, 'src');
  const dst = join(root, 'dst');
  mkdirSync(join(src, 'kept'), { recursive: true });
  mkdirSync(join(dst, 'kept'), { recursive: true });
  for (let d = 0; d * 1000 < FINDINGS; d++) {
    const dir = join(src, 'lost', String(d).padStart(4, '0'));
    mkdirSync(dir, { recursive: true });
    for (let f = d * 1000; f < Math.min(FINDINGS, (d + 1) * 1000); f++)
      closeSync(openSync(join(dir, `file-${String(f).padStart(7, '0')}.dat`), 'w'));
  }
  return { src, dst };
}

/** Runs the built agent with only the given environment; throws unless it exits with one of `codes`. */
function agent(args, env, codes) {
  const started = performance.now();
  const run = spawnSync(process.execPath, [AGENT, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (!codes.includes(run.status)) throw new Error(`sms-agent ${args[0]}: exit ${run.status}\n${run.stderr}`);
  return { ...run, seconds: (performance.now() - started) / 1000 };
}

function get(url, path, headers) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(`${url}${path}`, { headers }, (res) => {
      let first;
      let bytes = 0;
      let rows = 0;
      const chunks = [];
      res.on('data', (c) => {
        first ??= performance.now() - started;
        bytes += c.length;
        for (const byte of c) if (byte === 0x0a) rows++;
        if (!headers.accept) chunks.push(c);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          ms: performance.now() - started,
          first,
          bytes,
          rows,
          text: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const percentile = (list, p) => [...list].sort((a, b) => a - b)[Math.floor((list.length - 1) * p)];

const work = mkdtempSync(join(tmpdir(), 'sms-bench-findings-'));
const dataDir = join(work, 'data');
const env = { SMS_ADMIN_PASSWORD: ADMIN_PASSWORD, SMS_DATA_DIR: dataDir };
const madeAt = performance.now();
const { src, dst } = makeTrees(work);
console.log(`made a source of ${FINDINGS} files in ${((performance.now() - madeAt) / 1000).toFixed(1)} s`);
let server = await start(SERVER, ['serve'], env);
try {
  const token = await signIn(server.url);
  const auth = { 'x-auth-token': token };
  const task = JSON.parse((await post(server.url, '/v3/tasks', auth, '{"name":"findings"}')).text).id;
  // the agent verifies while the server is down: its counts and findings wait in the spool
  const down = server.url;
  await server.stop();
  const credentials = { SMS_USERNAME: 'admin', SMS_PASSWORD: ADMIN_PASSWORD, SMS_PROJECT: 'default' };
  const spool = join(work, 'spool');
  const verified = agent(
    [
      'verify',
      '--source',
      src,
      '--target',
      dst,
      '--upload',
      '--task',
      task,
      '--endpoint',
      down,
      '--spool-dir',
      spool,
      '--retries',
      '0',
    ],
    credentials,
    [3],
  );
  console.log(`sms-agent verify (server down, all spooled): ${verified.seconds.toFixed(1)} s`);
  server = await start(SERVER, ['serve'], env);
  const pid = server.child.pid;
  const before = rssOf(pid);
  const stopWatch = watchRss(pid);
  const flushed = agent(['flush', '--endpoint', server.url, '--spool-dir', spool], credentials, [0]);
  const uploadSeconds = flushed.seconds;
  const uploadGrowth = stopWatch() - before;
  // the run's counts, then its findings
  if (!/uploads: 2 delivered, 0 spooled, 0 refused/.test(flushed.stderr))
    throw new Error(`flush did not deliver counts and findings: ${flushed.stderr}`);
  const authAgain = { 'x-auth-token': await signIn(server.url) };
  Object.assign(auth, authAgain);
  const rows = JSON.parse(
    (await get(server.url, `/v3/tasks/${task}/consistency-result/files?limit=1`, auth)).text,
  );
  if (!rows.findings?.length) throw new Error(`no findings stored: ${JSON.stringify(rows)}`);

  const base = `/v3/tasks/${task}/consistency-result/files`;
  const firstTimes = [];
  for (let i = 0; i < SAMPLES; i++) firstTimes.push((await get(server.url, `${base}?limit=100`, auth)).ms);
  // a deep page: walk by marker (1,000 a page) to 90% of the list, then time its next page of 100
  let marker;
  const deepAt = Math.floor(FINDINGS * 0.9);
  for (let seen = 0; seen < deepAt; seen += 1000) {
    const page = JSON.parse(
      (await get(server.url, `${base}?limit=1000${marker ? `&marker=${marker}` : ''}`, auth)).text,
    );
    marker = page.next_marker;
  }
  const deepTimes = [];
  let deepFirst;
  for (let i = 0; i < SAMPLES; i++) {
    const res = await get(server.url, `${base}?limit=100&marker=${marker}`, auth);
    deepTimes.push(res.ms);
    deepFirst ??= JSON.parse(res.text).findings[0]?.path;
  }

  const csvBefore = rssOf(pid);
  const stopCsv = watchRss(pid);
  const csv = await get(server.url, base, { ...auth, accept: 'text/csv' });
  const csvGrowth = stopCsv() - csvBefore;

  const MiB = 1024 * 1024;
  const figures = {
    date: new Date().toISOString(),
    findings: FINDINGS,
    agent_verify_seconds: Number(verified.seconds.toFixed(2)),
    upload_seconds: Number(uploadSeconds.toFixed(2)),
    upload_rss_growth_mib: Number((uploadGrowth / MiB).toFixed(1)),
    first_page_p50_ms: Number(percentile(firstTimes, 0.5).toFixed(2)),
    deep_page_p50_ms: Number(percentile(deepTimes, 0.5).toFixed(2)),
    deep_page_first_path: deepFirst,
    csv_first_byte_ms: Number(csv.first.toFixed(1)),
    csv_seconds: Number((csv.ms / 1000).toFixed(2)),
    csv_rows: csv.rows - 1,
    csv_rss_growth_mib: Number((csvGrowth / MiB).toFixed(1)),
  };
  const verdict = (ok) => (ok ? 'ok' : 'MISSED');
  console.log(
    `sms-agent flush of ${FINDINGS} findings (and their counts): ${figures.upload_seconds} s (target <= 30 s: ${verdict(uploadSeconds <= 30)}), server RSS +${figures.upload_rss_growth_mib} MiB (target <= 100: ${verdict(uploadGrowth <= 100 * MiB)})`,
  );
  console.log(
    `pages of 100: first p50 ${figures.first_page_p50_ms} ms, deep (at ${deepAt}, by marker) p50 ${figures.deep_page_p50_ms} ms (target <= 50 ms: ${verdict(figures.first_page_p50_ms <= 50 && figures.deep_page_p50_ms <= 50)})`,
  );
  console.log(
    `CSV export: first byte ${figures.csv_first_byte_ms} ms (target <= 200 ms: ${verdict(csv.first <= 200)}), ${figures.csv_rows} rows in ${figures.csv_seconds} s, server RSS +${figures.csv_rss_growth_mib} MiB`,
  );
  if (csv.rows - 1 !== FINDINGS) throw new Error(`CSV has ${csv.rows - 1} rows, not ${FINDINGS}`);
  const results = join(here, 'results');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'findings-latest.json'), `${JSON.stringify(figures, null, 2)}\n`);
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
