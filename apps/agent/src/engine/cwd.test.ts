import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENTER_AT, enterDirectory, leaveDirectory } from './cwd.js';
import { SourceReadAhead } from './manifest/prefetch.js';
import { writeManifest } from './manifest/write.js';

// The walks that run on the main thread look a directory's entries up by name from inside it:
// the working directory must come back, and the facts must be those of the full paths.
let dir: string;
let started: string;
beforeEach(() => {
  started = process.cwd();
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'sms-agent-cwd-')));
});
afterEach(() => {
  process.chdir(started);
  rmSync(dir, { recursive: true, force: true });
});

describe('entering a directory to look its entries up by name', () => {
  it('moves there and comes back to where the process was', () => {
    const inner = join(dir, 'inner');
    mkdirSync(inner);
    process.chdir(dir);
    expect(enterDirectory(inner)).toBe(true);
    expect(process.cwd()).toBe(inner);
    leaveDirectory();
    expect(process.cwd()).toBe(dir);
  });

  it('stays where it is when the directory cannot be entered (the caller uses full paths)', () => {
    writeFileSync(join(dir, 'file'), 'x');
    process.chdir(dir);
    expect(enterDirectory(join(dir, 'missing'))).toBe(false);
    expect(enterDirectory(join(dir, 'file'))).toBe(false);
    expect(process.cwd()).toBe(dir);
  });

  it('leaves to / when the directory it came from is gone, never staying inside the tree', () => {
    const home = join(dir, 'home');
    const tree = join(dir, 'tree');
    mkdirSync(home);
    mkdirSync(tree);
    process.chdir(home);
    expect(enterDirectory(tree)).toBe(true);
    rmSync(home, { recursive: true });
    leaveDirectory();
    expect(process.cwd()).toBe('/');
  });

  // every kind of entry, more than ENTER_AT of them, so that the directory is entered
  function kinds(root: string): string[] {
    mkdirSync(root);
    writeFileSync(join(root, 'a.txt'), 'alpha');
    writeFileSync(join(root, 'b.bin'), Buffer.alloc(3000, 1));
    writeFileSync(join(root, 'closed'), 'no one may read this');
    chmodSync(join(root, 'closed'), 0o000);
    symlinkSync('a.txt', join(root, 'link'));
    symlinkSync('/nowhere/at/all', join(root, 'dangling'));
    execFileSync('mkfifo', [join(root, 'fifo')]);
    mkdirSync(join(root, 'sub'));
    writeFileSync(join(root, 'sub', 'c'), 'c');
    const names = ['a.txt', 'b.bin', 'closed', 'link', 'dangling', 'fifo'];
    expect(names.length).toBeGreaterThan(ENTER_AT);
    return names;
  }

  it("a quick manifest made on the main thread has each entry's facts as lstat of its full path gives them", async () => {
    const tree = join(dir, 'tree');
    const names = kinds(tree);
    process.chdir(dir);
    await writeManifest(tree, { mode: 'quick', excludes: [], output: 'made.ndjson', workers: 0 });
    expect(process.cwd()).toBe(dir);
    const lines = readFileSync(join(dir, 'made.ndjson'), 'utf8').trim().split('\n');
    const block = JSON.parse(lines[1]!) as { d: string; e: Record<string, unknown>[] };
    expect(block.d).toBe('');
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
    expect(block.e.find((e) => e.n === 'sub')).toEqual({ n: 'sub', k: 'd' });
  });

  it("reading the source ahead gives each file's facts as lstat of its full path gives them", () => {
    const tree = join(dir, 'tree');
    kinds(tree);
    process.chdir(dir);
    const ahead = new SourceReadAhead([tree], [], true, [0]);
    ahead.step(Number.POSITIVE_INFINITY);
    expect(process.cwd()).toBe(dir);
    const read = ahead.take(0, '')!;
    for (const name of ['a.txt', 'b.bin', 'closed']) {
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
});
