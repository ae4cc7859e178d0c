import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOADED_WHEN_USED, loadedBuiltins, writeBuiltinsProbe } from '../test-support/builtins.js';
import { AGENT_BIN } from '../test-support/cli.js';
import { treePair } from '../test-support/tree.js';

// Start-up is most of a small verification's time (the start-up row of `pnpm bench:agent`): the
// bundle must not load, at start, Node modules that only some runs use.
const pair = treePair({}, {});
const probe = writeBuiltinsProbe(pair.dir);
afterAll(() => pair.cleanup());

/** Runs the package's sms-agent with `preload` loaded first (HOME: this test's, for its code cache). */
const runWith = (preload: string, args: string[]) =>
  spawnSync(process.execPath, ['--require', preload, AGENT_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: pair.dir },
    encoding: 'utf8',
    timeout: 60_000,
  });

/** Runs the package's sms-agent with the probe preloaded; returns its exit status and the builtins it loaded. */
function probed(args: string[]) {
  const run = runWith(probe, args);
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, builtins: loadedBuiltins(run.stderr) };
}

/** Writes a script to preload, named `name`, in this test's directory. */
function preload(name: string, code: string): string {
  const file = join(pair.dir, name);
  writeFileSync(file, code);
  return file;
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

  it('loads them with require on a Node.js without process.getBuiltinModule (21, and 22.0 to 22.2)', () => {
    const without = preload(
      'without-get-builtin-module.cjs',
      "Object.defineProperty(process, 'getBuiltinModule', { value: undefined, configurable: true });\n",
    );
    const manifest = runWith(without, [
      'manifest',
      pair.src,
      '--output',
      join(pair.dir, 'm2.gz'),
      '--no-progress',
    ]);
    expect(manifest.status, manifest.stderr).toBe(0);
    const verify = runWith(without, [
      'verify',
      '--source',
      pair.src,
      '--target',
      join(pair.dir, 'm2.gz'),
      '--mode',
      'content',
    ]);
    expect(verify.status, verify.stderr).toBe(0);
  });

  it('exits 2, not 0, when its command stopped without ending (nothing left to wait for: an internal error)', () => {
    // the manifest's output never opens: fs.open's callback is never called, and nothing else is left to run
    const neverOpens = preload('never-opens.cjs', "require('node:fs').open = () => {};\n");
    const run = runWith(neverOpens, [
      'manifest',
      pair.src,
      '--output',
      join(pair.dir, 'm3'),
      '--no-progress',
    ]);
    expect(run.stderr).toContain(
      'sms-agent: stopped before its command ended (an internal error): the result is unknown',
    );
    expect(run.status).toBe(2);
  });
});
