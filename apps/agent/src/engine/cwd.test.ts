import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENTER_AT, enterDirectory, leaveDirectory, WorkingDirectoryError, worthEntering } from './cwd.js';
import { SourceReadAhead } from './manifest/prefetch.js';
import { writeManifest } from './manifest/write.js';

// The walks that run on the main thread look a directory's entries up by name from inside it:
// the working directory must come back, nothing relative may land in the tree meanwhile, and the
// facts must be those of the full paths.
let dir: string;
let started: string;
beforeEach(() => {
  started = process.cwd();
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'sms-agent-cwd-')));
});
afterEach(() => {
  vi.restoreAllMocks();
  process.chdir(started);
  rmSync(dir, { recursive: true, force: true });
});

/** A listing worth entering. */
const FILES = Array.from({ length: ENTER_AT }, () => ({ kind: 'file' }));

/** A directory to start in, made the working directory, and a tree beside it. */
function homeAndTree(): { home: string; tree: string } {
  const home = join(dir, 'home');
  const tree = join(dir, 'tree');
  mkdirSync(home);
  mkdirSync(tree);
  process.chdir(home);
  return { home, tree };
}

describe('entering a directory to look its entries up by name', () => {
  it('moves there and comes back to where the process was', () => {
    const inner = join(dir, 'inner');
    mkdirSync(inner);
    process.chdir(dir);
    const back = enterDirectory(inner, FILES);
    expect(back).toBe(dir);
    expect(process.cwd()).toBe(inner);
    leaveDirectory(back!);
    expect(process.cwd()).toBe(dir);
  });

  it('stays where it is when the directory cannot be entered, or is not absolute (the caller uses full paths)', () => {
    writeFileSync(join(dir, 'file'), 'x');
    mkdirSync(join(dir, 'inner'));
    process.chdir(dir);
    expect(enterDirectory(join(dir, 'missing'), FILES)).toBeUndefined();
    expect(enterDirectory(join(dir, 'file'), FILES)).toBeUndefined();
    expect(enterDirectory('inner', FILES)).toBeUndefined();
    expect(process.cwd()).toBe(dir);
  });

  it('does not move when the directory it is in was removed (Node still has its path), nor goes back to a renamed one by its old name', () => {
    const { home, tree } = homeAndTree();
    expect(process.cwd()).toBe(home);
    rmSync(home, { recursive: true });
    expect(enterDirectory(tree, FILES)).toBeUndefined();

    mkdirSync(home);
    process.chdir(home);
    expect(process.cwd()).toBe(home);
    renameSync(home, join(dir, 'moved'));
    const back = enterDirectory(tree, FILES);
    expect(back).toBe(join(dir, 'moved'));
    leaveDirectory(back!);
    expect(process.cwd()).toBe(join(dir, 'moved'));
  });

  it('ends with an error, out of the tree, when the directory it came from goes while it is inside', () => {
    const { home, tree } = homeAndTree();
    const back = enterDirectory(tree, FILES)!;
    rmSync(home, { recursive: true });
    expect(() => leaveDirectory(back)).toThrow(WorkingDirectoryError);
    expect(() => leaveDirectory(back)).toThrow(`${home}, was removed or moved while it ran (ENOENT)`);
    expect(process.cwd()).toBe('/');
  });

  it('enters a directory only for enough entries that are not directories', () => {
    const many = (n: number, kind: string) => Array.from({ length: n }, () => ({ kind }));
    expect(worthEntering([...many(ENTER_AT - 1, 'file'), ...many(50, 'dir')])).toBe(false);
    expect(worthEntering([...many(ENTER_AT - 1, 'file'), ...many(1, 'symlink')])).toBe(true);
    mkdirSync(join(dir, 'inner'));
    process.chdir(dir);
    expect(enterDirectory(join(dir, 'inner'), many(ENTER_AT - 1, 'file'))).toBeUndefined();
    expect(process.cwd()).toBe(dir);
  });

  // every kind of entry, and more than ENTER_AT of them, so that the directory is entered
  function kinds(root: string, notUtf8 = false): string[] {
    mkdirSync(root);
    writeFileSync(join(root, 'a.txt'), 'alpha');
    writeFileSync(join(root, 'b.bin'), Buffer.alloc(3000, 1));
    writeFileSync(join(root, 'closed'), 'no one may read this');
    chmodSync(join(root, 'closed'), 0o000);
    symlinkSync('a.txt', join(root, 'link'));
    symlinkSync('/nowhere/at/all', join(root, 'dangling'));
    execFileSync('mkfifo', [join(root, 'fifo')]);
    for (let i = 0; i < ENTER_AT; i++) writeFileSync(join(root, `more-${i}`), 'm'.repeat(i));
    mkdirSync(join(root, 'sub'));
    writeFileSync(join(root, 'sub', 'c'), 'c');
    // a name that is not UTF-8 (the directory is then listed as bytes; the read-ahead leaves those)
    if (notUtf8)
      writeFileSync(
        Buffer.concat([Buffer.from(`${root}/latin-`), Buffer.from([0xe9])]),
        Buffer.from('café', 'latin1'),
      );
    return ['a.txt', 'b.bin', 'closed', 'link', 'dangling', 'fifo', 'more-3'];
  }

  function chdirsInto(tree: string) {
    const chdir = vi.spyOn(process, 'chdir');
    return () => chdir.mock.calls.filter(([to]) => to === tree).length;
  }

  it("a quick manifest made on the main thread has each entry's facts as lstat of its full path gives them", async () => {
    const tree = join(dir, 'tree');
    const names = kinds(tree, true);
    process.chdir(dir);
    const entered = chdirsInto(tree);
    await writeManifest(tree, { mode: 'quick', excludes: [], output: 'made.ndjson', workers: 0 });
    expect(entered()).toBe(1);
    expect(process.cwd()).toBe(dir);
    const lines = readFileSync(join(dir, 'made.ndjson'), 'utf8').trim().split('\n');
    const block = JSON.parse(lines[1]!) as { db?: string; e: Record<string, unknown>[] };
    for (const name of names) {
      const entry = block.e.find((e) => e.n === name)!;
      const stats = lstatSync(join(tree, name), { bigint: true });
      expect(entry.p, name).toBe(Number(stats.mode & 0o7777n));
      expect(entry.u, name).toBe(Number(stats.uid));
      if (stats.isFile()) {
        expect(entry.s, name).toBe(Number(stats.size));
        expect(BigInt(entry.m as number) * 1_000_000_000n + BigInt(entry.mn as number), name).toBe(
          stats.mtimeNs,
        );
      }
      if (stats.isSymbolicLink()) expect(entry.l, name).toBe(readlinkSync(join(tree, name), 'utf8'));
    }
    const latin = block.e.find((e) => e.nb === Buffer.from('latin-\xe9', 'latin1').toString('base64'))!;
    expect(latin).toMatchObject({ k: 'f', s: 4 });
    expect(block.e.find((e) => e.n === 'sub')).toEqual({ n: 'sub', k: 'd' });
  });

  it("reading the source ahead gives each file's facts as lstat of its full path gives them", () => {
    const tree = join(dir, 'tree');
    kinds(tree);
    process.chdir(dir);
    const entered = chdirsInto(tree);
    const ahead = new SourceReadAhead([tree], [], true, [0]);
    ahead.step(Number.POSITIVE_INFINITY);
    expect(entered()).toBe(1);
    expect(process.cwd()).toBe(dir);
    const read = ahead.take(0, '')!;
    for (const name of ['a.txt', 'b.bin', 'closed', 'more-3']) {
      const stats = lstatSync(join(tree, name), { bigint: true });
      expect(read.facts.get(name), name).toMatchObject({
        kind: 'file',
        size: Number(stats.size),
        mode: Number(stats.mode & 0o7777n),
      });
    }
    expect(read.facts.get('link')).toMatchObject({ kind: 'symlink', link: Buffer.from('a.txt') });
    expect(read.facts.get('fifo')).toMatchObject({ kind: 'fifo' });
  });

  it("a relative output is opened where it was given, even when libuv's threads open it while the walk is inside the tree", async () => {
    const tree = join(dir, 'tree');
    kinds(tree);
    // the directory walked second
    const deep = join(tree, 'deep');
    mkdirSync(deep);
    for (let i = 0; i < ENTER_AT; i++) writeFileSync(join(deep, `f${i}`), 'f');
    // every thread of libuv's pool waits on a FIFO, so that the output's open waits in the queue...
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const fifos = Array.from({ length: threads }, (_, i) => join(dir, `block-${i}`));
    for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
    const blocked = fifos.map((fifo) => open(fifo, 'r'));
    process.chdir(dir);
    // ...until the walk is inside the tree: then the pool is let go while this thread stays there
    const chdir = process.chdir.bind(process);
    let released = false;
    const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    vi.spyOn(process, 'chdir').mockImplementation((to: string) => {
      chdir(to);
      // the walk yields to the event loop every 50 ms: the output's open is asked for by then
      if (to === tree) sleep(60);
      if (to === deep && !released) {
        released = true;
        for (const fifo of fifos) closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        sleep(200);
      }
    });
    await writeManifest(tree, { mode: 'quick', excludes: [], output: 'made.ndjson', workers: 0 });
    for (const handle of await Promise.all(blocked)) await handle.close();
    expect(released).toBe(true);
    expect(readdirSync(deep).filter((name) => name.startsWith('made'))).toEqual([]);
    expect(existsSync(join(dir, 'made.ndjson'))).toBe(true);
  });
});
