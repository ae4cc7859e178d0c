import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmsClient } from '@sms/client';
import { type ServerProcess, startServerProcess } from '@sms/server/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../test-support/cli.js';
import { reportFindings } from '../test-support/report.js';
import { type Tree, treePair } from '../test-support/tree.js';

const PASSWORD = 'findings-e2e-password';
const credentials = { SMS_USERNAME: 'admin', SMS_PASSWORD: PASSWORD, SMS_PROJECT: 'default' };

let dataDir: string;
let server: ServerProcess;
let client: SmsClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sms-findings-e2e-'));
  server = await startServerProcess({
    SMS_DATA_DIR: dataDir,
    SMS_ADMIN_PASSWORD: PASSWORD,
    SMS_LOG_LEVEL: 'warn',
  });
  client = new SmsClient({
    endpoint: server.url,
    credentials: { user: 'admin', password: PASSWORD, project: 'default' },
  });
});
afterAll(async () => {
  await server.stop().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
});

/** 35 directories (two uploads of at most 30 in one run); d00 and d34 differ in every way a file can. */
function trees(): { source: Tree; target: Tree } {
  const source: Tree = {};
  const target: Tree = {};
  for (let i = 0; i < 35; i++) {
    const name = `d${String(i).padStart(2, '0')}`;
    source[name] = { same: 'same' };
    target[name] = { same: 'same' };
  }
  source.d00 = {
    same: 'same',
    changed: 'the source bytes',
    gone: 'only at the source',
    'with space and ünïcödé': 'x',
    lost: { a: '1', b: '2', deeper: { c: '3' } },
    kind: 'a file at the source',
    symlink: { link: 'somewhere' },
  };
  target.d00 = {
    same: 'same',
    changed: 'other bytes, longer than the source',
    surplus: 'only at the target',
    kind: { inside: 'a directory at the target' },
    symlink: { link: 'elsewhere' },
  };
  source.d34 = { same: 'same', late: 'in the second upload' };
  return { source, target };
}

function verify(pair: { src: string; dst: string; dir: string }, task: string, extra: string[] = []) {
  const dirs = Array.from({ length: 35 }, (_, i) => ['--dir', `d${String(i).padStart(2, '0')}`]).flat();
  return runAgent(
    [
      'verify',
      '--source',
      pair.src,
      '--target',
      pair.dst,
      ...dirs,
      '--upload',
      '--task',
      task,
      '--endpoint',
      server.url,
      '--spool-dir',
      join(pair.dir, 'spool'),
      ...extra,
    ],
    credentials,
  );
}

async function text(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe('findings end to end: agent, real server, API, rsync', () => {
  it('gives through the API exactly the agent’s own report, one run over two uploads, and a re-sync list that rsync makes whole', async () => {
    const { source, target } = trees();
    const pair = treePair(source, target);
    try {
      const { id } = await client.createTask({ name: 'findings-e2e' });
      const report = join(pair.dir, 'report.ndjson');
      const run = await verify(pair, id, ['--report', report]);
      expect(run.code, run.stderr).toBe(1);
      // the agent's report, as (dir, category, path)
      const reported = reportFindings(report) as { dir_check: string; category: string; path: string }[];
      expect(reported.length).toBeGreaterThan(6);
      const key = (f: { dir_check: string; category: string; path: string }) =>
        `${f.dir_check}\t${f.category}\t${f.path}`;
      const fromApi = [];
      for await (const f of client.findings(id, {})) fromApi.push(f);
      expect(new Set(fromApi.map(key))).toEqual(new Set(reported.map(key)));
      expect(fromApi).toHaveLength(reported.length);
      // one run: two uploads of counts, every directory's findings of the same run
      const { result_list } = await client.showConsistencyResult(id);
      expect(result_list).toHaveLength(2);
      expect(new Set(fromApi.map((f) => f.run_id)).size).toBe(1);
      const dirs = new Set(fromApi.map((f) => f.dir_check));
      expect([...dirs].some((d) => d.endsWith('d34'))).toBe(true);
      // the CSV: a header and one row per finding
      const csv = (await text(await client.exportFindings(id, { format: 'csv' })))
        .toString()
        .trim()
        .split('\r\n');
      expect(csv[0]).toBe('dir_check,category,path,path_base64,reason,run_id,finished_time');
      expect(csv).toHaveLength(reported.length + 1);
      // per directory: remove what is extra, copy again what the re-sync list names, verify again
      for (const dir of dirs) {
        const rel = dir.slice(dir.lastIndexOf('/') + 1);
        const list = await text(
          await client.exportFindings(id, { format: 'files-from', dirCheck: dir, null: true }),
        );
        const expected = reported
          .filter((f) => f.dir_check === dir && (f.category === 'different' || f.category === 'missing'))
          .map((f) => f.path)
          .sort();
        expect(list.toString().split('\0').filter(Boolean).sort()).toEqual(expected);
        const listFile = join(pair.dir, `${rel}.from0`);
        writeFileSync(listFile, list);
        for (const f of reported.filter((r) => r.dir_check === dir && r.category === 'extra'))
          rmSync(join(pair.dst, rel, f.path), { recursive: true, force: true });
        execFileSync('rsync', [
          '-a',
          '-r',
          '--from0',
          `--files-from=${listFile}`,
          `${pair.src}/${rel}/`,
          `${pair.dst}/${rel}/`,
        ]);
      }
      const again = await verify(pair, id);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      // the newer run's results replace the findings: none are left
      expect((await client.listFindings(id, {})).findings).toEqual([]);
    } finally {
      pair.cleanup();
    }
  });

  it('delivers a run’s counts and findings exactly once across a server outage and flush', async () => {
    const pair = treePair({ data: { a: '1', b: '2', c: '3' } }, { data: { a: '1' } });
    const downDir = mkdtempSync(join(tmpdir(), 'sms-findings-outage-'));
    let other: ServerProcess | undefined = await startServerProcess({
      SMS_DATA_DIR: downDir,
      SMS_ADMIN_PASSWORD: PASSWORD,
      SMS_LOG_LEVEL: 'warn',
    });
    try {
      const api = new SmsClient({
        endpoint: other.url,
        credentials: { user: 'admin', password: PASSWORD, project: 'default' },
      });
      const { id } = await api.createTask({ name: 'outage' });
      const endpoint = other.url;
      await other.stop();
      other = undefined;
      const spool = join(pair.dir, 'spool');
      const args = [
        '--source',
        pair.src,
        '--target',
        pair.dst,
        '--upload',
        '--task',
        id,
        '--spool-dir',
        spool,
      ];
      const down = await runAgent(['verify', ...args, '--endpoint', endpoint, '--retries', '0'], credentials);
      expect(down.code, down.stderr).toBe(3);
      other = await startServerProcess({
        SMS_DATA_DIR: downDir,
        SMS_ADMIN_PASSWORD: PASSWORD,
        SMS_LOG_LEVEL: 'warn',
      });
      const up = new SmsClient({
        endpoint: other.url,
        credentials: { user: 'admin', password: PASSWORD, project: 'default' },
      });
      const flushed = await runAgent(['flush', '--endpoint', other.url, '--spool-dir', spool], credentials);
      expect(flushed.code, flushed.stderr).toBe(0);
      // a second flush finds nothing left: nothing is sent twice
      const again = await runAgent(['flush', '--endpoint', other.url, '--spool-dir', spool], credentials);
      expect(again.code, again.stderr).toBe(0);
      expect((await up.showConsistencyResult(id)).result_list).toHaveLength(1);
      const paths = [];
      for await (const f of up.findings(id, {})) paths.push(`${f.category} ${f.path}`);
      expect(paths.sort()).toEqual(['missing data/b', 'missing data/c']);
    } finally {
      await other?.stop().catch(() => {});
      rmSync(downDir, { recursive: true, force: true });
      pair.cleanup();
    }
  });
});
