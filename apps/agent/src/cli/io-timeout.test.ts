import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent, startAgent } from '../test-support/cli.js';
import { ADMIN_ENV, serverForTests } from '../test-support/server.js';
import { mountSshfs, type Sshd, startSshd } from '../test-support/sshd.js';
import { type Tree, treePair } from '../test-support/tree.js';
import { StallError, stallWatch } from './stall.js';

// --io-timeout: a verification that waits on something that stopped answering (a hung network
// mount; over ssh, a remote agent waiting on one) ends with exit 2 and says so, as rsync --timeout
// does, instead of waiting for ever: on hundreds of hosts, nobody watches each run.
let sshd: Sshd;
// lost/: more missing files than a worker looks at before it hands back its work (4,096 entries),
// so that some of them reach this thread before a worker is stuck in mnt/
const lost: Tree = {};
for (let i = 0; i < 5000; i++) lost[`f${i}`] = '';
const pair = treePair(
  { a: '1', b: { c: '2' }, lost, mnt: { x: 'x', y: 'y' } },
  { a: '1', b: { c: '2' }, mnt: {} },
);
const remote = treePair({ x: 'x', y: 'y' }, { x: 'x', y: 'y' });

const held = serverForTests();
const STUCK =
  'a thread is still waiting inside a call to the mount that stopped answering, which only SIGKILL ends: this process ends itself so (exit status 137)';

beforeAll(async () => {
  sshd = await startSshd();
}, 30_000);

/**
 * `verify` in content mode (its worker threads from the start, so that this thread stays free to
 * notice) with `--io-timeout 2` and a report `name`, and the report's lines, parsed.
 */
async function verifyStuck(name: string, ...extra: string[]) {
  const report = join(pair.dir, name);
  const run = await runAgent(
    [
      'verify',
      '--source',
      pair.src,
      '--target',
      pair.dst,
      '--mode',
      'content',
      ...extra,
      '--io-timeout',
      '2',
      '--report',
      report,
    ],
    {},
    30_000,
  );
  // biome-ignore lint/suspicious/noExplicitAny: a test reads the lines' fields as it likes
  const lines: any[] = readFileSync(report, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return { run, lines };
}

/**
 * Runs `work` with the target's mnt/ a sshfs mount whose daemon is stopped: a call into it waits
 * until the daemon goes on (after `work`), as on a hung network mount.
 */
async function withStoppedMount(work: () => Promise<void>): Promise<void> {
  const mount = mountSshfs(sshd, remote.dst);
  const mountpoint = join(pair.dst, 'mnt');
  execFileSync('mount', ['--bind', mount.mountpoint, mountpoint]);
  const sshfs = execFileSync('pgrep', ['-f', `sshfs.*${mount.mountpoint}`])
    .toString()
    .trim()
    .split('\n');
  try {
    execFileSync('kill', ['-STOP', ...sshfs]);
    await work();
  } finally {
    execFileSync('kill', ['-CONT', ...sshfs]);
    execFileSync('umount', [mountpoint]);
    mount.unmount();
  }
}
afterAll(async () => {
  await sshd?.stop();
  pair.cleanup();
  remote.cleanup();
});

describe('--io-timeout', () => {
  it('over ssh: a remote agent that sends nothing ends the run with exit 2 after the timeout', async () => {
    // it reads what it is sent and answers nothing, until its connection ends
    const stuck = join(sshd.dir, 'stuck-agent');
    writeFileSync(stuck, '#!/bin/sh\nexec cat > /dev/null\n');
    chmodSync(stuck, 0o755);
    const report = join(pair.dir, 'stuck.ndjson');
    writeFileSync(report, 'an earlier report\n');
    const started = performance.now();
    const run = await runAgent(
      [
        'verify',
        '--source',
        remote.src,
        '--target',
        `${sshd.host}:${remote.dst}`,
        '--ssh',
        sshd.ssh,
        '--remote-agent',
        stuck,
        '--io-timeout',
        '2',
        '--report',
        report,
      ],
      {},
      30_000,
    );
    const seconds = (performance.now() - started) / 1000;
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(
      "sms-agent: no progress for 2 s: a filesystem or the target's host stopped answering",
    );
    expect(run.stderr).toContain('--io-timeout sets how long to wait');
    expect(seconds).toBeGreaterThan(2);
    expect(seconds).toBeLessThan(15);
    // the walk never began: an earlier report stays as it was
    expect(readFileSync(report, 'utf8')).toBe('an earlier report\n');
  }, 40_000);

  it('a mount below the target that stopped answering: the run marks its report and, a thread being stuck in the mount, ends itself with SIGKILL', async () => {
    await withStoppedMount(async () => {
      const { run, lines } = await verifyStuck('mount.ndjson');
      // an exit would wait for the thread inside the mount for ever: SIGKILL (a shell's 137)
      expect(run.code, run.stderr).toBe(null);
      expect(run.stderr).toContain('sms-agent: no progress for 2 s');
      expect(run.stderr).toContain('a hung NFS, SMB or sshfs mount');
      expect(run.stderr).toContain(STUCK);
      const last = lines.at(-1);
      expect(last).toMatchObject({ incomplete: true });
      expect(last.reason).toContain('no progress for 2 s');
    });
  }, 40_000);

  it('with --recheck: the paths held back for the recheck are in the report of a run stuck in the mount', async () => {
    await withStoppedMount(async () => {
      const { run, lines } = await verifyStuck('recheck.ndjson', '--recheck');
      expect(run.code, run.stderr).toBe(null);
      expect(lines.at(-1)).toMatchObject({ incomplete: true });
      // the worker that walked lost/ handed back its findings before another was stuck in mnt/
      expect(lines.filter((l) => l.category === 'missing').length).toBeGreaterThanOrEqual(4000);
    });
  }, 40_000);

  it('daemon: the request fails with the error, and the daemon ends itself as it stops', async () => {
    await withStoppedMount(async () => {
      const admin = held.admin;
      const { id } = await admin.createTask({ name: 'io-timeout' });
      await admin.updateConfiguration(id, [
        { config_key: 'CONSISTENCY_SOURCE', config_value: pair.src },
        { config_key: 'CONSISTENCY_TARGET', config_value: pair.dst },
        { config_key: 'CONSISTENCY_DIR', config_value: '["/"]' },
        { config_key: 'CONSISTENCY_MODE', config_value: 'content' },
      ]);
      const { request } = await admin.requestConsistencyCheck(id);
      const daemon = startAgent(
        [
          'daemon',
          '--once',
          '--io-timeout',
          '2',
          '--endpoint',
          held.server.url,
          '--spool-dir',
          join(pair.dir, 'spool'),
        ],
        ADMIN_ENV,
      );
      try {
        expect(await daemon.exited, daemon.stderr()).toBe(null);
        expect(daemon.stderr()).toContain(`finished request ${request.id}: failed: no progress for 2 s`);
        expect(daemon.stderr()).toContain(STUCK);
        const failed = (await admin.listConsistencyChecks(id)).requests[0]!;
        expect(failed.state).toBe('failed');
        expect(failed.error).toContain('no progress for 2 s');
      } finally {
        daemon.child.kill('SIGKILL');
      }
    });
  }, 40_000);

  it('is not a stall while a large file is hashed: against a manifest here, and over ssh on the remote host (its heartbeat)', async () => {
    // 2 GiB of zeros (sparse: no disk) take seconds to hash, more than the timeout of 1 s
    const big = treePair({ big: '' }, { big: '' });
    try {
      truncateSync(join(big.src, 'big'), 2 * 1024 ** 3);
      truncateSync(join(big.dst, 'big'), 2 * 1024 ** 3);
      const manifest = join(big.dir, 'target.manifest');
      expect((await runAgent(['manifest', big.dst, '--mode', 'content', '-o', manifest])).code).toBe(0);
      const local = await runAgent(
        [
          'verify',
          '--source',
          big.src,
          '--target-manifest',
          manifest,
          '--mode',
          'content',
          '--io-timeout',
          '1',
        ],
        {},
        120_000,
      );
      expect(local.stderr).not.toContain('no progress');
      expect(local.code, local.stderr).toBe(0);
      // here the source's file is small, so this side has nothing to do while the remote hashes
      writeFileSync(join(big.src, 'big'), 'x');
      truncateSync(join(big.dst, 'big'), 6 * 1024 ** 3);
      const started = performance.now();
      const remoteRun = await runAgent(
        [
          'verify',
          '--source',
          big.src,
          '--target',
          `${sshd.host}:${big.dst}`,
          '--ssh',
          sshd.ssh,
          '--mode',
          'content',
          '--io-timeout',
          '1',
        ],
        {},
        120_000,
      );
      expect(remoteRun.stderr).not.toContain('no progress');
      expect(remoteRun.code, remoteRun.stderr).toBe(1);
      // the remote hashed for longer than the timeout
      expect(performance.now() - started).toBeGreaterThan(2000);
    } finally {
      big.cleanup();
    }
  }, 240_000);

  it('is not a stall while the recheck waits, nor on a walk that ends', async () => {
    const moved = treePair({ a: 'newer', b: 'same' }, { a: 'old', b: 'same' });
    try {
      const run = await runAgent([
        'verify',
        '--source',
        moved.src,
        '--target',
        moved.dst,
        '--recheck',
        '--recheck-delay',
        '3',
        '--io-timeout',
        '1',
      ]);
      expect(run.stderr).not.toContain('no progress');
      expect(run.code, run.stderr).toBe(1);
    } finally {
      moved.cleanup();
    }
  }, 30_000);

  it('takes whole seconds 0..86400 and refuses others', async () => {
    for (const bad of ['-1', '1.5', 'soon', '86401']) {
      const run = await runAgent(['verify', '--source', pair.src, '--target', pair.dst, '--io-timeout', bad]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`option '--io-timeout <seconds>' argument '${bad}' is invalid`);
    }
  });
});

describe('stallWatch', () => {
  it('restarts its clock on progress that moved or a heartbeat, not on the same figures again', async () => {
    const watch = stallWatch(0.2, 50);
    watch.start();
    const same = setInterval(() => watch.saw({ entries: 1, bytes: 0, current: 'd/e' }), 20);
    const error = await watch.race(new Promise(() => {})).catch((e: unknown) => e);
    clearInterval(same);
    expect(error).toBeInstanceOf(StallError);
    expect((error as Error).message).toContain('no progress for 0.2 s (last at d/e)');
    expect(watch.signal.aborted).toBe(true);

    let entries = 0;
    const moving = stallWatch(0.2, 50);
    moving.start();
    const step = setInterval(() => moving.saw({ entries: ++entries, bytes: 0, current: '' }), 20);
    expect(await moving.race(new Promise((resolve) => setTimeout(() => resolve('done'), 600)))).toBe('done');
    clearInterval(step);
    expect(moving.signal.aborted).toBe(false);

    const beating = stallWatch(0.2, 50);
    beating.start();
    const beat = setInterval(() => beating.beat(), 20);
    expect(await beating.race(new Promise((resolve) => setTimeout(() => resolve('done'), 600)))).toBe('done');
    clearInterval(beat);
  });

  it('runs only from start() (ssh connecting, a copy sent, the checks before the walk: not timed) until hold() (the recheck)', async () => {
    const unstarted = stallWatch(0.1, 50);
    expect(await unstarted.race(new Promise((resolve) => setTimeout(() => resolve('done'), 500)))).toBe(
      'done',
    );

    const held = stallWatch(0.1, 50);
    held.start();
    held.hold();
    expect(await held.race(new Promise((resolve) => setTimeout(() => resolve('done'), 500)))).toBe('done');

    const late = stallWatch(0.2, 50);
    const started = performance.now();
    setTimeout(() => late.start(), 400);
    expect(await late.race(new Promise(() => {})).catch((e: unknown) => e)).toBeInstanceOf(StallError);
    // 0.4 s before it started, then 0.2 s without progress
    expect(performance.now() - started).toBeGreaterThan(550);
  });

  it('does not stop a run whose own thread was busy past the limit while its work told progress', async () => {
    const busy = stallWatch(0.2, 50);
    busy.start();
    // progress told during the busy spell, as a worker's messages are: read once this thread is free
    const channel = new MessageChannel();
    channel.port2.on('message', () => busy.beat());
    // done soon after the busy spell (within the limit of the last progress told in it)
    const work = new Promise((resolve) => setTimeout(() => resolve('done'), 650));
    // busy in the check phase (as after I/O): the next turn of the loop runs its timers before it reads messages
    setTimeout(
      () =>
        setImmediate(() => {
          let told = performance.now();
          const until = told + 500;
          while (performance.now() < until) {
            if (performance.now() - told < 50) continue;
            told = performance.now();
            channel.port1.postMessage('progress');
          }
        }),
      50,
    );
    try {
      expect(await busy.race(work)).toBe('done');
    } finally {
      channel.port1.close();
    }
  });

  it('still stops a run whose own thread was busy past the limit while nothing moved', async () => {
    const busy = stallWatch(0.2, 50);
    busy.start();
    setTimeout(() => {
      const until = performance.now() + 500;
      while (performance.now() < until) {
        // this thread's own work, longer than the limit, and no progress
      }
    }, 50);
    expect(await busy.race(new Promise(() => {})).catch((e: unknown) => e)).toBeInstanceOf(StallError);
  });

  it('tells whether the stopped work ended within the grace (a thread stuck in a hung mount does not)', async () => {
    const ending = stallWatch(0.1, 300);
    ending.start();
    const stopping = new Promise((_, reject) =>
      ending.signal.addEventListener('abort', () => setTimeout(() => reject(new Error('stopped')), 50)),
    );
    const ended = (await ending.race(stopping).catch((e: unknown) => e)) as StallError;
    expect(ended).toBeInstanceOf(StallError);
    expect(ended.stuck).toBe(false);
    const stuck = stallWatch(0.1, 100);
    stuck.start();
    expect(((await stuck.race(new Promise(() => {})).catch((e: unknown) => e)) as StallError).stuck).toBe(
      true,
    );
  });
});
