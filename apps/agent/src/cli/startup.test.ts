import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { LOADED_WHEN_USED, loadedBuiltins, writeBuiltinsProbe } from '../test-support/builtins.js';
import { AGENT_BIN } from '../test-support/cli.js';
import { treePair } from '../test-support/tree.js';

// Start-up is most of a small verification's time (the start-up row of `pnpm bench:agent`): the
// bundle must not load, at start, Node modules that only some runs use.
const pair = treePair({}, {});
const probe = writeBuiltinsProbe(pair.dir);
afterAll(() => pair.cleanup());

/** Runs the npm bundle with the probe preloaded; returns its exit status and the builtins it loaded. */
function probed(args: string[]) {
  const run = spawnSync(process.execPath, ['--require', probe, AGENT_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, builtins: loadedBuiltins(run.stderr) };
}

describe('start-up', () => {
  it('verifies two empty directories without loading the modules only some runs use (ssh, hashing, workers, manifests)', () => {
    for (const output of [[], ['--json']]) {
      const run = probed(['verify', '--source', pair.src, '--target', pair.dst, ...output]);
      expect(run.status, run.stderr).toBe(0);
      expect(run.builtins).toContain('fs');
      for (const name of LOADED_WHEN_USED) expect(run.builtins, `${name} was loaded`).not.toContain(name);
    }
  });

  it('loads them when a run uses them: a manifest with its digest, gzipped', () => {
    const run = probed(['manifest', pair.src, '--output', `${pair.dir}/m.gz`, '--no-progress']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.builtins).toEqual(expect.arrayContaining(['crypto', 'zlib']));
  });
});
