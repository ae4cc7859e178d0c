import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENT_BIN, runAgent } from '../test-support/cli.js';
import { startRunServer } from '../test-support/findings-server.js';
import { reportFindings } from '../test-support/report.js';
import { treePair } from '../test-support/tree.js';

// The findings endpoint is not in sms-server yet: delivery is tested against a stand-in that
// answers as its contract says (issue 13); the counts' e2e tests use the real server.
const token = { SMS_TOKEN: 'token' };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function workspace() {
  const pair = treePair(
    { data: { same: 's', changed: 'old', gone: 'g', sub: { deep: 'd' } } },
    { data: { same: 's', changed: 'new!', more: 'm' } },
  );
  cleanups.push(pair.cleanup);
  return { ...pair, spool: join(pair.dir, 'spool') };
}

const verify = (w: ReturnType<typeof workspace>, url: string, extra: string[] = [], env = {}) =>
  runAgent(
    [
      'verify',
      '--source',
      w.src,
      '--target',
      w.dst,
      '--dir',
      'data',
      '--upload',
      '--task',
      'task-1',
      '--endpoint',
      url,
      '--spool-dir',
      w.spool,
      '--retries',
      '0',
      '--timeout',
      '2000',
      ...extra,
    ],
    { ...token, ...env },
  );

describe('verify --upload with findings', () => {
  it('uploads the counts, then the findings of the run: the --report lines, with one run id', async () => {
    const server = await startRunServer();
    cleanups.push(server.close);
    const w = workspace();
    const report = join(w.dir, 'report.ndjson');
    const run = await verify(w, server.url, ['--report', report, '--json']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('findings: 4 lines delivered');
    expect(server.stored.map((s) => s.kind)).toEqual(['counts', 'findings']);
    const [counts, findings] = server.stored;
    expect(counts!.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(findings!.runId).toBe(counts!.runId);
    expect(findings!.key).not.toBe(counts!.key);
    const reported = reportFindings(report);
    expect(findings!.lines).toEqual(reported);
    expect(findings!.lines.map((l) => 'category' in l && `${l.category} ${l.path}`).sort()).toEqual([
      'different changed',
      'extra more',
      'missing gone',
      'missing sub/deep',
    ]);
    const upload = JSON.parse(run.stdout).upload;
    expect(upload).toMatchObject({
      status: 'delivered',
      run_id: counts!.runId,
      findings: { kind: 'findings', findings: 4, directories: 1, status: 'delivered', truncated_dirs: [] },
    });
    expect(readdirSync(w.spool)).toEqual([]);
  });

  it('sends a truncation marker instead of the findings beyond the limit, and says so', async () => {
    const server = await startRunServer();
    cleanups.push(server.close);
    const w = workspace();
    const run = await verify(w, server.url, [], { SMS_AGENT_FINDINGS_LIMIT: '2' });
    expect(run.stderr).toMatch(
      /findings: \S+\/data has more than 2 findings in this run: the first 2 are uploaded/,
    );
    const lines = server.stored[1]!.lines;
    expect(lines).toHaveLength(3);
    expect(lines[2]).toEqual({ dir_check: join(w.src, 'data'), truncated: true });
  });

  it('--no-findings uploads the counts only', async () => {
    const server = await startRunServer();
    cleanups.push(server.close);
    const w = workspace();
    const run = await verify(w, server.url, ['--no-findings']);
    expect(run.code).toBe(1);
    expect(server.stored.map((s) => s.kind)).toEqual(['counts']);
  });

  it('spools counts and findings while the server is down; flush delivers the counts, then the findings, once', async () => {
    const down = await startRunServer();
    const port = down.port;
    await down.close();
    const w = workspace();
    const run = await verify(w, `http://127.0.0.1:${port}`, ['--json']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/findings: 4 lines kept in .*sms-agent flush delivers them after the counts/);
    const spooled = readdirSync(w.spool).sort();
    expect(spooled.filter((f) => f.endsWith('.json'))).toHaveLength(2);
    expect(spooled.filter((f) => f.endsWith('.ndjson'))).toHaveLength(1);
    const listed = await runAgent(['spool', 'list', '--spool-dir', w.spool], token);
    expect(listed.stdout).toMatch(/pending {2}task task-1 {2}findings: 4 lines of 1 directory/);

    const server = await startRunServer(port);
    cleanups.push(server.close);
    const flush = await runAgent(['flush', '--endpoint', server.url, '--spool-dir', w.spool], token);
    expect(flush.code).toBe(0);
    expect(flush.stderr).toContain('uploads: 2 delivered, 0 spooled, 0 refused');
    expect(server.stored.map((s) => s.kind)).toEqual(['counts', 'findings']);
    expect(server.stored[1]!.runId).toBe(server.stored[0]!.runId);
    expect(server.stored[1]!.lines).toHaveLength(4);
    expect(readdirSync(w.spool)).toEqual([]);
    const again = await runAgent(['flush', '--endpoint', server.url, '--spool-dir', w.spool], token);
    expect(again.stderr).toContain('nothing to deliver');
    expect(server.stored).toHaveLength(2);
  });

  it('holds findings back while their counts wait (a 503), instead of sending them to a 409 and failed/', async () => {
    const down = await startRunServer();
    const port = down.port;
    await down.close();
    const w = workspace();
    await verify(w, `http://127.0.0.1:${port}`);
    const busy = await startRunServer(port, { countsStatus: 503 });
    const flush = await runAgent(
      ['flush', '--endpoint', busy.url, '--spool-dir', w.spool, '--retries', '0'],
      token,
    );
    await busy.close();
    expect(flush.code).toBe(3);
    expect(flush.stderr).toContain('uploads: 0 delivered, 2 spooled, 0 refused');
    expect(busy.stored).toEqual([]);
    expect(existsSync(join(w.spool, 'failed'))).toBe(false);
    const entries = readdirSync(w.spool).filter((f) => f.endsWith('.json'));
    const findings = entries
      .map((f) => JSON.parse(readFileSync(join(w.spool, f), 'utf8')))
      .find((e) => e.kind === 'findings');
    const show = await runAgent(
      ['spool', 'show', findings.idempotency_key.slice(0, 8), '--spool-dir', w.spool],
      token,
    );
    expect(JSON.parse(show.stdout)).toMatchObject({
      kind: 'findings',
      findings: 4,
      status: 'pending',
      run_id: findings.run_id,
    });

    const server = await startRunServer(port);
    cleanups.push(server.close);
    const delivered = await runAgent(['flush', '--endpoint', server.url, '--spool-dir', w.spool], token);
    expect(delivered.code).toBe(0);
    expect(server.stored.map((s) => s.kind)).toEqual(['counts', 'findings']);
  });

  it('uploads nothing and leaves no findings in the spool when interrupted', async () => {
    const server = await startRunServer();
    cleanups.push(server.close);
    const w = workspace();
    const child = spawn(
      process.execPath,
      [
        AGENT_BIN,
        'verify',
        '--source',
        w.src,
        '--target',
        w.dst,
        '--recheck',
        '--recheck-delay',
        '30',
        '--upload',
        '--task',
        'task-1',
        '--endpoint',
        server.url,
        '--spool-dir',
        w.spool,
      ],
      { env: { PATH: process.env.PATH ?? '', HOME: '/tmp', ...token }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        stderr += c;
        // once: a second signal ends the agent at once, as usual
        if (stderr.includes('looking again') && child.signalCode === null && !child.killed)
          child.kill('SIGINT');
      });
      child.once('exit', resolve);
    });
    expect(code).toBe(130);
    expect(server.stored).toEqual([]);
    expect(existsSync(w.spool) ? readdirSync(w.spool) : []).toEqual([]);
  });
});
