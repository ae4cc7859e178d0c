import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import {
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, type Mock, vi } from 'vitest';
import { kindOf } from './listing.js';
import { kindOfMode, probeRawLstat, probeRawReaddir } from './raw-lstat.js';

// spies on fs.lstatSync and fs.readdirSync, to see which path factsOf and the listings take
vi.mock('node:fs', async (original) => {
  const actual = await original<typeof import('node:fs')>();
  return { ...actual, lstatSync: vi.fn(actual.lstatSync), readdirSync: vi.fn(actual.readdirSync) };
});

type Listing = typeof import('./listing.js');

/** listing.ts as loaded with `SMS_AGENT_LSTAT` set to `value` (its probe runs once, at load). */
async function listingWith(value: string | undefined): Promise<Listing> {
  vi.resetModules();
  vi.stubEnv('SMS_AGENT_LSTAT', value);
  try {
    return await import('./listing.js');
  } finally {
    vi.unstubAllEnvs();
  }
}

/**
 * `check`'s answer while the mocked `fs[name]` answers through `answer` (given the real function),
 * as it did afterwards.
 */
function whileFsAnswers<T>(
  name: 'lstatSync' | 'readdirSync',
  answer: (
    real: (path: fs.PathLike, options: unknown) => unknown,
    path: fs.PathLike,
    options: unknown,
  ) => unknown,
  check: () => T,
): T {
  const spy = vi.mocked(name === 'lstatSync' ? fs.lstatSync : fs.readdirSync) as unknown as Mock<
    (path: fs.PathLike, options: unknown) => unknown
  >;
  const real = spy.getMockImplementation()!;
  spy.mockImplementation((path, options) => answer(real, path, options));
  try {
    return check();
  } finally {
    spy.mockImplementation(real);
  }
}

let root: string;
let raw: Listing;
let portable: Listing;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sms-raw-lstat-'));
  const file = (name: string, stamp: string, content = 'x') => {
    writeFileSync(join(root, name), content);
    // touch sets every nanosecond, which fs.utimesSync's double cannot
    execFileSync('touch', ['-h', '-d', stamp, join(root, name)]);
  };
  file('nanoseconds', '2024-02-29 23:59:59.999999999 UTC');
  file('before-1970', '1960-06-15 12:00:00.123456789 UTC');
  file('whole-second', '2001-09-09 01:46:40 UTC', '');
  writeFileSync(join(root, 'big'), '');
  truncateSync(join(root, 'big'), 5 * 1024 ** 3 + 7); // past 32 bits, sparse
  writeFileSync(join(root, 'nobody'), 'n');
  // as root (CI), a file of another owner; as anyone else, one's own
  if (process.getuid?.() === 0) chownSync(join(root, 'nobody'), 65534, 65534);
  symlinkSync('nanoseconds', join(root, 'link'));
  execFileSync('touch', ['-h', '-d', '1999-12-31 23:59:59.5 UTC', join(root, 'link')]);
  execFileSync('mkfifo', [join(root, 'fifo')]);
  mkdirSync(join(root, 'dir'), { mode: 0o750 });
  writeFileSync(Buffer.from(`${root}/not-utf8-\xff`, 'latin1'), 'b');
  raw = await listingWith(undefined);
  portable = await listingWith('portable');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

describe('lstat without a Stats object', () => {
  it('is what this Node (20, 22, 24) uses, so the fast path is the one under test', () => {
    expect(probeRawLstat()).toBeTypeOf('function');
    expect(raw.RAW_LSTAT).toBe(true);
    expect(portable.RAW_LSTAT).toBe(false);
    const spy = vi.mocked(fs.lstatSync);
    spy.mockClear();
    raw.factsOf('source', join(root, 'nanoseconds'), 'file');
    expect(spy).not.toHaveBeenCalled();
    portable.factsOf('source', join(root, 'nanoseconds'), 'file');
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('gives the facts fs.lstatSync gives, to the nanosecond, for every kind of entry', () => {
    const entries: [string | Buffer, ReturnType<Listing['kindOf']>][] = [
      ['nanoseconds', 'file'],
      ['before-1970', 'file'],
      ['whole-second', 'file'],
      ['big', 'file'],
      ['nobody', 'file'],
      ['link', 'symlink'],
      ['fifo', 'fifo'],
      ['dir', 'dir'],
      [Buffer.from(`${root}/not-utf8-\xff`, 'latin1'), 'file'],
      ['/dev/null', 'char-device'],
    ];
    for (const [name, kind] of entries) {
      const path = typeof name !== 'string' ? name : name.startsWith('/') ? name : join(root, name);
      for (const metadata of [false, true]) {
        const fast = raw.factsOf('source', path, kind, metadata);
        expect(fast, String(name)).toEqual(portable.factsOf('source', path, kind, metadata));
      }
    }
    const nanoseconds = raw.factsOf('source', join(root, 'nanoseconds'), 'file');
    expect([nanoseconds.mtime, nanoseconds.mtimeNs]).toEqual([1709251199, 999_999_999]);
    const old = raw.factsOf('source', join(root, 'before-1970'), 'file');
    expect([old.mtime, old.mtimeNs]).toEqual([-301_233_600, 123_456_789]);
    expect(raw.factsOf('source', join(root, 'big'), 'file').size).toBe(5 * 1024 ** 3 + 7);
    const owner = lstatSync(join(root, 'nobody'));
    expect(raw.factsOf('source', join(root, 'nobody'), 'file', true)).toMatchObject({
      uid: owner.uid,
      gid: owner.gid,
    });
    expect(raw.factsOf('target', join(root, 'dir'), 'dir', true)).toMatchObject({ kind: 'dir', mode: 0o750 });
  });

  it('fails as fs.lstatSync does: a path gone is vanished, a path through a file cannot be read', () => {
    for (const listing of [raw, portable]) {
      expect(() => listing.factsOf('target', join(root, 'gone'), 'file')).toThrow(listing.VanishedError);
      const through = () => listing.factsOf('source', join(root, 'nanoseconds', 'x'), 'file');
      expect(through).toThrow(listing.SideError);
      expect(through).toThrow('cannot read the source: not a directory (ENOTDIR)');
    }
  });

  it('sees a file replaced by another kind since it was listed', () => {
    const dir = lstatSync(join(root, 'dir'));
    expect(raw.factsOf('source', join(root, 'dir'), 'file')).toEqual({
      kind: 'dir',
      mode: 0o750,
      uid: dir.uid,
      gid: dir.gid,
    });
    expect(raw.factsOf('source', join(root, 'dir'), 'file')).toEqual(
      portable.factsOf('source', join(root, 'dir'), 'file'),
    );
  });

  // the probe checks /dev/null's number where it is a character device (a container may lack it)
  it.skipIf(!lstatSync('/dev/null', { throwIfNoEntry: false })?.isCharacterDevice())(
    'is not used where the binding gives a device number other than fs.lstatSync',
    () => {
      const probed = whileFsAnswers(
        'lstatSync',
        (real, path, options) => {
          const stats = real(path, options) as fs.BigIntStats;
          // as if the binding's array had the number at another place than the one read
          if (path === '/dev/null') return Object.assign(Object.create(stats), { rdev: stats.rdev + 1n });
          return stats;
        },
        probeRawLstat,
      );
      expect(probed).toBeUndefined();
      expect(probeRawLstat()).toBeTypeOf('function');
    },
  );

  it('lists directories as fs.readdirSync does, without a Dirent or a Stats for any entry', () => {
    expect(probeRawReaddir()).toBeTypeOf('function');
    expect(raw.RAW_READDIR).toBe(true);
    expect(portable.RAW_READDIR).toBe(false);
    const readdir = vi.mocked(fs.readdirSync);
    for (const bytes of [false, true]) {
      readdir.mockClear();
      const fast = raw.listOne(root, bytes);
      expect(readdir).not.toHaveBeenCalled();
      expect(fast).toEqual(portable.listOne(root, bytes));
      expect(readdir).toHaveBeenCalled();
      expect(fast.ok && fast.entries.map((e) => e.kind).sort()).toEqual(
        ['dir', 'fifo', 'file', 'file', 'file', 'file', 'file', 'file', 'symlink'].sort(),
      );
    }
    // a name that is not UTF-8 makes the listing bytes, as before
    expect(raw.listOne(root, false)).toEqual(raw.listOne(root, true));
    for (const listing of [raw, portable]) {
      expect(listing.listOne(join(root, 'gone'), false)).toMatchObject({ ok: false, missing: true });
      expect(listing.listOne(join(root, 'nanoseconds'), false)).toMatchObject({ ok: false, missing: true });
    }
  });

  it('lstats an entry of unknown type itself (sshfs from its cache gives none), leaving out one gone meanwhile', () => {
    const spy = vi.mocked(fs.lstatSync);
    spy.mockClear();
    const names = ['nanoseconds', 'dir', 'link', 'fifo', 'gone-since'];
    // every type UV_DIRENT_UNKNOWN (0)
    const listing = raw.listed(
      root,
      names,
      names.map(() => 0),
      false,
    );
    expect(listing).toEqual({
      ok: true,
      entries: [
        { name: 'dir', kind: 'dir' },
        { name: 'fifo', kind: 'fifo' },
        { name: 'link', kind: 'symlink' },
        { name: 'nanoseconds', kind: 'file' },
      ],
    });
    // no Stats for them
    expect(spy).not.toHaveBeenCalled();
    // an lstat that fails otherwise fails the listing, as fs.readdirSync's own does
    expect(() => raw.listed(join(root, 'nanoseconds'), ['x'], [0], false)).toThrow('ENOTDIR');
    // the directory gone since it was listed: missing, not empty
    expect(() => raw.listed(join(root, 'gone-dir'), ['x', 'y'], [0, 0], false)).toThrow('ENOENT');
  });

  it('is not used where fs.readdirSync answers otherwise for the probe, or on an untried Node', () => {
    const probed = whileFsAnswers(
      'readdirSync',
      (real, path, options) => {
        const listed = real(path, options) as fs.Dirent[];
        return path === '/proc/self' ? [...listed].reverse() : listed;
      },
      probeRawReaddir,
    );
    expect(probed).toBeUndefined();
    expect(probeRawReaddir()).toBeTypeOf('function');
    const versions = Object.getOwnPropertyDescriptor(process, 'versions')!;
    Object.defineProperty(process, 'versions', {
      ...versions,
      value: { ...process.versions, node: '26.0.0' },
    });
    try {
      expect(probeRawReaddir()).toBeUndefined();
      expect(probeRawLstat()).toBeUndefined();
    } finally {
      Object.defineProperty(process, 'versions', versions);
    }
    expect(probeRawLstat()).toBeTypeOf('function');
  });

  it('is not used with SMS_AGENT_LSTAT=portable, or where Node warns of pending deprecations', () => {
    vi.stubEnv('SMS_AGENT_LSTAT', 'portable');
    expect(probeRawLstat()).toBeUndefined();
    expect(probeRawReaddir()).toBeUndefined();
    vi.stubEnv('SMS_AGENT_LSTAT', undefined);
    vi.stubEnv('NODE_OPTIONS', '--max-old-space-size=512 --pending-deprecation');
    expect(probeRawLstat()).toBeUndefined();
    vi.stubEnv('NODE_OPTIONS', '--pending_deprecation');
    expect(probeRawLstat()).toBeUndefined();
    vi.stubEnv('NODE_OPTIONS', '--max-old-space-size=512');
    vi.stubEnv('NODE_PENDING_DEPRECATION', '1');
    expect(probeRawLstat()).toBeUndefined();
    expect(probeRawReaddir()).toBeUndefined();
    vi.stubEnv('NODE_PENDING_DEPRECATION', '0');
    expect(probeRawLstat()).toBeTypeOf('function');
  });

  it('reads the kind from the mode as the Stats methods do', () => {
    for (const name of ['nanoseconds', 'link', 'fifo', 'dir']) {
      const stats = lstatSync(join(root, name));
      expect(kindOfMode(stats.mode)).toBe(kindOf(stats));
    }
    expect(kindOfMode(lstatSync('/dev/null').mode)).toBe('char-device');
    expect(kindOfMode(0)).toBe('unknown');
  });
});
