import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountSshfs, type Sshd, startSshd } from '../test-support/sshd.js';
import { treePair } from '../test-support/tree.js';
import { verify } from '../verify.js';
import { mountType, onSlowFilesystem, SLOW_FILESYSTEM_WORKERS, threadsFor } from './runner.js';

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
});
