import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOADED_WHEN_USED, loadedBuiltins, writeBuiltinsProbe } from '../test-support/builtins.js';
import { pathWithoutNode, type Sshd, startSshd } from '../test-support/sshd.js';
import { treePair } from '../test-support/tree.js';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));
const exe = join(packageDir, 'dist', `sms-agent-${process.platform}-${process.arch}`);

beforeAll(() => {
  // what `pnpm --filter @sms/agent build:exe` runs after the build, with this test's Node
  execFileSync(process.execPath, [join(packageDir, 'scripts', 'build-exe.mjs')], { stdio: 'pipe' });
}, 180_000);

/** Runs the executable with an empty environment: no PATH, so no node to be found either. */
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(exe, args, { env, encoding: 'utf8', timeout: 60_000 });

/**
 * Verifies the pair's target over ssh and checks the counts are a local verify's (the pair differs:
 * exit 1); returns the run over ssh. ssh is named by its path: the empty environment has no PATH.
 */
function verifyOverSsh(
  pair: { src: string; dst: string },
  sshd: Sshd,
  mode: string,
  env: Record<string, string> = {},
) {
  const local = run(['verify', '--source', pair.src, '--target', pair.dst, '--mode', mode, '--json']);
  const remote = run(overSsh(pair, sshd, mode), env);
  expect(remote.status, remote.stderr).toBe(1);
  expect(JSON.parse(remote.stdout).consistency_result).toEqual(JSON.parse(local.stdout).consistency_result);
  return remote;
}

/** Runs `work` against an sshd on 127.0.0.1 whose sessions have `path` as PATH (the host's tools), then stops it. */
async function onHost(path: string, work: (sshd: Sshd) => void): Promise<void> {
  const sshd = await startSshd({ path });
  try {
    work(sshd);
  } finally {
    await sshd.stop();
  }
}

/** `verify --json` of the pair's source against its target over ssh (ssh named by its path: the empty environment has no PATH). */
const overSsh = (pair: { src: string; dst: string }, sshd: Sshd, mode = 'quick') => [
  'verify',
  '--source',
  pair.src,
  '--target',
  `${sshd.host}:${pair.dst}`,
  '--ssh',
  `/usr/bin/ssh -F ${sshd.config}`,
  '--mode',
  mode,
  '--json',
];

describe('the single executable (for hosts without Node)', () => {
  it('is one file that runs with an empty environment and no node on PATH', () => {
    expect(statSync(exe).mode & 0o111).not.toBe(0);
    const version = run(['--version']);
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('starts with the code cache of its training runs, and without it (silently) when NODE_OPTIONS changes V8', () => {
    const check = { SMS_AGENT_CODE_CACHE: 'check' };
    // --help runs the bundle; --version alone is answered without it (what a host over ssh is asked)
    const used = spawnSync(exe, ['--help'], { env: check, encoding: 'utf8', timeout: 60_000 });
    expect(used.stderr).toBe('sms-agent code cache: used\n');
    const version = spawnSync(exe, ['--version'], { env: check, encoding: 'utf8', timeout: 60_000 });
    expect(version.stderr).toBe('');
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(spawnSync(exe, ['-V'], { env: {}, encoding: 'utf8' }).stdout).toBe(version.stdout);
    const bundled = spawnSync(exe, ['--version', '--version'], { env: check, encoding: 'utf8' });
    expect(bundled.stderr).toBe('sms-agent code cache: used\n');
    expect(bundled.stdout).toBe(version.stdout);
    // other V8 flags: V8 rejects the cache (the start is slower) and nothing says so, where Node's own
    // cache of a main script printed a warning
    const other = { NODE_OPTIONS: '--stack-trace-limit=20' };
    const otherCheck = spawnSync(exe, ['--help'], {
      env: { ...other, ...check },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(otherCheck.stderr).toBe('sms-agent code cache: rejected\n');
    // memory flags: newer V8s leave them out of what a cache must match (used or not, said nowhere)
    const memory = spawnSync(exe, ['--help'], {
      env: { NODE_OPTIONS: '--max-old-space-size=200' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(memory.stderr).toBe('');
    expect(memory.stdout).toBe(used.stdout);
    const plain = spawnSync(exe, ['--help'], { env: other, encoding: 'utf8', timeout: 60_000 });
    expect(plain.stderr).toBe('');
    expect(plain.stdout).toBe(used.stdout);
  });

  it('verifies two empty directories without loading the modules only some runs use (as the npm bundle: startup.test.ts)', () => {
    const pair = treePair({}, {});
    try {
      const probe = writeBuiltinsProbe(pair.dir);
      // NODE_OPTIONS --require: an executable takes it as node does
      const probed = run(['verify', '--source', pair.src, '--target', pair.dst], {
        NODE_OPTIONS: `--require ${probe}`,
      });
      expect(probed.status, probed.stderr).toBe(0);
      const builtins = loadedBuiltins(probed.stderr);
      expect(builtins).toEqual(expect.arrayContaining(['fs', 'sea']));
      for (const name of LOADED_WHEN_USED) expect(builtins, `${name} was loaded`).not.toContain(name);
    } finally {
      pair.cleanup();
    }
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

  it('makes a manifest and reads --exclude-from (what loads modules later than verify)', () => {
    const pair = treePair({ a: '1', 'b.log': '2' }, { a: '1', 'b.log': '3' });
    try {
      const excludes = join(pair.dir, 'excludes');
      writeFileSync(excludes, '# logs\n*.log\n');
      const manifest = join(pair.dir, 'target.ndjson.gz');
      const made = run(['manifest', pair.dst, '--exclude-from', excludes, '-o', manifest]);
      expect(made.status, made.stderr).toBe(0);
      const verify = run([
        'verify',
        '--source',
        pair.src,
        '--target-manifest',
        manifest,
        '--exclude-from',
        excludes,
        '--json',
      ]);
      expect(verify.status, verify.stderr).toBe(0);
      expect(JSON.parse(verify.stdout).consistency_result[0].num_total_files).toBe(1);
    } finally {
      pair.cleanup();
    }
  });

  it('verifies a target over ssh with nothing installed there (no agent, no Node.js): copies itself, runs there, removes itself', async () => {
    const pair = treePair(
      { a: 'same', b: 'source', c: { d: 'only here' }, e: { link: 'a' } },
      { a: 'same', b: 'target', x: 'extra', e: { link: 'a' } },
    );
    try {
      await onHost(pathWithoutNode(pair.dir), (sshd) => {
        for (const mode of ['quick', 'content']) {
          const remote = verifyOverSsh(pair, sshd, mode);
          expect(remote.stderr).toMatch(
            /the target's manifest is made on sms-test-host by a copy of this agent in /,
          );
          expect(readdirSync(sshd.tmp)).toEqual([]);
        }
        // the connection cut while the copy is on its way: said, never a count, nothing left there
        const cut = join(pair.dir, 'cut-ssh');
        writeFileSync(cut, `#!/bin/sh\n/usr/bin/head -c 20000000 | /usr/bin/ssh -F ${sshd.config} "$@"\n`, {
          mode: 0o755,
        });
        const short = run(overSsh(pair, sshd).map((arg) => (arg.startsWith('/usr/bin/ssh ') ? cut : arg)));
        expect(short.status, short.stderr).toBe(2);
        expect(short.stderr).toMatch(
          /the copy of this agent arrived short \(\d+ bytes\)(: .*)?: the connection was cut while it was sent, or the disk there is full .*: run again/,
        );
        expect(readdirSync(sshd.tmp)).toEqual([]);
      });
      // a hardened host whose temporary directory is mounted noexec: the copy goes to the home
      await onHost(pathWithoutNode(pair.dir), (hardened) => {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=200m,noexec', 'tmpfs', hardened.tmp]);
        try {
          // the ssh user's home, from the password database (sshd's, not this process's $HOME)
          const home = userInfo().homedir;
          const inHome = () => readdirSync(home).filter((name) => name.startsWith('.sms-agent.'));
          const before = inHome();
          const remote = verifyOverSsh(pair, hardened, 'quick');
          expect(remote.stderr).toMatch(new RegExp(`by a copy of this agent in ${home}/\\.sms-agent\\.\\w+`));
          expect(readdirSync(hardened.tmp)).toEqual([]);
          expect(inHome()).toEqual(before);
        } finally {
          execFileSync('umount', [hardened.tmp]);
        }
      });
      // a host whose home is mounted noexec too: said before anything is sent, nothing left there
      const home = join(pair.dir, 'noexec-home');
      mkdirSync(home);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=10m,noexec', 'tmpfs', home]);
      try {
        const sshd = await startSshd({ path: pathWithoutNode(pair.dir), home });
        try {
          execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=10m,noexec', 'tmpfs', sshd.tmp]);
          try {
            const started = Date.now();
            const refused = run(overSsh(pair, sshd));
            expect(refused.status, refused.stderr).toBe(2);
            expect(refused.stderr).toContain(
              `programs cannot be run from the temporary directory ($TMPDIR, else /tmp) nor from the home ${home} there (mounted noexec)`,
            );
            expect(refused.stderr).toMatch(/install Node\.js 20\.19 or newer there .*--remote-agent PATH/);
            expect(refused.stdout).toBe('');
            expect(readdirSync(sshd.tmp)).toEqual([]);
            expect(readdirSync(home)).toEqual([]);
            // a host with Node.js, to which the executable was told to send itself: that setting is the way out
            const withNode = await startSshd({ home });
            try {
              execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=10m,noexec', 'tmpfs', withNode.tmp]);
              try {
                const forced = run(overSsh(pair, withNode), { SMS_AGENT_REMOTE_COPY: 'executable' });
                expect(forced.status, forced.stderr).toBe(2);
                expect(forced.stderr).toMatch(
                  /mounted noexec\), so this executable cannot run there: leave SMS_AGENT_REMOTE_COPY=executable unset \(its Node\.js v\d+[.\d]* then runs this agent's JavaScript\)/,
                );
              } finally {
                execFileSync('umount', [withNode.tmp]);
              }
            } finally {
              await withNode.stop();
            }
            expect(Date.now() - started).toBeLessThan(20_000);
            // a home where programs may run but nothing can be written (no inode left): not noexec
            execFileSync('mount', ['-o', 'remount,exec,nr_inodes=2', home]);
            const full = run(overSsh(pair, sshd));
            expect(full.status, full.stderr).toBe(2);
            expect(full.stderr).toContain(
              `cannot make a temporary directory in ${home} to copy the agent to`,
            );
            expect(readdirSync(home)).toEqual([]);
          } finally {
            execFileSync('umount', [sshd.tmp]);
          }
        } finally {
          await sshd.stop();
        }
      } finally {
        execFileSync('umount', [home]);
      }
      // a host without dd (which copies the executable in 1 MiB blocks there): head -c takes it all
      await onHost(pathWithoutNode(pair.dir, ['dd']), (noDd) => {
        verifyOverSsh(pair, noDd, 'quick');
        expect(readdirSync(noDd.tmp)).toEqual([]);
      });
      // a host without the GNU C library (no getconf to say which: musl, as on Alpine) is refused
      await onHost(pathWithoutNode(pair.dir, ['getconf']), (musl) => {
        const refused = run(overSsh(pair, musl));
        expect(refused.status).toBe(2);
        expect(refused.stderr).toContain('this executable needs glibc 2.28 or newer');
        expect(readdirSync(musl.tmp)).toEqual([]);
      });
    } finally {
      pair.cleanup();
    }
  }, 60_000);

  it('sends a host with Node.js 20.19 or newer its JavaScript (0.4 MiB) rather than itself (95 MiB), and a host with an older Node.js itself', async () => {
    const pair = treePair(
      { a: 'same', b: 'source', c: { d: 'only here' }, e: { link: 'a' } },
      { a: 'same', b: 'target', x: 'extra', e: { link: 'a' } },
    );
    // a host whose node is this test's Node.js, and one whose node is too old for the bundle
    const withNode = pathWithoutNode(join(pair.dir, 'with-node'));
    symlinkSync(process.execPath, join(withNode, 'node'));
    const oldNode = pathWithoutNode(join(pair.dir, 'old-node'));
    writeFileSync(join(oldNode, 'node'), '#!/bin/sh\necho v18.20.4\n', { mode: 0o755 });
    const hosts = [
      { path: withNode, copy: `(its JavaScript, run there by Node.js ${process.version})`, env: {} },
      { path: oldNode, copy: '', env: {} },
      // a host whose Node.js would not run it: the executable itself, on request
      { path: withNode, copy: '', env: { SMS_AGENT_REMOTE_COPY: 'executable' } },
    ];
    for (const host of hosts) {
      await onHost(host.path, (sshd) => {
        for (const mode of ['quick', 'content']) {
          const remote = verifyOverSsh(pair, sshd, mode, host.env);
          const notice =
            /the target's manifest is made on sms-test-host by a copy of this agent in \S+( \(.*\))?\n/.exec(
              remote.stderr,
            );
          expect(notice, remote.stderr).not.toBeNull();
          expect(notice![1]?.trim() ?? '').toBe(host.copy);
          expect(readdirSync(sshd.tmp)).toEqual([]);
        }
      });
    }
    pair.cleanup();
  }, 60_000);

  it("says how to send the executable instead when the host's Node.js cannot run its JavaScript, and refuses an unknown SMS_AGENT_REMOTE_COPY", async () => {
    const pair = treePair({ a: '1' }, { a: '1' });
    // a node that says its version but runs nothing (NODE_OPTIONS naming a module that is not there, say)
    const broken = pathWithoutNode(join(pair.dir, 'broken-node'));
    writeFileSync(
      join(broken, 'node'),
      '#!/bin/sh\nif [ "$1" = --version ]; then echo v22.12.0; exit 0; fi\necho "node: cannot find module /opt/missing.js" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    try {
      await onHost(broken, (sshd) => {
        const failed = run(overSsh(pair, sshd));
        expect(failed.status, failed.stderr).toBe(2);
        expect(failed.stderr).toContain(
          '(its JavaScript, run there by Node.js v22.12.0)) failed before the manifest was complete',
        );
        expect(failed.stderr).toContain('cannot find module /opt/missing.js');
        expect(failed.stderr).toContain(
          'if Node.js there cannot run it, SMS_AGENT_REMOTE_COPY=executable sends the executable instead',
        );
        expect(readdirSync(sshd.tmp)).toEqual([]);
        const instead = run(overSsh(pair, sshd), { SMS_AGENT_REMOTE_COPY: 'executable' });
        expect(instead.status, instead.stderr).toBe(0);
        const unknown = run(overSsh(pair, sshd), { SMS_AGENT_REMOTE_COPY: 'rsync' });
        expect(unknown.status).toBe(2);
        expect(unknown.stderr).toContain('SMS_AGENT_REMOTE_COPY=rsync: give executable');
        expect(readdirSync(sshd.tmp)).toEqual([]);
      });
      // refused on a host without Node.js too, where it would change nothing
      await onHost(pathWithoutNode(join(pair.dir, 'bare')), (bare) => {
        const unknown = run(overSsh(pair, bare), { SMS_AGENT_REMOTE_COPY: 'javascript' });
        expect(unknown.status).toBe(2);
        expect(unknown.stderr).toContain('SMS_AGENT_REMOTE_COPY=javascript: give executable');
        expect(readdirSync(bare.tmp)).toEqual([]);
      });
    } finally {
      pair.cleanup();
    }
  }, 60_000);
});
