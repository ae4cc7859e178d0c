import { mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReportEntry } from './engine/types.js';
import { MTIME, type Tree, treePair } from './test-support/tree.js';
import { VerifyError, type VerifyOptions, verify } from './verify.js';

const pairs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.cleanup();
});

async function run(source: Tree, target: Tree | undefined, options: Partial<VerifyOptions> = {}) {
  const pair = treePair(source, target);
  pairs.push(pair);
  const entries: ReportEntry[] = [];
  const result = await verify({
    source: pair.src,
    target: pair.dst,
    workers: 0,
    report: true,
    onEntries: (batch) => entries.push(...batch),
    ...options,
  });
  const report = entries.map((e) => `${e.category} ${e.path.toString('latin1')}`).sort();
  return { result, counts: result.results[0]!.counts, report, entries, pair };
}

const same: Tree = {
  'a.txt': 'alpha',
  sub: { 'b.txt': 'beta', deeper: { 'c.txt': 'gamma' } },
  'empty.txt': '',
};

describe('the counting rules', () => {
  it('finds identical trees consistent and counts every file', async () => {
    const { counts, result } = await run(same, same);
    expect(counts).toEqual({ total: 4, different: 0, missing: 0, extra: 0 });
    expect(result.results[0]!.consistent).toBe(true);
  });

  it('does not count directories, empty or not', async () => {
    const { counts } = await run({ e1: {}, e2: { e3: {} }, f: 'x' }, { e1: {}, f: 'x' });
    expect(counts).toEqual({ total: 1, different: 0, missing: 0, extra: 0 });
  });

  it('finds changed bytes of equal size and time in content mode, not in quick mode', async () => {
    const source = { 'data.bin': 'AAAA-1234' };
    const target = { 'data.bin': 'AAAA-1235' };
    expect((await run(source, target, { mode: 'quick' })).counts.different).toBe(0);
    const content = await run(source, target, { mode: 'content' });
    expect(content.counts).toEqual({ total: 1, different: 1, missing: 0, extra: 0 });
    expect(content.entries[0]?.reason).toBe('content differs');
  });

  it('finds a different size and a different modification time in quick mode', async () => {
    const { counts, pair, entries } = await run({ a: 'one', b: 'two' }, { a: 'one!', b: 'two' });
    expect(counts.different).toBe(1);
    expect(entries[0]?.reason).toBe('size 3 at the source, 4 at the target');
    utimesSync(join(pair.dst, 'b'), new Date(MTIME.getTime() + 5000), new Date(MTIME.getTime() + 5000));
    const again = await verify({ source: pair.src, target: pair.dst, workers: 0 });
    expect(again.results[0]!.counts.different).toBe(2);
  });

  it('ignores sub-second time differences (whole seconds, as rsync)', async () => {
    const { pair } = await run({ a: 'x' }, { a: 'x' });
    utimesSync(join(pair.dst, 'a'), new Date(MTIME.getTime() + 400), new Date(MTIME.getTime() + 400));
    const result = await verify({ source: pair.src, target: pair.dst, workers: 0 });
    expect(result.results[0]!.counts.different).toBe(0);
  });

  it('counts missing and extra files, and whole missing and extra subtrees', async () => {
    const source = { keep: 'k', gone: 'g', lost: { a: '1', b: { c: '2', d: '3' } } };
    const target = { keep: 'k', added: 'x', more: { e: '4', f: { g: '5' } } };
    const { counts, report } = await run(source, target);
    expect(counts).toEqual({ total: 5, different: 0, missing: 4, extra: 3 });
    expect(report).toEqual([
      'extra added',
      'extra more/e',
      'extra more/f/g',
      'missing gone',
      'missing lost/a',
      'missing lost/b/c',
      'missing lost/b/d',
    ]);
  });

  it('counts a file against a directory: the file differs and the directory files are extra', async () => {
    const { counts, report } = await run(
      { node: 'file', ok: 'x' },
      { node: { inner: '1', deep: { more: '2' } }, ok: 'x' },
    );
    expect(counts).toEqual({ total: 2, different: 1, missing: 0, extra: 2 });
    expect(report).toEqual(['different node', 'extra node/deep/more', 'extra node/inner']);
  });

  it('counts a directory against a file: its files are missing and the file is extra', async () => {
    const { counts, report } = await run({ node: { a: '1', b: '2' } }, { node: 'file' });
    expect(counts).toEqual({ total: 2, different: 0, missing: 2, extra: 1 });
    expect(report).toEqual(['extra node', 'missing node/a', 'missing node/b']);
  });

  it('compares symbolic links by target, never following them', async () => {
    const source = {
      real: 'r',
      link: { link: 'real' },
      dangling: { link: 'nowhere' },
      'to-dir': { link: '/' },
    };
    const target = {
      real: 'r',
      link: { link: 'other' },
      dangling: { link: 'nowhere' },
      'to-dir': { link: '/' },
    };
    const { counts, entries } = await run(source, target);
    expect(counts).toEqual({ total: 4, different: 1, missing: 0, extra: 0 });
    expect(entries[0]?.reason).toBe('link target real at the source, other at the target');
  });

  it('finds a symbolic link where a file should be', async () => {
    const { counts, entries } = await run({ f: 'x' }, { f: { link: 'x' } });
    expect(counts.different).toBe(1);
    expect(entries[0]?.reason).toBe('file at the source, symbolic link at the target');
  });

  it('compares FIFOs by type and never opens them (no hang)', async () => {
    const { counts, entries } = await run(
      { pipe: { fifo: true }, p2: { fifo: true } },
      { pipe: { fifo: true }, p2: 'now a file' },
      { mode: 'content' },
    );
    expect(counts).toEqual({ total: 2, different: 1, missing: 0, extra: 0 });
    expect(entries[0]?.reason).toBe('FIFO at the source, file at the target');
  });

  it('compares names as bytes: a name that is not UTF-8 is matched and reported exactly', async () => {
    const pair = treePair({}, {});
    pairs.push(pair);
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in Latin-1
    writeFileSync(Buffer.concat([Buffer.from(`${pair.src}/`), latin1]), 'x');
    writeFileSync(Buffer.concat([Buffer.from(`${pair.src}/`), Buffer.from('caf\u00e9')]), 'y');
    writeFileSync(Buffer.concat([Buffer.from(`${pair.dst}/`), Buffer.from('caf\u00e9')]), 'y');
    const entries: ReportEntry[] = [];
    const result = await verify({
      source: pair.src,
      target: pair.dst,
      workers: 0,
      report: true,
      mode: 'content',
      onEntries: (e) => entries.push(...e),
    });
    expect(result.results[0]!.counts).toEqual({ total: 2, different: 0, missing: 1, extra: 0 });
    expect(entries[0]?.path.equals(latin1)).toBe(true);
  });

  it('handles a name with a newline and empty files', async () => {
    const { counts, report } = await run({ 'line\nbreak': 'x', empty: '' }, { empty: '' });
    expect(counts).toEqual({ total: 2, different: 0, missing: 1, extra: 0 });
    expect(report).toEqual(['missing line\nbreak']);
  });

  it('walks deep nesting', async () => {
    let deep: Tree = { leaf: 'bottom' };
    for (let i = 0; i < 120; i++) deep = { [`d${i}`]: deep };
    const { counts } = await run(deep, deep);
    expect(counts.total).toBe(1);
    expect(counts.different).toBe(0);
  });

  it('leaves excluded paths out of every count, on both sides', async () => {
    const source = {
      'app.log': 'l',
      keep: 'k',
      cache: { x: '1' },
      var: { log: { 'a.gz': 'z', 'b.txt': 't' } },
      sub: { 'deep.log': 'd' },
    };
    const target = {
      'other.log': 'o',
      keep: 'k',
      cache: { y: '2' },
      var: { log: { 'c.gz': 'z', 'b.txt': 't' } },
    };
    const { counts } = await run(source, target, { excludes: ['*.log', 'cache/', '/var/log/*.gz'] });
    expect(counts).toEqual({ total: 2, different: 0, missing: 0, extra: 0 });
  });

  it('matches a directory-only pattern on each side by its own kind when one side has a file of that name', async () => {
    // cache/ is a directory at the source (left out) and a file at the target (counted: extra);
    // build/ the other way round; both are plain files under *.tmp and left out on both sides
    const source = { cache: { x: '1' }, build: 'b', 'a.tmp': { y: '2' }, keep: 'k' };
    const target = { cache: 'c', build: { z: '3' }, 'a.tmp': 'f', keep: 'k' };
    const { counts } = await run(source, target, { excludes: ['cache/', 'build/', '*.tmp'] });
    expect(counts).toEqual({ total: 2, different: 0, missing: 1, extra: 1 });
  });

  it('holds different + missing <= total', async () => {
    const { counts } = await run({ a: '1', b: '2', c: { d: '3' } }, { a: '11', c: 'file', e: '5' });
    expect(counts.different + counts.missing).toBeLessThanOrEqual(counts.total);
    expect(counts).toEqual({ total: 3, different: 1, missing: 2, extra: 2 });
  });
});

describe('source entries that vanish during the walk', () => {
  it('counts them in no number but names them in a warning, a file and a directory alike', async () => {
    const files = Object.fromEntries(
      Array.from({ length: 600 }, (_, i) => [`f${String(i).padStart(3, '0')}`, `${i}`]),
    );
    const tree: Tree = { b: files, z: { x: '1', y: '2' } };
    const pair = treePair(tree, tree);
    pairs.push(pair);
    const entries: ReportEntry[] = [];
    let gone = false;
    const result = await verify({
      source: pair.src,
      target: pair.dst,
      workers: 0,
      report: true,
      onEntries: (batch) => entries.push(...batch),
      // the first progress comes while b/ is merged (every 256 entries): its last file, not yet
      // compared, and z/ (listed with the root, walked after b/) vanish from the source then
      onProgress: (progress) => {
        if (gone || progress.entries === 0) return;
        gone = true;
        rmSync(join(pair.src, 'b', 'f599'));
        rmSync(join(pair.src, 'z'), { recursive: true });
      },
    });
    expect(gone).toBe(true);
    expect(result.results[0]!.counts).toEqual({ total: 599, different: 0, missing: 0, extra: 0 });
    expect(entries.map((e) => `${e.category} ${e.path.toString()}`).sort()).toEqual([
      'error b/f599',
      'error z',
    ]);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain(
      `2 entries of ${pair.src} vanished from the source during verification (counted in none of the numbers`,
    );
    expect(result.warnings[0]).toContain('b/f599 (source file vanished during verification)');
    expect(result.warnings[0]).toContain('z (source directory vanished during verification');
  });
});

describe('a verified directory reached through a symbolic link', () => {
  it("refuses a target's directory that is the source's own through a link, warns of an absolute link, and takes a relative one", async () => {
    const pair = treePair(
      { www: { a: '1', b: '2' }, data: { www: { a: '1', b: '2' } } },
      { data: { www: {} }, elsewhere: {} },
    );
    pairs.push(pair);
    // as rsync -a copies it: the target's www names the source host's /…/data/www, absolute
    symlinkSync(join(pair.src, 'www'), join(pair.dst, 'www'));
    await expect(verify({ source: pair.src, target: pair.dst, dirs: ['www'], workers: 0 })).rejects.toThrow(
      `the target's www is the source's own directory (${join(pair.src, 'www')}), reached through a symbolic link: it would be verified against itself`,
    );
    // an absolute link elsewhere: followed, with a warning saying what it may mean
    rmSync(join(pair.dst, 'www'));
    symlinkSync(join(pair.dst, 'elsewhere'), join(pair.dst, 'www'));
    const absolute = await verify({ source: pair.src, target: pair.dst, dirs: ['www'], workers: 0 });
    expect(absolute.results[0]!.counts).toEqual({ total: 2, different: 0, missing: 2, extra: 0 });
    expect(absolute.warnings).toContainEqual(
      expect.stringContaining(
        `the target's www is reached through an absolute symbolic link (${join(pair.dst, 'www')} -> `,
      ),
    );
    // a relative link means the same on every host: its own (empty) copy is verified, without a word
    rmSync(join(pair.dst, 'www'));
    symlinkSync('data/www', join(pair.dst, 'www'));
    const inside = await verify({ source: pair.src, target: pair.dst, dirs: ['www'], workers: 0 });
    expect(inside.results[0]!.counts).toEqual({ total: 2, different: 0, missing: 2, extra: 0 });
    expect(inside.warnings).toEqual([]);
  });

  it('verifies a source directory reached through a link of the source host itself, as before', async () => {
    const pair = treePair({ srv: { www: { a: '1' } }, var: {} }, { www: { a: '1' } });
    pairs.push(pair);
    symlinkSync(join(pair.src, 'srv', 'www'), join(pair.src, 'var', 'www'));
    const run = await verify({ source: join(pair.src, 'var'), target: pair.dst, dirs: ['www'], workers: 0 });
    expect(run.results[0]!.counts).toEqual({ total: 1, different: 0, missing: 0, extra: 0 });
  });
});

describe('directories to verify', () => {
  it('verifies each --dir on its own, with the absolute source path as dir_check', async () => {
    const { result, pair } = await run(
      { a: { x: '1' }, b: { y: '2' } },
      { a: { x: '1' }, b: {} },
      { dirs: ['a', 'b'] },
    );
    expect(result.results.map((r) => [r.dirCheck, r.counts.missing])).toEqual([
      [join(pair.src, 'a'), 0],
      [join(pair.src, 'b'), 1],
    ]);
  });

  it('verifies only the outer of nested --dir values, with a notice', async () => {
    const { result, pair } = await run(
      { a: { b: { c: '1' } } },
      { a: { b: { c: '1' } } },
      { dirs: ['a/b', 'a'] },
    );
    expect(result.results.map((r) => r.dirCheck)).toEqual([join(pair.src, 'a')]);
    expect(result.notices).toEqual([
      `${join(pair.src, 'a/b')} is inside ${join(pair.src, 'a')}: only ${join(pair.src, 'a')} is verified, as the SMS agent does`,
    ]);
  });

  it('gives each directory the dir_check given with it, also to the findings, and keeps the first of one given twice', async () => {
    const entries: string[][] = [];
    const { result, pair } = await run(
      { root: { data: { x: '1' } }, var: { y: '2' } },
      { root: { data: {} }, var: { y: '2' } },
      {
        dirs: [
          { dir: 'root/data', dirCheck: '/root/data' },
          { dir: 'root/data/', dirCheck: '/elsewhere' },
          'var',
        ],
        report: true,
        onEntries: (_, dirChecks) => entries.push(dirChecks),
      },
    );
    expect(result.results.map((r) => [r.dirCheck, r.source, r.counts.missing])).toEqual([
      ['/root/data', join(pair.src, 'root/data'), 1],
      [join(pair.src, 'var'), join(pair.src, 'var'), 0],
    ]);
    expect(entries[0]).toEqual(['/root/data', join(pair.src, 'var')]);
  });

  it('refuses a --dir outside the source', async () => {
    await expect(run({ a: '1' }, { a: '1' }, { dirs: ['../elsewhere'] })).rejects.toThrow(
      'is outside the source directory',
    );
  });

  it('refuses a missing source directory', async () => {
    const pair = treePair({}, {});
    pairs.push(pair);
    await expect(
      verify({ source: join(pair.dir, 'nope'), target: pair.dst, workers: 0 }),
    ).rejects.toBeInstanceOf(VerifyError);
    await expect(verify({ source: pair.src, target: pair.dst, dirs: ['nope'], workers: 0 })).rejects.toThrow(
      'does not exist',
    );
  });

  it('counts everything missing when the target directory is missing, with a warning naming it', async () => {
    const { result, pair } = await run({ a: '1', b: { c: '2' } }, undefined);
    expect(result.results[0]!.counts).toEqual({ total: 2, different: 0, missing: 2, extra: 0 });
    expect(result.warnings).toEqual([
      `target directory ${pair.dst} does not exist: every file of ${pair.src} counts as missing`,
    ]);
  });

  it('marks a result the API cannot take as not uploadable, never clamped', async () => {
    const pair = treePair({}, {});
    pairs.push(pair);
    const long = join(
      pair.src,
      'd'.repeat(200),
      'e'.repeat(200),
      'f'.repeat(200),
      'g'.repeat(200),
      'h'.repeat(200),
    );
    mkdirSync(long, { recursive: true });
    const result = await verify({ source: long, target: pair.dst, workers: 0 });
    expect(result.results[0]!.notUploadable).toMatch(
      /^dir_check is \d+ characters, the API takes at most 1024/,
    );
  });
});

describe('the limits of the API, never clamped', () => {
  it('marks more than 1,000,000 files in one directory as not uploadable, naming what to do', async () => {
    const { uploadLimitProblem } = await import('./upload/results.js');
    const ok = { total: 1_000_000, different: 0, missing: 1_000_000, extra: 1_000_000 };
    expect(uploadLimitProblem('/data', ok)).toBeUndefined();
    expect(uploadLimitProblem('/data', { ...ok, total: 1_000_001 })).toBe(
      "total 1000001 exceeds the API's 1000000 files per directory: verify its subdirectories with --dir instead",
    );
    expect(uploadLimitProblem('/data', { ...ok, extra: 1_000_001 })).toMatch(/^extra 1000001 exceeds/);
    expect(uploadLimitProblem(`/${'d'.repeat(1023)}`, ok)).toBeUndefined();
    expect(uploadLimitProblem(`/${'d'.repeat(1024)}`, ok)).toMatch(
      /^dir_check is 1025 characters, the API takes at most 1024/,
    );
  });
});

describe('a walk ended early with --recheck', () => {
  it('still reports the paths it found and held back for the recheck (the ones to copy again)', async () => {
    // 1,500 missing files, then equal ones: more in all than the first slice of 4,096 entries walks
    const missing: Tree = {};
    for (let i = 0; i < 1500; i++) missing[`m${String(i).padStart(4, '0')}`] = '';
    const equal: Tree = {};
    for (let i = 0; i < 3000; i++) equal[`e${i}`] = '';
    const pair = treePair({ a: missing, b: equal }, { b: equal });
    pairs.push(pair);
    const stop = new AbortController();
    const entries: ReportEntry[] = [];
    const run = verify({
      source: pair.src,
      target: pair.dst,
      workers: 0,
      report: true,
      recheck: true,
      signal: stop.signal,
      onEntries: (batch) => entries.push(...batch),
      // the signal comes with the first progress (256 entries in): it is heard after the first slice
      onProgress: () => stop.abort('SIGINT'),
    });
    await expect(run).rejects.toThrow('interrupted by SIGINT');
    expect(entries.filter((e) => e.category === 'missing')).toHaveLength(1500);
  });
});
