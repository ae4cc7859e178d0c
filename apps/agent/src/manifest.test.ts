import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { writeManifest } from './engine/manifest/write.js';
import type { ReportEntry } from './engine/types.js';
import { AGENT_BIN, runAgent } from './test-support/cli.js';
import { RULE_CASES as cases } from './test-support/rule-cases.js';
import { type Tree, treePair } from './test-support/tree.js';
import { type VerifyOptions, verify } from './verify.js';

const pairs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.cleanup();
});

async function bothWays(
  source: Tree,
  target: Tree,
  options: Partial<VerifyOptions> = {},
  mode: 'quick' | 'content' = 'content',
) {
  const pair = treePair(source, target);
  pairs.push(pair);
  const run = async (where: Partial<VerifyOptions>) => {
    const entries: ReportEntry[] = [];
    const result = await verify({
      source: pair.src,
      workers: 0,
      report: true,
      mode,
      onEntries: (e) => entries.push(...e),
      ...options,
      ...where,
    });
    const report = entries
      .map((e) => `${e.root} ${e.category} ${e.path.toString('latin1')} ${e.reason}`)
      .sort();
    return { counts: result.results.map((r) => r.counts), report, result };
  };
  const mounted = await run({ target: pair.dst });
  const plain = join(pair.dir, 'target.ndjson');
  const gzipped = join(pair.dir, 'target.ndjson.gz');
  await writeManifest(pair.dst, { mode, excludes: [], output: plain });
  await writeManifest(pair.dst, { mode, excludes: [], output: gzipped });
  const viaPlain = await run({ targetManifest: plain });
  const viaGzip = await run({ targetManifest: gzipped });
  return { mounted, viaPlain, viaGzip, pair };
}

describe('verification through a manifest', () => {
  it.each(cases)(
    'counts %s the same as against the mounted target',
    async (_name, source, target, options) => {
      const { mounted, viaPlain, viaGzip } = await bothWays(source, target, options);
      expect(viaPlain.counts).toEqual(mounted.counts);
      expect(viaGzip.counts).toEqual(mounted.counts);
      expect(viaPlain.report).toEqual(mounted.report);
    },
  );

  it('counts a name that is not UTF-8 the same', async () => {
    const pair = treePair({}, {});
    pairs.push(pair);
    const name = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
    writeFileSync(Buffer.concat([Buffer.from(`${pair.src}/`), name]), 'x');
    writeFileSync(Buffer.concat([Buffer.from(`${pair.dst}/`), name]), 'y');
    writeFileSync(join(pair.src, 'plain'), 'p');
    const manifest = join(pair.dir, 'm.ndjson');
    await writeManifest(pair.dst, { mode: 'content', excludes: [], output: manifest });
    expect(readFileSync(manifest, 'utf8')).toContain(`"nb":"${name.toString('base64')}"`);
    const mounted = await verify({ source: pair.src, target: pair.dst, mode: 'content', workers: 0 });
    const via = await verify({ source: pair.src, targetManifest: manifest, mode: 'content', workers: 0 });
    expect(via.results[0]!.counts).toEqual(mounted.results[0]!.counts);
    expect(via.results[0]!.counts).toEqual({ total: 2, different: 1, missing: 1, extra: 0 });
  });

  it.each([
    ['xxh128', '99aa06d3014798d86001c324468d497f'],
    ['sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ] as const)(
    'finds a changed byte with %s hashes (an empty file: the reference value)',
    async (hash, empty) => {
      // same size, same time: only the bytes differ
      const pair = treePair({ a: 'same', b: 'abcd', e: '' }, { a: 'same', b: 'abXd', e: '' });
      pairs.push(pair);
      const manifest = join(pair.dir, 'm.ndjson');
      await writeManifest(pair.dst, { mode: 'content', hash, excludes: [], output: manifest });
      const lines = readFileSync(manifest, 'utf8').split('\n');
      expect(JSON.parse(lines[0]!).hash).toBe(hash);
      const entries = JSON.parse(lines[1]!).e as { n: string; h: string }[];
      expect(entries.find((e) => e.n === 'e')!.h).toBe(empty);
      expect(entries.every((e) => e.h.length === empty.length)).toBe(true);
      const via = await verify({ source: pair.src, targetManifest: manifest, mode: 'content', workers: 0 });
      expect(via.results[0]!.counts).toEqual({ total: 3, different: 1, missing: 0, extra: 0 });
    },
  );

  it('warns when the manifest lacks a verified directory, and counts its files missing', async () => {
    const { viaPlain } = await bothWays({ b: { z: '3' } }, { other: '1' }, { dirs: ['b'] });
    expect(viaPlain.counts[0]).toEqual({ total: 1, different: 0, missing: 1, extra: 0 });
    expect(viaPlain.result.warnings[0]).toMatch(/has no directory .* every file of .* counts as missing/);
  });
});

/** `sms-agent verify --mode content` of `source` through the manifest `file`. */
/** `verify` of `source` against the manifest `file`, with `more` arguments. */
const verifyThrough = (source: string, file: string, ...more: string[]) =>
  runAgent(['verify', '--source', source, '--target-manifest', file, ...more]);
const verifyContent = (source: string, file: string, ...more: string[]) =>
  verifyThrough(source, file, '--mode', 'content', ...more);

describe('damaged manifests are clear errors (exit 2), never a wrong count', () => {
  async function manifestOf(tree: Tree, mode: 'quick' | 'content' = 'quick') {
    const pair = treePair(tree, tree);
    pairs.push(pair);
    const file = join(pair.dir, 'm.ndjson');
    await writeManifest(pair.dst, { mode, excludes: [], output: file });
    return { pair, file, text: readFileSync(file, 'utf8') };
  }

  it.each([
    [
      'cut short (no end record)',
      (t: string) => t.split('\n').slice(0, -2).join('\n'),
      'without its end record: it was cut short',
    ],
    [
      'a line that is not JSON',
      (t: string) => t.replace('"e":[', '"e":[{'),
      'is not JSON: the manifest is damaged',
    ],
    ['not a manifest at all', () => '{"hello":"world"}\n', 'is not an sms-agent manifest'],
    [
      'a last line that is not a record (words of another program), not a cut one',
      (t: string) => `${t.split('\n').slice(0, -2).join('\n')}\nsomething went wrong\n`,
      'is not JSON: the manifest is damaged',
    ],
    [
      'a record of the wrong shape',
      (t: string) => t.replace('"k":"f"', '"k":"?"'),
      'is not a directory record',
    ],
    [
      'a hash of another length than the header names',
      (t: string) => t.replace(/"h":"([0-9a-f]{32})"/, '"h":"$1$1"'),
      'a hash that is not a xxh128 hash: the manifest is damaged',
    ],
    [
      // `sms-agent manifest … >> file` run twice: the second would be read by nobody
      'two manifests in one file',
      (t: string) => `${t}${t}`,
      'has more lines after its end record (line 5): two manifests in one file',
    ],
    [
      'a line added after the end record, after blank ones',
      (t: string) => `${t}\n\n{"d":"extra","e":[]}\n`,
      'has more lines after its end record (line 7)',
    ],
    [
      'a line added after the end record',
      (t: string) => `${t}{"d":"extra","e":[]}\n`,
      'has more lines after its end record',
    ],
    [
      'a hash the agent does not know',
      (t: string) => t.replace('"hash":"xxh128"', '"hash":"md5"'),
      'hashes its files with "md5", which this sms-agent does not know (it knows xxh128 and sha256)',
    ],
  ])('%s', async (_name, damage, message) => {
    const { pair, file, text } = await manifestOf({ a: '1', sub: { b: '2' } }, 'content');
    writeFileSync(file, damage(text));
    const run = await verifyContent(pair.src, file);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
  });

  it('a run that fails mid-way marks its --report incomplete, so that it is not read as the whole list', async () => {
    const { pair, file, text } = await manifestOf({ a: '1', sub: { b: '2' } });
    writeFileSync(file, text.split('\n').slice(0, -2).join('\n'));
    const report = join(pair.dir, 'report.ndjson');
    writeFileSync(report, '{"earlier":"report"}\n');
    const run = await runAgent([
      'verify',
      '--source',
      pair.src,
      '--target-manifest',
      file,
      '--report',
      report,
    ]);
    expect(run.code).toBe(2);
    const lines = readFileSync(report, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.at(-1)).toEqual({
      incomplete: true,
      reason: expect.stringMatching(
        /^the verification failed \(.*cut short.*\): this report lists only what was found until then$/,
      ),
    });
    expect(lines).not.toContainEqual({ earlier: 'report' });
    // and the re-sync list made of it says so
    const list = await runAgent(['resync-list', report]);
    expect(list.stderr).toContain(`${report} is incomplete (the verification failed`);
  });

  it('a gzipped manifest cut in the middle', async () => {
    const { pair, file, text } = await manifestOf({ a: '1', sub: { b: '2' } });
    const gz = gzipSync(text);
    writeFileSync(`${file}.gz`, gz.subarray(0, gz.length - 12));
    const run = await runAgent(['verify', '--source', pair.src, '--target-manifest', `${file}.gz`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cannot be read past line|cut short/);
  });

  it('a quick manifest used for content mode', async () => {
    const { pair, file } = await manifestOf({ a: '1' }, 'quick');
    const run = await verifyContent(pair.src, file);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('has no content hashes (it was made in quick mode)');
  });

  it('a manifest of another scope (made with --exclude or --dir) than the verify: refused, never files counted missing', async () => {
    const { pair, file } = await manifestOf({ keep: 'k', 'a.log': 'l', sub: { b: '2' }, other: { c: '3' } });
    await writeManifest(pair.dst, { mode: 'quick', excludes: ['*.log'], output: file });
    const excluded = await verifyThrough(pair.src, file);
    expect(excluded.code).toBe(2);
    expect(excluded.stderr).toContain(
      'was made with --exclude "*.log": what that leaves out is not in it, and would count as missing; verify with the same excludes',
    );
    const same = await verifyThrough(pair.src, file, '--exclude', '*.log');
    expect(same.code, same.stderr).toBe(0);
    // the same rule as an --exclude-from line may write it, with rsync's prefix
    const rules = join(pair.dir, 'rules.txt');
    writeFileSync(rules, '- *.log\n');
    const fromFile = await verifyThrough(pair.src, file, '--exclude-from', rules);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    await writeManifest(pair.dst, { mode: 'quick', excludes: [], dirs: ['sub'], output: file });
    for (const dirs of [[], ['--dir', 'other']]) {
      const elsewhere = await verifyThrough(pair.src, file, ...dirs);
      expect(elsewhere.code).toBe(2);
      expect(elsewhere.stderr).toContain(`describes only --dir "sub" of ${pair.dst}, not`);
    }
    const inside = await verifyThrough(pair.src, file, '--dir', 'sub');
    expect(inside.code, inside.stderr).toBe(0);
    // --dir . describes the whole tree: any directory may be verified through it
    await writeManifest(pair.dst, { mode: 'quick', excludes: [], dirs: [''], output: file });
    const whole = await verifyThrough(pair.src, file, '--dir', 'other');
    expect(whole.code, whole.stderr).toBe(0);
  });

  it('a missing manifest file, and both --target and --target-manifest', async () => {
    const pair = treePair({}, {});
    pairs.push(pair);
    const missing = await runAgent([
      'verify',
      '--source',
      pair.src,
      '--target-manifest',
      join(pair.dir, 'nope'),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read the manifest');
    const both = await runAgent([
      'verify',
      '--source',
      pair.src,
      '--target',
      pair.dst,
      '--target-manifest',
      'x',
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain(
      'give the target as --target DIR (or host:DIR over ssh) or as --target-manifest FILE (one of them)',
    );
  });
});

describe('sms-agent manifest (the CLI)', () => {
  it('writes a gzipped manifest that verify reads', async () => {
    const pair = treePair({ a: '1', b: { c: '2' } }, { a: '1', b: { c: '2' } });
    pairs.push(pair);
    const file = join(pair.dir, 'target.ndjson.gz');
    const made = await runAgent(['manifest', pair.dst, '--mode', 'content', '-o', file]);
    expect(made.code).toBe(0);
    expect(made.stderr).toBe(`manifest of ${pair.dst}: 2 files in 2 directories (content) in ${file}\n`);
    const run = await verifyContent(pair.src, file, '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).consistency_result[0]).toMatchObject({
      num_total_files: 2,
      num_different_files: 0,
    });
  });

  it('writes to stdout without -o', async () => {
    const pair = treePair({}, { a: '1' });
    pairs.push(pair);
    const run = await runAgent(['manifest', pair.dst]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('writes the same manifest with worker threads as without, in both modes', async () => {
    // deep and wide, so that the workers describe directories ahead and out of order
    const wide: Tree = {};
    for (let i = 0; i < 40; i++)
      wide[`d${i}`] = { [`f${i}`]: 'x'.repeat(i), sub: { deeper: { [`g${i}`]: String(i) } }, empty: {} };
    const pair = treePair({}, { ...wide, top: 'top', ln: { link: 'top' }, pipe: { fifo: true }, z: '' });
    pairs.push(pair);
    writeFileSync(join(pair.dst, 'd3', 'new\nline'), 'n');
    writeFileSync(Buffer.concat([Buffer.from(`${pair.dst}/d7/`), Buffer.from([0xff, 0xfe])]), 'b');
    const body = (file: string) => readFileSync(file, 'utf8').split('\n').slice(1, -2);
    for (const mode of ['quick', 'content']) {
      const files = [0, 3].map((workers) => join(pair.dir, `${mode}-${workers}.ndjson`));
      for (const [k, workers] of [0, 3].entries()) {
        const run = await runAgent([
          'manifest',
          pair.dst,
          '--mode',
          mode,
          '--workers',
          String(workers),
          '-o',
          files[k]!,
        ]);
        expect(run.code, run.stderr).toBe(0);
        expect(run.stderr).toContain(`: 86 files in 161 directories (${mode})`);
      }
      const [inThread, withWorkers] = files.map(body);
      expect(inThread!.length).toBe(161);
      expect(withWorkers).toEqual(inThread);
      // each directory's block follows its parent's, depth first
      expect(inThread!.map((l) => JSON.parse(l).d).slice(0, 6)).toEqual([
        '',
        'd0',
        'd0/empty',
        'd0/sub',
        'd0/sub/deeper',
        'd1',
      ]);
    }
  });

  it('verifies content through a manifest with the source hashed on worker threads as in this thread', async () => {
    const source: Tree = {};
    const target: Tree = {};
    // more directories than are hashed while the next ones are merged (16), so that some are counted
    // before the walk ends and some after
    const DIRS = 40;
    for (let d = 0; d < DIRS; d++) {
      const files: Tree = {};
      const copies: Tree = {};
      for (let f = 0; f < 30; f++) {
        files[`f${f}`] = `${d}-${f}-`.repeat(f * 40);
        // every seventh file: one byte changed, same size and time (only a hash tells)
        copies[`f${f}`] = f % 7 === 3 ? `${d}-${f}-`.repeat(f * 40).replace(/.$/, '#') : files[`f${f}`]!;
      }
      source[`d${d}`] = files;
      target[`d${d}`] = { ...copies, ...(d === 5 ? { extra: 'x' } : {}) };
    }
    const pair = treePair(source, target);
    pairs.push(pair);
    writeFileSync(Buffer.concat([Buffer.from(`${pair.src}/d1/`), Buffer.from([0xe9])]), 'latin1');
    writeFileSync(Buffer.concat([Buffer.from(`${pair.dst}/d1/`), Buffer.from([0xe9])]), 'latinX');
    const file = join(pair.dir, 'm.ndjson');
    expect((await runAgent(['manifest', pair.dst, '--mode', 'content', '-o', file])).code).toBe(0);
    const runs = [];
    for (const workers of ['0', '3']) {
      const report = join(pair.dir, `report-${workers}.ndjson`);
      const run = await verifyContent(pair.src, file, '--workers', workers, '--json', '--report', report);
      expect(run.code, run.stderr).toBe(1);
      runs.push({
        result: JSON.parse(run.stdout).consistency_result,
        report: readFileSync(report, 'utf8').split('\n').sort(),
      });
    }
    // an excluded file is not read on either way
    const excluded = await verifyContent(pair.src, file, '--workers', '3', '--exclude', 'f2?', '--json');
    const inThread = await verifyContent(pair.src, file, '--workers', '0', '--exclude', 'f2?', '--json');
    expect(JSON.parse(excluded.stdout).bytes_compared).toBe(JSON.parse(inThread.stdout).bytes_compared);
    expect(JSON.parse(excluded.stdout).consistency_result).toEqual(
      JSON.parse(inThread.stdout).consistency_result,
    );
    expect(runs[0]!.result[0]).toMatchObject({
      num_total_files: DIRS * 30 + 1,
      num_different_files: DIRS * 4 + 1,
      num_target_more_files: 1,
    });
    expect(runs[1]).toEqual(runs[0]);
  });

  // quick mode on a local disk walks in the main thread, from inside each directory (engine/cwd.ts):
  // relative paths given to the CLI still mean what they meant where it was started
  it('a relative tree, -o and --target-manifest from another working directory: the file where it was asked, none in the tree', async () => {
    const tree: Tree = {};
    for (let d = 0; d < 12; d++)
      tree[`d${d}`] = Object.fromEntries(Array.from({ length: 8 }, (_, f) => [`f${f}`, `${d}.${f}`]));
    const pair = treePair(tree, tree);
    pairs.push(pair);
    const made = await runAgent(['manifest', 'dst', '-o', 'made.ndjson'], {}, 60_000, pair.dir);
    expect(made.code, made.stderr).toBe(0);
    expect(existsSync(join(pair.dir, 'made.ndjson'))).toBe(true);
    expect(execFileSync('find', [pair.dst, '-name', 'made.ndjson*']).toString()).toBe('');
    const verified = await runAgent(
      ['verify', '--source', 'src', '--target-manifest', 'made.ndjson', '--json'],
      {},
      60_000,
      pair.dir,
    );
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout).consistency_result[0]).toMatchObject({
      num_total_files: 96,
      num_different_files: 0,
      num_target_miss_files: 0,
      num_target_more_files: 0,
    });
  });

  it.skipIf(!existsSync('/dev/full'))(
    'a full device ends the run with the error, its worker threads ended (exit 2, no hang)',
    async () => {
      const tree: Tree = {};
      for (let d = 0; d < 20; d++) tree[`d${d}`] = { a: 'x'.repeat(d), b: { c: 'y' } };
      const pair = treePair({}, tree);
      pairs.push(pair);
      const run = await runAgent(
        ['manifest', pair.dst, '--mode', 'content', '--workers', '2', '-o', '/dev/full'],
        {},
        20_000,
      );
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('cannot write /dev/full: no space left on device (ENOSPC)');
    },
  );

  it.skipIf(!existsSync('/dev/full'))(
    'a report that cannot be written while source files are being hashed ends the run with that error (exit 2)',
    async () => {
      // a directory whose 64 MB go to the workers, then one whose 1,200 missing files fill the report
      // (a first batch of it written while the workers still hash)
      const big = () =>
        Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`f${i}`, `${i}`.repeat(4 << 20)]));
      const pair = treePair(
        { a: big(), b: Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`m${i}`, 'x'])) },
        { a: big() },
      );
      pairs.push(pair);
      const file = join(pair.dir, 'm.ndjson');
      expect((await runAgent(['manifest', pair.dst, '--mode', 'content', '-o', file])).code).toBe(0);
      const run = await verifyContent(pair.src, file, '--workers', '2', '--report', '/dev/full');
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(
        'cannot write the report /dev/full: no space left on device (ENOSPC): free space there, or give --report a file on another filesystem',
      );
      expect(run.stderr).not.toMatch(/unhandled|manifest workers were ended/i);
    },
  );

  it('writes to a pipe or a device as itself, without renaming over it', async () => {
    const pair = treePair({}, { a: '1' });
    pairs.push(pair);
    const fifo = join(pair.dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = new Promise<string>((resolve, reject) =>
      execFile('cat', [fifo], (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    const run = await runAgent(['manifest', pair.dst, '-o', fifo]);
    expect(run.code, run.stderr).toBe(0);
    expect((await reader).trim().split('\n')).toHaveLength(3);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(existsSync(`${fifo}.partial`)).toBe(false);
  });

  it('refuses a directory that does not exist', async () => {
    const run = await runAgent(['manifest', '/nonexistent/dir']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('/nonexistent/dir is not a directory');
  });

  it('exits 2 for a --dir it cannot read (permission denied, a loop of links), where one not there has no block', async () => {
    const pair = treePair({}, { open: { a: '1' }, plain: 'a file', locked: { data: { b: '2' } } });
    pairs.push(pair);
    symlinkSync('loop', join(pair.dst, 'loop'));
    // not there, and a file on the way (plain is a file): no block, as a local verify counts them missing
    const absent = await runAgent([
      'manifest',
      pair.dst,
      '--dir=nope',
      '--dir=plain/x',
      '--dir=open',
      '--output',
      '-',
    ]);
    expect(absent.code, absent.stderr).toBe(0);
    for (const dir of ['nope', 'plain/x'])
      expect(absent.stderr).toContain(
        `notice: ${pair.dst}/${dir} is not a directory: the manifest has no block for it`,
      );
    const output = join(pair.dir, 'loop.manifest');
    const loop = await runAgent(['manifest', pair.dst, '--dir=loop', '--dir=open', '--output', output]);
    expect(loop.code).toBe(2);
    expect(loop.stderr).toContain(
      `cannot read ${pair.dst}/loop: too many symbolic links encountered (ELOOP)`,
    );
    // nothing is left under its name, nor a partial file
    expect(existsSync(output) || existsSync(`${output}.partial`)).toBe(false);
    // what an ordinary user meets (the tests run as root, which reads everything)
    chmodSync(pair.dir, 0o755);
    chmodSync(pair.dst, 0o755);
    chmodSync(join(pair.dst, 'locked'), 0o700);
    const denied = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        AGENT_BIN,
        'manifest',
        pair.dst,
        '--dir=locked/data',
        '--output',
        '-',
      ],
      // a home it cannot write: no code cache of its own left anywhere
      { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: pair.dir } },
    );
    expect(denied.status).toBe(2);
    expect(denied.stderr).toContain(`cannot read ${pair.dst}/locked/data: permission denied (EACCES)`);
  });
});
