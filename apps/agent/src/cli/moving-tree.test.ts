import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AGENT_BIN } from '../test-support/cli.js';
import { reportFindings } from '../test-support/report.js';

const root = mkdtempSync(join(tmpdir(), 'sms-moving-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** 20,000 small files in 200 directories, on both sides. */
function build(side: string) {
  for (let d = 0; d < 200; d++) {
    mkdirSync(join(root, side, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(root, side, `d${d}`, `f${f}`), `${d}/${f}`);
  }
}

describe('a tree that changes while the agent walks it', () => {
  it('reports what moved, does not crash, and keeps its counts consistent', {
    timeout: 120_000,
  }, async () => {
    build('src');
    build('dst');
    const report = join(root, 'report.ndjson');
    const agent = spawn(
      process.execPath,
      [
        AGENT_BIN,
        'verify',
        '--source',
        join(root, 'src'),
        '--target',
        join(root, 'dst'),
        '--mode',
        'content',
        '--json',
        '--report',
        report,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    agent.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    agent.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));
    // meanwhile, on both sides: files vanish, change, and become directories
    let changes = 0;
    let running = true;
    void exited.then(() => {
      running = false;
    });
    for (let round = 0; running && round < 400; round++) {
      const d = (round * 37) % 200;
      const f = (round * 53) % 100;
      const side = round % 2 === 0 ? 'src' : 'dst';
      const path = join(root, side, `d${d}`, `f${f}`);
      try {
        if (round % 3 === 0) rmSync(path, { force: true });
        else if (round % 3 === 1) writeFileSync(path, 'changed while verified');
        else {
          rmSync(path, { force: true });
          mkdirSync(join(path, 'now-a-dir'), { recursive: true });
          writeFileSync(join(path, 'now-a-dir', 'x'), 'x');
        }
        changes++;
      } catch {}
      await new Promise((r) => setTimeout(r, 1));
    }
    const code = await exited;
    expect(stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
    expect([0, 1]).toContain(code);
    const result = JSON.parse(stdout).consistency_result[0];
    expect(result.num_different_files + result.num_target_miss_files).toBeLessThanOrEqual(
      result.num_total_files,
    );
    const lines = reportFindings(report);
    for (const line of lines) expect(['different', 'missing', 'extra', 'error']).toContain(line.category);
    expect(changes).toBeGreaterThan(0);
  });
});
