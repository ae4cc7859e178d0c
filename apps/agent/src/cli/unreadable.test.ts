import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AGENT_BIN } from '../test-support/cli.js';
import { treePair } from '../test-support/tree.js';

// Permissions do not stop root: the agent runs as root without the capabilities that let root ignore
// them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), through setpriv from util-linux.
const pair = treePair(
  { open: 'o', locked: 'secret', 'locked-dir': { inner: 'i' } },
  { open: 'o', locked: 'secret', 'locked-dir': { inner: 'i' } },
);
afterAll(() => {
  chmodSync(join(pair.src, 'locked-dir'), 0o755);
  pair.cleanup();
});

function withoutOverride(args: string[]) {
  return spawnSync(
    'setpriv',
    ['--bounding-set=-dac_override,-dac_read_search', process.execPath, AGENT_BIN, ...args],
    {
      encoding: 'utf8',
      timeout: 30_000,
      env: { PATH: process.env.PATH ?? '', HOME: '/tmp' },
    },
  );
}

describe('files the agent cannot read', () => {
  it('are counted as different, with the reason reported per path, and verification goes on', () => {
    chmodSync(join(pair.src, 'locked'), 0o000);
    chmodSync(join(pair.src, 'locked-dir'), 0o000);
    const report = join(pair.dir, 'report.ndjson');
    const run = withoutOverride([
      'verify',
      '--source',
      pair.src,
      '--target',
      pair.dst,
      '--mode',
      'content',
      '--json',
      '--report',
      report,
    ]);
    expect(run.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    expect(run.status).toBe(1);
    // open: same; locked: cannot be read (different); locked-dir: cannot be listed (one different);
    // its target files have no source to compare with but the source directory's files are unknown
    const result = JSON.parse(run.stdout).consistency_result[0];
    expect(result).toMatchObject({ num_total_files: 3, num_different_files: 2, num_target_miss_files: 0 });
    const lines = readFileSync(report, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          category: 'error',
          path: 'locked',
          reason: 'cannot verify: source: EACCES',
        }),
        expect.objectContaining({
          category: 'error',
          path: 'locked-dir',
          reason: 'cannot list source directory: EACCES',
        }),
      ]),
    );
  });
});
