import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { treePair } from '../test-support/tree.js';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));
const hasCompileCache = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';
const work = mkdtempSync(join(tmpdir(), 'sms-agent-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Plain npm, an empty prefix, an empty cache and --offline: if the package needed anything from a
// registry, the install would fail. PATH holds only Node's own directory and the system's.
const env = {
  PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
  HOME: work,
  npm_config_cache: join(work, 'cache'),
};

/** A copy of the package's command and bundle in `name` under the test's directory. */
function packageCopy(name: string): { copy: string; bundle: string } {
  const copy = join(work, name);
  mkdirSync(join(copy, 'bin'), { recursive: true });
  mkdirSync(join(copy, 'dist'));
  copyFileSync(join(packageDir, 'package.json'), join(copy, 'package.json'));
  copyFileSync(join(packageDir, 'bin', 'sms-agent.js'), join(copy, 'bin', 'sms-agent.js'));
  const bundle = join(copy, 'dist', 'sms-agent.cjs');
  copyFileSync(join(packageDir, 'dist', 'sms-agent.cjs'), bundle);
  return { copy, bundle };
}

describe('the published package', () => {
  it('packs into a tarball that npm installs offline with no dependency, and whose sms-agent verifies', () => {
    const packs = join(work, 'packs');
    mkdirSync(packs);
    execFileSync('npm', ['pack', '--pack-destination', packs], { cwd: packageDir, env, stdio: 'pipe' });
    const tarballs = readdirSync(packs);
    expect(tarballs).toEqual([expect.stringMatching(/^sms-agent-\d+\.\d+\.\d+\.tgz$/)]);
    const prefix = join(work, 'prefix');
    execFileSync(
      'npm',
      ['i', '-g', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, join(packs, tarballs[0]!)],
      { env, stdio: 'pipe' },
    );
    const installed = join(prefix, 'lib', 'node_modules', '@sms', 'agent');
    expect(existsSync(join(installed, 'node_modules'))).toBe(false);
    expect(readdirSync(join(installed, 'dist')).sort()).toEqual(['sms-agent.cjs']);
    const bin = join(prefix, 'bin', 'sms-agent');
    // --version alone is answered by the bin without the bundle, in any other company by the bundle
    const version = spawnSync(bin, ['--version'], { env, encoding: 'utf8' });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const bundled = spawnSync(bin, ['--version', '--version'], { env, encoding: 'utf8' });
    expect(bundled.stdout, bundled.stderr).toBe(version.stdout);
    const pair = treePair({ a: '1', b: { c: '2', d: '3' } }, { a: '1', b: { c: '22' }, e: 'x' });
    try {
      const run = spawnSync(bin, ['verify', '--source', pair.src, '--target', pair.dst, '--json'], {
        env,
        encoding: 'utf8',
      });
      expect(run.status).toBe(1);
      expect(JSON.parse(run.stdout).consistency_result).toEqual([
        {
          dir_check: pair.src,
          num_total_files: 3,
          num_different_files: 1,
          num_target_miss_files: 1,
          num_target_more_files: 1,
        },
      ]);
    } finally {
      pair.cleanup();
    }
  }, 120_000);

  it("keeps V8's code for it in the user's own cache directory, never in one another user controls", () => {
    const home = join(work, 'home-with-cache');
    const xdg = join(work, 'xdg-cache');
    mkdirSync(home, { mode: 0o755 });
    mkdirSync(xdg, { mode: 0o700 });
    const run = (extra: Record<string, string>) =>
      // --help loads the bundle (--version alone is answered without it)
      spawnSync(process.execPath, [join(packageDir, 'bin', 'sms-agent.js'), '--help'], {
        env: { PATH: env.PATH, HOME: home, ...extra },
        encoding: 'utf8',
      });
    const inHome = join(home, '.cache', 'sms-agent', 'compile-cache');
    const inXdg = join(xdg, 'sms-agent', 'compile-cache');
    const holds = (dir: string) => existsSync(dir) && readdirSync(dir).length > 0;
    const off = run({ NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(off.stdout).toContain('Usage: sms-agent');
    expect(off.stderr).toBe('');
    expect(existsSync(inHome)).toBe(false);
    // Node.js 22.1+: its compile cache; Node.js 20: the bin's own (vm.Script's cachedData)
    const on = run({});
    expect(on.stdout).toBe(off.stdout);
    expect(on.stderr).toBe('');
    expect(holds(inHome)).toBe(true);
    expect(run({ XDG_CACHE_HOME: xdg }).stdout).toBe(off.stdout);
    expect(holds(inXdg)).toBe(true);
    // a second start reads what the first one kept
    expect(run({}).stdout).toBe(off.stdout);

    // a home that is another user's (sudo keeping the caller's HOME), or a cache directory others can
    // write to: no cache, so nothing there is read or written
    const foreign = join(work, 'home-of-nobody');
    mkdirSync(foreign, { mode: 0o755 });
    if (process.getuid?.() === 0) chownSync(foreign, 65534, 65534);
    const shared = join(work, 'shared-cache');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    for (const extra of [{ HOME: foreign }, { XDG_CACHE_HOME: shared }]) {
      const elsewhere = run(extra);
      expect(elsewhere.stdout).toBe(off.stdout);
      expect(elsewhere.stderr).toBe('');
    }
    if (process.getuid?.() === 0) expect(readdirSync(foreign)).toEqual([]);
    expect(readdirSync(shared)).toEqual([]);
  });

  it.skipIf(hasCompileCache)(
    'on Node.js 20: runs started together leave one cache and no temporary file; another kind of run has its own',
    async () => {
      const { copy } = packageCopy('package-together');
      const home = join(work, 'home-together');
      mkdirSync(home, { mode: 0o755 });
      const runs = Array.from(
        { length: 4 },
        () =>
          new Promise<number | null>((resolve) =>
            spawn(process.execPath, [join(copy, 'bin', 'sms-agent.js'), '--help'], {
              env: { PATH: env.PATH, HOME: home },
              stdio: 'ignore',
            }).once('exit', resolve),
          ),
      );
      expect(await Promise.all(runs)).toEqual([0, 0, 0, 0]);
      const left = readdirSync(join(home, '.cache', 'sms-agent', 'compile-cache'));
      expect(left).toHaveLength(1);
      expect(left[0]).toMatch(/-other-.*\.cache$/);
      // a manifest (what a host reached over ssh runs) compiles other code: a cache of its own beside it
      const manifest = spawnSync(
        process.execPath,
        [join(copy, 'bin', 'sms-agent.js'), 'manifest', copy, '--output', join(home, 'm'), '--no-progress'],
        { env: { PATH: env.PATH, HOME: home }, encoding: 'utf8' },
      );
      expect(manifest.status, manifest.stderr).toBe(0);
      const both = readdirSync(join(home, '.cache', 'sms-agent', 'compile-cache'));
      expect(both).toContain(left[0]);
      expect(both.filter((name) => /-manifest-.*\.cache$/.test(name))).toHaveLength(1);
      expect(both).toHaveLength(2);
    },
  );

  // Node.js 22.1 and later keep the code with module.enableCompileCache (tested above); the bin's own
  // cache is for Node.js 20, which has none (the CI runs the tests on Node.js 20 too)
  it.skipIf(hasCompileCache)(
    'on Node.js 20: keeps one cache per bundle, made again when the bundle changes (even to the same length and time) or V8 refuses it',
    () => {
      // a copy of the package's two files, so that its bundle can change
      const { copy, bundle } = packageCopy('package-copy');
      const home = join(work, 'home-node20');
      mkdirSync(home, { mode: 0o755 });
      const dir = join(home, '.cache', 'sms-agent', 'compile-cache');
      const pair = treePair({ a: '1' }, { a: '22' });
      const verify = (extra: Record<string, string> = {}) => {
        const run = spawnSync(
          process.execPath,
          [join(copy, 'bin', 'sms-agent.js'), 'verify', '--source', pair.src, '--target', pair.dst, '--json'],
          { env: { PATH: env.PATH, HOME: home, ...extra }, encoding: 'utf8' },
        );
        expect(run.stderr).toBe('');
        expect(run.status).toBe(1);
        expect(JSON.parse(run.stdout).consistency_result[0].num_different_files).toBe(1);
        return readdirSync(dir);
      };
      try {
        const [first, ...more] = verify();
        expect(more).toEqual([]);
        expect(first).toMatch(
          new RegExp(
            `^sms-agent-[0-9a-f]{8}-${process.version}-${process.arch}-[0-9a-f]{8}-verify-\\d+-\\d+-\\d+-\\d+\\.cache$`,
          ),
        );
        const made = statSync(join(dir, first!));
        expect(made.mode & 0o777).toBe(0o600);
        // a second run reads it and leaves it as it is
        expect(verify()).toEqual([first]);
        expect(statSync(join(dir, first!)).mtimeMs).toBe(made.mtimeMs);
        // a cache V8 refuses (here: damaged) is made again
        writeFileSync(join(dir, first!), 'not a code cache');
        expect(verify()).toEqual([first]);
        const remade = statSync(join(dir, first!));
        expect(remade.size).toBeGreaterThan(100_000);
        // and then used: the next run leaves it as it is
        verify();
        expect(statSync(join(dir, first!)).mtimeMs).toBe(remade.mtimeMs);
        // other V8 flags: a cache of their own beside it (V8 would refuse the other one)
        const flagged = verify({ NODE_OPTIONS: '--stack-trace-limit=20' });
        expect(flagged).toHaveLength(2);
        expect(flagged).toContain(first);
        // the bundle written again with the same length and its modification time put back (as cp -p,
        // rsync -a or tar do): its change time differs, so V8 is not given the old code for it; the
        // caches of the earlier build are removed, under any flags
        const { atime, mtime } = statSync(bundle);
        writeFileSync(bundle, readFileSync(bundle));
        utimesSync(bundle, atime, mtime);
        const [second, ...others] = verify();
        expect(others).toEqual([]);
        expect(second).not.toBe(first);
        // caches of other bundles (another install) stay, unless neither read nor written for 30 days
        const other = (name: string) =>
          `sms-agent-0badc0de-${process.version}-${process.arch}-00000000-${name}.cache`;
        writeFileSync(join(dir, other('in-use')), 'x');
        writeFileSync(join(dir, other('unused')), 'x');
        const longAgo = new Date(Date.now() - 31 * 24 * 3600 * 1000);
        utimesSync(join(dir, other('unused')), longAgo, longAgo);
        utimesSync(bundle, new Date(), new Date());
        const third = verify();
        expect(third).toContain(other('in-use'));
        expect(third).not.toContain(other('unused'));
        expect(third).not.toContain(second);
        expect(third).toHaveLength(2);
      } finally {
        pair.cleanup();
      }
    },
  );
});
