import { execFileSync, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { treePair } from '../test-support/tree.js';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));
const exe = join(packageDir, 'dist', `sms-agent-${process.platform}-${process.arch}`);

beforeAll(() => {
  // what `pnpm --filter @sms/agent build:exe` runs after the build, with this test's Node
  execFileSync(process.execPath, [join(packageDir, 'scripts', 'build-exe.mjs')], { stdio: 'pipe' });
}, 180_000);

/** Runs the executable with an empty environment: no PATH, so no node to be found either. */
const run = (args: string[]) => spawnSync(exe, args, { env: {}, encoding: 'utf8', timeout: 60_000 });

describe('the single executable (for hosts without Node)', () => {
  it('is one file that runs with an empty environment and no node on PATH', () => {
    expect(statSync(exe).mode & 0o111).not.toBe(0);
    const version = run(['--version']);
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('verifies a tree with its worker threads (started from code) and counts right, in both modes', () => {
    // 30 directories of 60 files: more than the first slice the CLI's own thread verifies, so the
    // workers embedded in the executable do most of the work
    const tree = (change: (d: number, f: number) => string | undefined) => {
      const out: Record<string, Record<string, string>> = {};
      for (let d = 0; d < 30; d++) {
        const dir: Record<string, string> = {};
        for (let f = 0; f < 60; f++) {
          const content = change(d, f);
          if (content !== undefined) dir[`f${f}`] = content;
        }
        out[`d${d}`] = dir;
      }
      return out;
    };
    const pair = treePair(
      tree((d, f) => `${d}/${f}`),
      tree((d, f) =>
        f === 7
          ? undefined
          : f === 9
            ? `${d}/${f}!`
            : f === 11
              ? `${d}/X${f}`.slice(0, `${d}/${f}`.length)
              : `${d}/${f}`,
      ),
    );
    try {
      for (const mode of ['quick', 'content']) {
        const verify = run(['verify', '--source', pair.src, '--target', pair.dst, '--mode', mode, '--json']);
        expect(verify.status, verify.stderr).toBe(1);
        expect(JSON.parse(verify.stdout).consistency_result[0]).toEqual({
          dir_check: pair.src,
          num_total_files: 1800,
          // f9 longer everywhere; f11 same size, other bytes: only content mode sees it
          num_different_files: mode === 'quick' ? 30 : 60,
          num_target_miss_files: 30,
          num_target_more_files: 0,
        });
      }
    } finally {
      pair.cleanup();
    }
  });
});
