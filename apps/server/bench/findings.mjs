#!/usr/bin/env node
// Findings benchmark (issue 13): a run with 1,000,000 findings (a target missing a directory of a
// million files) uploaded to the server on SQLite as one gzip NDJSON stream, as the agent sends
// them; then the findings pages and the CSV export. Prints and checks:
//   - the upload's time (target: at most 30 s) and the server's peak RSS growth during it (at most 100 MiB);
//   - the p50 of the first page and of a deep page reached by marker (at most 50 ms each);
//   - the CSV export's time to first byte (at most 200 ms), its rows, and the RSS growth during it.
// Writes bench/results/findings-latest.json.
//
//   node apps/server/bench/findings.mjs        (BENCH_FINDINGS=1000000 to change the count)
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { ADMIN_PASSWORD, post, signIn, start } from './support.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const FINDINGS = Number(process.env.BENCH_FINDINGS ?? 1_000_000);
const SAMPLES = 50;
const SERVER = join(here, '..', 'bin', 'sms-server.js');
const DIR = '/srv/data';

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

/** The findings of a directory of FINDINGS files missing at the target, as NDJSON lines. */
function* lines() {
  for (let i = 0; i < FINDINGS; i++) {
    const path = `lost/${String(i >> 10).padStart(4, '0')}/file-${String(i).padStart(7, '0')}.dat`;
    yield `{"dir_check":"${DIR}","category":"missing","path":"${path}","reason":"not at the target"}\n`;
  }
}

function uploadFindings(url, path, headers) {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip', ...headers },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    Readable.from(lines(), { objectMode: false })
      .pipe(createGzip({ level: 1 }))
      .pipe(req);
  });
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

const dataDir = mkdtempSync(join(tmpdir(), 'sms-bench-findings-'));
const server = await start(SERVER, ['serve'], { SMS_ADMIN_PASSWORD: ADMIN_PASSWORD, SMS_DATA_DIR: dataDir });
try {
  const token = await signIn(server.url);
  const auth = { 'x-auth-token': token };
  const task = JSON.parse((await post(server.url, '/v3/tasks', auth, '{"name":"findings"}')).text).id;
  const runId = randomUUID();
  const counts = await post(
    server.url,
    `/v3/tasks/${task}/consistency-result`,
    { ...auth, 'x-sms-run-id': runId },
    JSON.stringify({
      consistency_result: [
        {
          dir_check: DIR,
          num_total_files: FINDINGS,
          num_different_files: 0,
          num_target_miss_files: FINDINGS,
          num_target_more_files: 0,
        },
      ],
    }),
  );
  if (counts.status !== 200) throw new Error(`counts: ${counts.status} ${counts.text}`);

  const pid = server.child.pid;
  const before = rssOf(pid);
  const stopWatch = watchRss(pid);
  const started = performance.now();
  const up = await uploadFindings(server.url, `/v3/tasks/${task}/consistency-result/files`, {
    ...auth,
    'x-sms-run-id': runId,
    'idempotency-key': randomUUID(),
  });
  const uploadSeconds = (performance.now() - started) / 1000;
  const uploadGrowth = stopWatch() - before;
  if (up.status !== 200) throw new Error(`findings: ${up.status} ${up.text}`);
  if (JSON.parse(up.text).stored !== FINDINGS) throw new Error(`stored: ${up.text}`);

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
    `upload of ${FINDINGS} findings: ${figures.upload_seconds} s (target <= 30 s: ${verdict(uploadSeconds <= 30)}), server RSS +${figures.upload_rss_growth_mib} MiB (target <= 100: ${verdict(uploadGrowth <= 100 * MiB)})`,
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
  rmSync(dataDir, { recursive: true, force: true });
}
