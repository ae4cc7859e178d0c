import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../test-support/cli.js';
import { mountSshfs, type Sshd, startSshd } from '../test-support/sshd.js';
import { treePair } from '../test-support/tree.js';
import { verify } from '../verify.js';
import { devicesMayReadZero, mountType, onSlowFilesystem, sshfsRemote } from './filesystems.js';
import { SLOW_FILESYSTEM_WORKERS, threadsFor } from './runner.js';

// A target mounted over the network (here sshfs, through a real OpenSSH server on 127.0.0.1)
// answers each call in a round trip: it is told apart from a local disk, gets more threads (more
// requests in flight), and counts as the local target does.
let sshd: Sshd;
let mount: ReturnType<typeof mountSshfs>;
const pair = treePair(
  { a: '1', b: { c: '2', d: 'same' }, e: { link: 'a' }, f: 'gone' },
  { a: '1', b: { c: '22', d: 'same' }, e: { link: 'a' }, x: 'extra' },
);

beforeAll(async () => {
  sshd = await startSshd();
  mount = mountSshfs(sshd, pair.dst);
}, 30_000);
afterAll(async () => {
  mount?.unmount();
  await sshd?.stop();
  pair.cleanup();
});

describe('a target on a network filesystem', () => {
  it('is told apart from a local disk by its filesystem type', () => {
    expect(onSlowFilesystem(mount.mountpoint)).toBe(true);
    expect(onSlowFilesystem(tmpdir())).toBe(false);
    expect(onSlowFilesystem('/nonexistent')).toBe(false);
  });

  it('reads the mount type of a FUSE filesystem: a local one (ntfs-3g, mergerfs…) is not slow', () => {
    const mountinfo = [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '40 22 0:50 / /mnt/usb rw,relatime - fuseblk /dev/sdb1 rw,user_id=0',
      '41 22 0:51 / /mnt/pool rw - fuse.mergerfs pool rw',
      '42 22 0:52 / /mnt/remote\\040host rw - fuse.sshfs me@host:/srv rw',
      '43 42 0:53 / /mnt/remote\\040host/inner rw - fuse.rclone s3: rw',
    ].join('\n');
    expect(mountType('/mnt/usb/data', mountinfo)).toBe('fuseblk');
    expect(mountType('/mnt/pool', mountinfo)).toBe('fuse.mergerfs');
    expect(mountType('/mnt/remote host/x', mountinfo)).toBe('fuse.sshfs');
    expect(mountType('/mnt/remote host/inner/y', mountinfo)).toBe('fuse.rclone');
    expect(mountType('/mnt/usbx', mountinfo)).toBe('ext4');
    // and the real sshfs mount reads as one
    expect(mountType(mount.mountpoint)).toBe('fuse.sshfs');
  });

  it('gets more threads by default; a local pair keeps the cores (at most 8)', () => {
    const local = [{ source: pair.src, target: pair.dst }];
    const remote = [{ source: pair.src, target: mount.mountpoint }];
    // 4 per core, at least 8 and at most 16; a local pair keeps one per core, at most 8
    for (const [cores, onDisk, onNetwork] of [
      [1, 1, 8],
      [2, 2, 8],
      [3, 3, 12],
      [4, 4, 16],
      [8, 8, 16],
      [64, 8, 16],
    ] as const) {
      expect(threadsFor(local, cores)).toBe(onDisk);
      expect(threadsFor(remote, cores)).toBe(onNetwork);
    }
    expect(SLOW_FILESYSTEM_WORKERS).toEqual({ min: 8, max: 16 });
    // a network filesystem on the source side counts as well
    expect(threadsFor([{ source: mount.mountpoint, target: pair.src }], 2)).toBe(8);
  });

  it.each(['quick', 'content'] as const)('counts (%s) as the local target does', async (mode) => {
    const local = await verify({ source: pair.src, target: pair.dst, mode });
    const mounted = await verify({ source: pair.src, target: mount.mountpoint, mode });
    expect(mounted.results[0]!.counts).toEqual(local.results[0]!.counts);
    expect(mounted.results[0]!.counts).toEqual({ total: 5, different: 1, missing: 1, extra: 1 });
  });

  it('compares devices by type alone through the mount, which cannot tell their numbers (SFTP has no field)', async () => {
    const dev = (side: string) => join(side, 'b', 'dev');
    try {
      for (const side of [pair.src, pair.dst]) {
        mkdirSync(dev(side));
        execFileSync('mknod', [join(dev(side), 'null'), 'c', '1', '3']);
      }
      const mounted = await verify({ source: dev(pair.src), target: join(mount.mountpoint, 'b', 'dev') });
      expect(mounted.results[0]!.counts).toEqual({ total: 1, different: 0, missing: 0, extra: 0 });
      // and says so
      expect(mounted.warnings).toEqual([
        `1 device of ${dev(pair.src)} was compared by type alone, its number (major:minor) unknown at the target: it shows every device as 0:0 (through an sshfs mount: SFTP has no field for it); verified over ssh (--target HOST:PATH, CONSISTENCY_TARGET for run and the daemon), the numbers are read there`,
      ]);
      // the same from the command's worker threads (content mode starts them at once), and with
      // the source on the mount
      const run = await runAgent([
        'verify',
        '--source',
        join(mount.mountpoint, 'b', 'dev'),
        '--target',
        dev(pair.dst),
        '--mode',
        'content',
        '--workers',
        '2',
        '--json',
      ]);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).warnings).toEqual([
        `1 device of ${join(mount.mountpoint, 'b', 'dev')} was compared by type alone, its number (major:minor) unknown at the source: it shows every device as 0:0 (through an sshfs mount: SFTP has no field for it); run the agent on the source host itself`,
      ]);
      // over ssh to a host that reads the tree through such a mount itself: the agent there (this
      // version) gives no number either, and the warning says where the tree really is
      const remote = await verify({
        source: dev(pair.src),
        targetRemote: {
          target: {
            destination: sshd.host,
            path: join(mount.mountpoint, 'b', 'dev'),
            display: `${sshd.host}:${join(mount.mountpoint, 'b', 'dev')}`,
          },
          ssh: ['ssh', '-F', sshd.config],
        },
      });
      expect(remote.results[0]!.counts).toEqual({ total: 1, different: 0, missing: 0, extra: 0 });
      expect(remote.warnings).toEqual([
        `1 device of ${dev(pair.src)} was compared by type alone, its number (major:minor) unknown at the target: the sms-agent on ${sshd.host} gave none: there, the tree is read through a mount that shows every device as 0:0 (sshfs; verify over ssh to the host that holds it), or that agent is an older one (update it)`,
      ]);
    } finally {
      for (const side of [pair.src, pair.dst]) rmSync(dev(side), { recursive: true, force: true });
    }
  });

  it('may read a device as 0:0 on sshfs, not on a local FUSE mount (fuse-overlayfs) or a local disk', () => {
    const onMount = join(mount.mountpoint, 'b');
    expect(devicesMayReadZero(onMount)).toBe(true);
    // the same mount, as fuse-overlayfs (a container's root, whose whiteouts are 0:0 devices)
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8').replace(
      new RegExp(` ${mount.mountpoint} (.*) - fuse\\.sshfs `),
      ` ${mount.mountpoint} $1 - fuse.fuse-overlayfs `,
    );
    expect(mountinfo).toContain('fuse.fuse-overlayfs');
    expect(devicesMayReadZero(onMount, mountinfo)).toBe(false);
    expect(devicesMayReadZero(pair.src)).toBe(false);
  });

  it('is named over ssh when it is an sshfs mount: the run says how to verify it there instead', async () => {
    const mounted = await verify({ source: pair.src, target: join(mount.mountpoint, 'b') });
    expect(mounted.notices).toEqual([
      `the target ${mount.mountpoint}/b is an sshfs mount of ${sshd.host}:${pair.dst}/b: as --target ${sshd.host}:${pair.dst}/b (CONSISTENCY_TARGET for run and the daemon; --ssh for the options the mount uses) it is verified over ssh instead, by an sms-agent run there, without a round trip through the mount for each file (about twice as fast in the agent's benchmark)`,
    ]);
    expect((await verify({ source: pair.src, target: pair.dst })).notices).toEqual([]);
    // not with --recheck, which over ssh is refused
    const rechecked = await verify({
      source: pair.src,
      target: join(mount.mountpoint, 'b'),
      recheck: true,
      recheckDelaySeconds: 0,
    });
    expect(rechecked.notices).toEqual([]);
  });
});

describe('sshfsRemote (a mount table given)', () => {
  it('joins the mount source and the path below the mount point', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sms-mounts-'));
    try {
      for (const sub of ['remote host/app', 'home/app', 'root/srv', 'bound/x'])
        mkdirSync(join(dir, sub), { recursive: true });
      const at = (escaped: string) => escaped.replaceAll(' ', '\\040');
      const mountinfo = [
        '22 1 8:1 / / rw - ext4 /dev/sda1 rw',
        `42 22 0:52 / ${at(join(dir, 'remote host'))} rw - fuse.sshfs me@host:/srv/my\\040data rw`,
        `43 22 0:53 / ${join(dir, 'home')} rw - fuse.sshfs me@host: rw`,
        `44 22 0:54 / ${join(dir, 'root')} rw - fuse.sshfs host:/ rw`,
        `45 22 0:55 / ${join(dir, 'root', 'srv')} rw - fuse.rclone s3: rw`,
        // a bind mount of the sshfs mount's app/ (as mount --bind or a container's volume makes)
        `46 22 0:52 /app ${join(dir, 'bound')} rw - fuse.sshfs me@host:/srv/my\\040data rw`,
      ].join('\n');
      expect(sshfsRemote(join(dir, 'remote host'), mountinfo)).toBe('me@host:/srv/my data');
      expect(sshfsRemote(join(dir, 'remote host', 'app'), mountinfo)).toBe('me@host:/srv/my data/app');
      expect(sshfsRemote(join(dir, 'home', 'app'), mountinfo)).toBe('me@host:app');
      expect(sshfsRemote(join(dir, 'home'), mountinfo)).toBe('me@host:');
      expect(sshfsRemote(join(dir, 'root'), mountinfo)).toBe('host:/');
      expect(sshfsRemote(join(dir, 'bound'), mountinfo)).toBe('me@host:/srv/my data/app');
      expect(sshfsRemote(join(dir, 'bound', 'x'), mountinfo)).toBe('me@host:/srv/my data/app/x');
      // another filesystem mounted inside, and none at all
      expect(sshfsRemote(join(dir, 'root', 'srv'), mountinfo)).toBeUndefined();
      expect(sshfsRemote(dir, mountinfo)).toBeUndefined();
      expect(sshfsRemote(join(dir, 'nope'), mountinfo)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
