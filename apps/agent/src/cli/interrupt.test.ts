import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AGENT_BIN } from '../test-support/cli.js';
import { treePair } from '../test-support/tree.js';

// A large verification without a large disk: a sparse file of 16 GiB on each side reads as zeros for
// many seconds (content mode reads every byte), and costs no space. Small differing files come first.
const BIG = 16 * 1024 ** 3;
const small = { 'a-1': 'one', 'a-2': 'two', 'a-3': 'three' };
const pair = treePair({ ...small, 'z-big': '' }, { 'a-1': 'ONE', 'a-2': 'TWO', 'a-3': 'three', 'z-big': '' });
truncateSync(join(pair.src, 'z-big'), BIG);
truncateSync(join(pair.dst, 'z-big'), BIG);
// many directories, each with a sparse file of 2 GiB: worker threads have directories queued when the signal comes
const wideTree: Record<string, { big: string }> = {};
for (let d = 0; d < 16; d++) wideTree[`d${d}`] = { big: '' };
const wide = treePair({}, wideTree);
for (let d = 0; d < 16; d++) truncateSync(join(wide.dst, `d${d}`, 'big'), 2 * 1024 ** 3);
afterAll(() => {
  pair.cleanup();
  wide.cleanup();
});

/**
 * Runs the agent, sends `signal` once it is well into its work (`started` exists: the report or the
 * partial manifest, which the agent opens only after its signal handlers are in place, then 300 ms
 * more), and waits (bounded) for it to end.
 */
function interrupt(
  args: string[],
  signal: NodeJS.Signals,
  started: string,
  env: Record<string, string> = {},
) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; afterSignalMs: number }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, [AGENT_BIN, ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: '/tmp', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      let sentAt = 0;
      const send = setInterval(() => {
        if (!existsSync(started)) return;
        clearInterval(send);
        setTimeout(() => {
          sentAt = Date.now();
          child.kill(signal);
        }, 300);
      }, 20);
      const limit = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`sms-agent ${args.join(' ')} did not stop after ${signal}:\n${stderr}`));
      }, 20_000);
      child.once('exit', (code) => {
        clearInterval(send);
        clearTimeout(limit);
        resolve({ code, stdout, stderr, afterSignalMs: sentAt === 0 ? -1 : Date.now() - sentAt });
      });
    },
  );
}

describe.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)('%s', (signal, status) => {
  it(`mid-verify: stops the workers, uploads nothing, marks the report incomplete, exits ${status}`, async () => {
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const report = join(pair.dir, `report-${signal}.ndjson`);
    const spool = join(pair.dir, `spool-${signal}`);
    try {
      const run = await interrupt(
        [
          'verify',
          '--source',
          pair.src,
          '--target',
          pair.dst,
          '--mode',
          'content',
          '--report',
          report,
          '--upload',
          '--task',
          'a-task',
          '--endpoint',
          endpoint,
          '--spool-dir',
          spool,
        ],
        signal,
        report,
        { SMS_TOKEN: 'token' },
      );
      expect(run.afterSignalMs).toBeGreaterThan(0); // it was still working when the signal came
      expect(run.code).toBe(status);
      expect(run.stderr).toContain(
        `interrupted by ${signal}: the verification did not end, nothing was uploaded`,
      );
      expect(run.stdout).toBe('');
      expect(requests).toBe(0);
      expect(existsSync(spool) ? readdirSync(spool) : []).toEqual([]);
      const lines = readFileSync(report, 'utf8').trim().split('\n');
      expect(JSON.parse(lines.at(-1)!)).toEqual({
        incomplete: true,
        reason: `interrupted by ${signal} before the verification ended: this report lists only what was found until then`,
      });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it(`mid-manifest: leaves no manifest under its name, nor the partial file, exits ${status}`, async () => {
    const output = join(pair.dir, `target-${signal}.manifest.gz`);
    const run = await interrupt(
      ['manifest', pair.dst, '--mode', 'content', '-o', output],
      signal,
      `${output}.partial`,
    );
    expect(run.afterSignalMs).toBeGreaterThan(0);
    expect(run.code).toBe(status);
    expect(run.stderr).toContain(
      `interrupted by ${signal}: the manifest is not complete; nothing was written to ${output}`,
    );
    expect(existsSync(output)).toBe(false);
    expect(existsSync(`${output}.partial`)).toBe(false);
  });

  it(`mid-manifest on worker threads with directories queued: ends them, exits ${status}`, async () => {
    const output = join(wide.dir, `wide-${signal}.ndjson`);
    const run = await interrupt(
      ['manifest', wide.dst, '--mode', 'content', '--workers', '2', '-o', output],
      signal,
      `${output}.partial`,
    );
    expect(run.afterSignalMs).toBeGreaterThan(0);
    expect(run.code, run.stderr).toBe(status);
    expect(run.stderr).toBe(
      `sms-agent: interrupted by ${signal}: the manifest is not complete; nothing was written to ${output}\n`,
    );
    expect(existsSync(output)).toBe(false);
    expect(existsSync(`${output}.partial`)).toBe(false);
  });
});

describe('SIGKILL', () => {
  it('mid-verify: the report lacks its end line, and resync-list says the list may lack paths', async () => {
    const report = join(pair.dir, 'report-SIGKILL.ndjson');
    const run = await interrupt(
      ['verify', '--source', pair.src, '--target', pair.dst, '--mode', 'content', '--report', report],
      'SIGKILL',
      report,
    );
    expect(run.afterSignalMs).toBeGreaterThan(0);
    expect(run.code).toBe(null); // killed: no handler ran, nothing marked the report
    const text = readFileSync(report, 'utf8');
    expect(text).not.toContain('"complete"');
    expect(text).not.toContain('"incomplete"');
    const list = spawnSync(process.execPath, [AGENT_BIN, 'resync-list', report], {
      env: { PATH: process.env.PATH ?? '', HOME: '/tmp' },
      timeout: 60_000,
      encoding: 'utf8',
    });
    expect(list.status).toBe(0);
    expect(list.stderr).toContain(
      'does not end with the line {"complete":true,…} that a verification writes when it ends: it was cut (the agent killed, the machine stopped, the disk full)',
    );
  });
});
