import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountSshfs, type Sshd, startSshd } from '../test-support/sshd.js';
import { treePair } from '../test-support/tree.js';
import { verify } from '../verify.js';
import { onSlowFilesystem, SLOW_FILESYSTEM_WORKERS, threadsFor } from './runner.js';

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

  it('gets more threads by default; a local pair keeps the cores (at most 8)', () => {
    const local = [{ source: pair.src, target: pair.dst }];
    const remote = [{ source: pair.src, target: mount.mountpoint }];
    for (const cores of [1, 2, 8, 64]) {
      expect(threadsFor(local, cores)).toBe(Math.min(8, cores));
      expect(threadsFor(remote, cores)).toBe(SLOW_FILESYSTEM_WORKERS);
    }
    // a network filesystem on the source side counts as well
    expect(threadsFor([{ source: mount.mountpoint, target: pair.src }], 2)).toBe(SLOW_FILESYSTEM_WORKERS);
  });

  it.each(['quick', 'content'] as const)('counts (%s) as the local target does', async (mode) => {
    const local = await verify({ source: pair.src, target: pair.dst, mode });
    const mounted = await verify({ source: pair.src, target: mount.mountpoint, mode });
    expect(mounted.results[0]!.counts).toEqual(local.results[0]!.counts);
    expect(mounted.results[0]!.counts).toEqual({ total: 5, different: 1, missing: 1, extra: 1 });
  });
});
