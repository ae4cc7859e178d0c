import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AGENT_BIN, runAgent } from '../test-support/cli.js';
import { reportFindings } from '../test-support/report.js';
import { type Tree, treePair } from '../test-support/tree.js';

const pairs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.cleanup();
});
function pair(source: Tree, target: Tree | undefined) {
  const p = treePair(source, target);
  pairs.push(p);
  return p;
}

/** A tree of many directories, so that the work is shared among the worker threads. */
function bigTree(dirs: number, files: number, change: (d: number, f: number) => string | undefined): Tree {
  const tree: Tree = {};
  for (let d = 0; d < dirs; d++) {
    const dir: Tree = {};
    for (let f = 0; f < files; f++) {
      const content = change(d, f);
      if (content !== undefined) dir[`f${f}.txt`] = content;
    }
    tree[`d${d}`] = { nested: dir };
  }
  return tree;
}

describe('sms-agent verify (the built CLI, with worker threads)', () => {
  it('prints a table and a summary, and exits 0 when consistent', async () => {
    const p = pair({ a: '1', b: { c: '2' } }, { a: '1', b: { c: '2' } });
    const run = await runAgent(['verify', '--source', p.src, '--target', p.dst]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^DIRECTORY\s+TOTAL\s+DIFFERENT\s+MISSING\s+EXTRA\s+UNREADABLE\s+VERDICT\n/);
    expect(run.stdout).toContain(`${p.src}      2          0        0      0           0  CONSISTENT`);
    expect(run.stdout).toMatch(
      /1 directory verified \(quick\) in [\d.]+ s: 1 consistent, 0 inconsistent; 2 files, 0 different, 0 missing, 0 extra/,
    );
    expect(run.stderr).toBe('');
  });

  it('counts the same with worker threads as the ground truth of a generated tree', async () => {
    // 40 directories of 50 files: every 7th file changed in size, every 11th missing, 3 extra per 10th directory
    const source = bigTree(40, 50, (d, f) => `content ${d}/${f}`);
    const target = bigTree(40, 50, (d, f) =>
      f % 11 === 0 ? undefined : f % 7 === 0 ? `changed!! ${d}/${f}` : `content ${d}/${f}`,
    );
    for (let d = 0; d < 40; d += 10)
      Object.assign((target[`d${d}`] as Tree).nested as Tree, { x1: 'x', x2: 'x', x3: 'x' });
    const p = pair(source, target);
    const missing = 40 * Array.from({ length: 50 }, (_, f) => f).filter((f) => f % 11 === 0).length;
    const different =
      40 * Array.from({ length: 50 }, (_, f) => f).filter((f) => f % 11 !== 0 && f % 7 === 0).length;
    for (const workers of ['1', '2', '4']) {
      const run = await runAgent([
        'verify',
        '--source',
        p.src,
        '--target',
        p.dst,
        '--json',
        '--workers',
        workers,
      ]);
      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout).consistency_result[0]).toEqual({
        dir_check: p.src,
        num_total_files: 2000,
        num_different_files: different,
        num_target_miss_files: missing,
        num_target_more_files: 12,
      });
    }
  });

  it('writes --json whose consistency_result is the upload body, and an NDJSON --report', async () => {
    const p = pair({ a: { x: '1', y: '2' }, b: { z: '3' } }, { a: { x: '1' }, b: { z: '33' } });
    const report = join(p.dir, 'report.ndjson');
    const run = await runAgent([
      'verify',
      '--source',
      p.src,
      '--target',
      p.dst,
      '--dir',
      'a',
      '--dir',
      'b',
      '--json',
      '--report',
      report,
    ]);
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout);
    expect(doc.consistency_result).toEqual([
      {
        dir_check: join(p.src, 'a'),
        num_total_files: 2,
        num_different_files: 0,
        num_target_miss_files: 1,
        num_target_more_files: 0,
      },
      {
        dir_check: join(p.src, 'b'),
        num_total_files: 1,
        num_different_files: 1,
        num_target_miss_files: 0,
        num_target_more_files: 0,
      },
    ]);
    expect(doc.consistent).toBe(false);
    const lines = reportFindings(report);
    expect(lines).toEqual(
      expect.arrayContaining([
        { dir_check: join(p.src, 'a'), category: 'missing', path: 'y', reason: 'file missing at the target' },
        {
          dir_check: join(p.src, 'b'),
          category: 'different',
          path: 'z',
          reason: 'size 1 at the source, 2 at the target',
        },
      ]),
    );
    expect(run.stderr).toBe(`report: 2 paths in ${report}\n`);
  });

  it('reports a name that is not UTF-8 escaped, with its exact bytes in base64', async () => {
    const p = pair({}, {});
    const name = Buffer.from([0x66, 0xff, 0x5c, 0x6f]); // f, an invalid byte, a backslash, o
    writeFileSync(Buffer.concat([Buffer.from(`${p.src}/`), name]), 'x');
    const report = join(p.dir, 'r.ndjson');
    const run = await runAgent(['verify', '--source', p.src, '--target', p.dst, '--report', report]);
    expect(run.code).toBe(1);
    expect(reportFindings(report)).toMatchObject([
      { path: 'f\\xff\\\\o', path_base64: name.toString('base64'), category: 'missing' },
    ]);
  });

  it('does not hang on FIFOs in content mode', async () => {
    const p = pair({ fifo: { fifo: true }, f: 'data' }, { fifo: { fifo: true }, f: 'data' });
    const run = await runAgent(
      ['verify', '--source', p.src, '--target', p.dst, '--mode', 'content'],
      {},
      20_000,
    );
    expect(run.code).toBe(0);
  });

  it('exits 2 with a clear message when the source is missing', async () => {
    const p = pair({}, {});
    const run = await runAgent(['verify', '--source', join(p.dir, 'nope'), '--target', p.dst]);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toBe(`sms-agent: source directory ${join(p.dir, 'nope')} does not exist\n`);
  });

  it('warns and counts everything missing when the target is missing (exit 1)', async () => {
    const p = pair({ a: '1' }, undefined);
    const run = await runAgent(['verify', '--source', p.src, '--target', p.dst, '--json']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`warning: target directory ${p.dst} does not exist`);
    expect(JSON.parse(run.stdout).consistency_result[0].num_target_miss_files).toBe(1);
  });

  it.each([
    [['verify', '--target', '/tmp'], "error: required option '--source <dir>' not specified"],
    [
      ['verify', '--source', '/tmp', '--target', '/tmp', '--mode', 'fast'],
      "argument 'fast' is invalid. Allowed choices are quick, content",
    ],
    [
      ['verify', '--source', '/tmp', '--target', '/tmp', '--workers', 'many'],
      "option '--workers <n>' argument 'many' is invalid. expected a whole number 0..64",
    ],
    [
      // in the daemon's one thread a large file would hold up the lease's heartbeats until it ran out
      ['daemon', '--workers', '0'],
      "option '--workers <n>' argument '0' is invalid. expected a whole number 1..64",
    ],
    [
      // 0 would time every attempt out at once and spool every verdict
      ['flush', '--timeout', '0'],
      "option '--timeout <ms>' argument '0' is invalid. expected a whole number 1..3600000",
    ],
    [['verify', '--source', '/tmp', '--target', '/tmp', '--upload'], 'sms-agent: --upload needs --task ID'],
    [
      ['verify', '--source', '/tmp', '--target', '/tmp', '--upload', '--task', 'x'.repeat(37)],
      'task id: expected at most 36 characters, received 37',
    ],
    [
      ['verify', '--source', '/tmp', '--target', '/tmp', '--exclude', ''],
      'an empty pattern would exclude nothing useful',
    ],
    [['frobnicate'], "error: unknown command 'frobnicate'"],
    [
      ['verify', '--source', '/tmp', '--target', '/tmp', '--report', '-'],
      "option '--report <file>' argument '-' is invalid. give a file (standard output carries the table, or --json)",
    ],
  ])('exits 2 on a usage error: %j', async (args, message) => {
    const run = await runAgent(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
  });

  it.each([
    ['web-01 ', 'sms-agent: --name "web-01 ": cannot start or end with a space'],
    ['web\n01', 'sms-agent: --name "web\\n01": cannot hold a control character'],
    ['', 'sms-agent: --name "": expected an agent name'],
  ])('daemon: exits 2 at the start on a --name the server would refuse: %j', async (name, message) => {
    const run = await runAgent(['daemon', '--name', name, '--endpoint', 'http://127.0.0.1:9', '--once'], {
      SMS_TOKEN: 'token',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('exits 2, never 0, when its output cannot be written (a full disk), and says why', () => {
    const p = pair({ a: 'same' }, { a: 'same' });
    for (const output of [[], ['--json']]) {
      const full = openSync('/dev/full', 'w');
      try {
        const run = spawnSync(
          process.execPath,
          [AGENT_BIN, 'verify', '--source', p.src, '--target', p.dst, ...output],
          {
            stdio: ['ignore', full, 'pipe'],
            encoding: 'utf8',
            timeout: 60_000,
          },
        );
        expect(run.status, run.stderr).toBe(2);
        expect(run.stderr).toContain(
          'sms-agent: cannot write to standard output: no space left on device (ENOSPC): what this run printed is incomplete',
        );
        expect(run.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
      } finally {
        closeSync(full);
      }
    }
    // the same for a command that writes as it goes (said once), and for --version, answered apart
    const report = join(p.dir, 'report.ndjson');
    writeFileSync(
      report,
      `${JSON.stringify({ dir_check: '/d', category: 'missing', path: 'a', reason: 'x' })}\n`,
    );
    for (const args of [['resync-list', report], ['--version']]) {
      const full = openSync('/dev/full', 'w');
      try {
        const run = spawnSync(process.execPath, [AGENT_BIN, ...args], {
          stdio: ['ignore', full, 'pipe'],
          encoding: 'utf8',
          timeout: 60_000,
        });
        expect(run.status, run.stderr).toBe(2);
        expect(run.stderr.match(/cannot write to standard output/g), run.stderr).toHaveLength(1);
        expect(run.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
      } finally {
        closeSync(full);
      }
    }
  });

  it('goes on to its own exit code when its standard error cannot be written (a closed pipe, a full disk)', () => {
    const spool = join(tmpdir(), `sms-agent-spool-${process.pid}-no-stderr`);
    const p = pair({ a: 'same' }, { a: 'other' });
    for (const [args, code] of [
      // says "nothing to deliver" there, and ends 0
      [['flush', '--endpoint', 'http://127.0.0.1:9', '--spool-dir', spool], 0],
      // warns that the target's directory is not there, and ends 1 (inconsistent) as it would
      [['verify', '--source', p.src, '--target', join(p.dir, 'nowhere')], 1],
    ] as const) {
      const full = openSync('/dev/full', 'w');
      try {
        const run = spawnSync(process.execPath, [AGENT_BIN, ...args], {
          stdio: ['ignore', 'pipe', full],
          encoding: 'utf8',
          env: { ...process.env, SMS_TOKEN: 'token' },
          timeout: 60_000,
        });
        expect(run.status, run.stdout).toBe(code);
      } finally {
        closeSync(full);
      }
    }
  });

  it('names SMS_TOKEN when the token cannot be sent (exit 2), and takes one with a line end', async () => {
    const bad = await runAgent(['flush', '--endpoint', 'http://127.0.0.1:9'], { SMS_TOKEN: 'two words' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('sms-agent: SMS_TOKEN: invalid token: expected printable ASCII characters');
    const spool = join(tmpdir(), `sms-agent-spool-${process.pid}-none`);
    const lineEnd = await runAgent(['flush', '--endpoint', 'http://127.0.0.1:9', '--spool-dir', spool], {
      SMS_TOKEN: 'token\r\n',
    });
    expect(lineEnd.code, lineEnd.stderr).toBe(0);
  });

  it('describes every option in --help', async () => {
    const help = await runAgent(['verify', '--help']);
    expect(help.code).toBe(0);
    for (const option of [
      '--source',
      '--target',
      '--dir',
      '--mode',
      '--exclude',
      '--exclude-from',
      '--modify-window',
      '--metadata',
      '--json',
      '--report',
      '--no-progress',
      '--workers',
      '--upload',
      '--task',
      '--endpoint',
      '--spool-dir',
      '--timeout',
      '--retries',
    ]) {
      expect(help.stdout).toContain(option);
    }
    const top = await runAgent(['--help']);
    expect(top.stdout).toContain('verify [options]');
    expect(top.stdout).toContain('flush [options]');
    expect(top.stdout).toContain('spool');
    expect(help.stdout).toContain('3 uploads kept in the spool for later');
    expect(help.stdout).toContain('130 or 143 interrupted by SIGINT or SIGTERM');
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(
      'or an access key: $SMS_ACCESS_KEY, $SMS_SECRET_KEY and $SMS_PROJECT_ID (one way only)',
    );
  });

  it('reads --exclude-from (one pattern a line, # comments) for verify and for manifest', async () => {
    const p = pair(
      { keep: 'k', 'a.log': 'l', cache: { x: '1' }, tmp: { y: '2' } },
      { keep: 'k', 'a.log': 'changed', cache: {}, tmp: { y: '22' } },
    );
    const list = join(p.dir, 'excludes.txt');
    writeFileSync(list, '# what changes on its own\n*.log\r\n\ncache/\n');
    const run = await runAgent([
      'verify',
      '--source',
      p.src,
      '--target',
      p.dst,
      '--exclude-from',
      list,
      '--exclude',
      '/tmp',
      '--json',
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).consistency_result[0].num_total_files).toBe(1);
    const manifest = join(p.dir, 'dst.manifest');
    const made = await runAgent(['manifest', p.dst, '-o', manifest, '--exclude-from', list]);
    expect(made.code).toBe(0);
    expect(made.stderr).toContain('2 files in 2 directories');
    const missing = await runAgent([
      'verify',
      '--source',
      p.src,
      '--target',
      p.dst,
      '--exclude-from',
      join(p.dir, 'nope'),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--exclude-from ${join(p.dir, 'nope')}: cannot read it (ENOENT)`);
  });

  it('counts the same with a long --exclude-from list (the workers start at once) on a small tree and a large one', async () => {
    const list = (dir: string) => {
      const file = join(dir, 'many.txt');
      const lines = Array.from(
        { length: 800 },
        (_, i) => [`cache-${i}`, `*.tmp${i}`, `d${i}/x/*.bak`][i % 3]!,
      );
      writeFileSync(file, `${[...lines, '*.log', 'skip/'].join('\n')}\n`);
      return file;
    };
    const small = pair({ keep: 'k', 'a.log': 'l', skip: { x: '1' } }, { keep: 'k', skip: {} });
    const run = await runAgent([
      'verify',
      '--source',
      small.src,
      '--target',
      small.dst,
      '--json',
      '--exclude-from',
      list(small.dir),
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).consistency_result[0].num_total_files).toBe(1);
    // 30 directories of 60 files, every 7th changed and every 13th missing, a .log file and a skip/ directory in each
    const source = bigTree(30, 60, (d, f) => `content ${d}/${f}`);
    const target = bigTree(30, 60, (d, f) =>
      f % 13 === 0 ? undefined : f % 7 === 0 ? `changed!! ${d}/${f}` : `content ${d}/${f}`,
    );
    for (let d = 0; d < 30; d++) {
      Object.assign(source[`d${d}`] as Tree, { 'x.log': 'a', skip: { y: 'b' } });
      Object.assign(target[`d${d}`] as Tree, { 'x.log': 'changed', skip: { z: 'c' } });
    }
    const big = pair(source, target);
    const files = Array.from({ length: 60 }, (_, f) => f);
    for (const workers of ['1', '2']) {
      const verified = await runAgent([
        'verify',
        '--source',
        big.src,
        '--target',
        big.dst,
        '--json',
        '--workers',
        workers,
        '--exclude-from',
        list(big.dir),
      ]);
      expect(verified.code).toBe(1);
      expect(JSON.parse(verified.stdout).consistency_result[0]).toEqual({
        dir_check: big.src,
        num_total_files: 1800,
        num_different_files: 30 * files.filter((f) => f % 13 !== 0 && f % 7 === 0).length,
        num_target_miss_files: 30 * files.filter((f) => f % 13 === 0).length,
        num_target_more_files: 0,
      });
    }
  });

  it('shows progress on a terminal, and none with --no-progress', async () => {
    const p = pair({ a: { x: '1' } }, { a: { x: '1' } });
    const { spawnSync } = await import('node:child_process');
    const { AGENT_BIN } = await import('../test-support/cli.js');
    // script(1) gives the agent a terminal
    const onTerminal = (extra: string) =>
      spawnSync(
        'script',
        [
          '-qec',
          `${process.execPath} ${AGENT_BIN} verify --source ${p.src} --target ${p.dst} ${extra}`,
          '/dev/null',
        ],
        {
          encoding: 'utf8',
          timeout: 30_000,
        },
      ).stdout;
    const shown = onTerminal('');
    expect(shown).toContain('\r\u001b[K'); // the line is redrawn in place
    expect(shown).toMatch(/\d[\d,]* entries \([\d,]+\/s\)/); // 1,000/s when the walk is quick
    expect(onTerminal('--no-progress')).not.toContain('entries (');
  });

  it('shows no progress when stderr is not a terminal', async () => {
    const p = pair({ a: '1' }, { a: '1' });
    const run = await runAgent(['verify', '--source', p.src, '--target', p.dst]);
    expect(run.stderr).toBe('');
  });
});

describe('sms-agent upload with a bad result file', () => {
  it.each([
    ['not json', 'is not JSON'],
    [
      '{"consistency_result":[{"dir_check":"/a","num_total_files":-1,"num_different_files":0,"num_target_miss_files":0,"num_target_more_files":0}]}',
      'consistency_result[0].num_total_files: expected integer >= 0, received -1',
    ],
    ['{"something":"else"}', 'consistency_result: is required'],
  ])('exits 2 naming the problem: %s', async (content, message) => {
    const p = pair({}, {});
    const file = join(p.dir, 'result.json');
    writeFileSync(file, content);
    const run = await runAgent(['upload', '--task', 't1', file], {
      SMS_ENDPOINT: 'http://127.0.0.1:1',
      SMS_TOKEN: 't',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('says that upload options given without --upload have no effect (nothing is uploaded)', async () => {
    const p = pair({}, {});
    const run = await runAgent([
      'verify',
      '--source',
      p.src,
      '--target',
      p.dst,
      '--endpoint',
      'http://127.0.0.1:1',
      '--spool-dir',
      join(p.dir, 'spool'),
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      'notice: --endpoint, --spool-dir have no effect without --upload (nothing is uploaded)',
    );
    expect(existsSync(join(p.dir, 'spool'))).toBe(false);
  });

  it('exits 2 at start for an endpoint without http:// or https:// (a host:port parses as a URL of scheme host:)', async () => {
    const p = pair({}, {});
    const run = await runAgent(['verify', '--source', p.src, '--target', p.dst, '--upload', '--task', 't1'], {
      SMS_ENDPOINT: 'localhost:1',
      SMS_TOKEN: 't',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'endpoint "localhost:1" is not an http:// or https:// URL (give http://HOST:PORT)',
    );
  });

  it('exits 2 when no server or credentials are configured', async () => {
    const p = pair({}, {});
    const file = join(p.dir, 'result.json');
    writeFileSync(file, '{"consistency_result":[]}');
    expect((await runAgent(['upload', '--task', 't1', file])).stderr).toContain(
      'no server to upload to: give --endpoint URL or set SMS_ENDPOINT',
    );
    expect(
      (await runAgent(['upload', '--task', 't1', file], { SMS_ENDPOINT: 'http://127.0.0.1:1' })).stderr,
    ).toContain('no credentials');
  });

  it.each([
    [{ SMS_ACCESS_KEY: 'ABCDEFGHIJ0123456789' }, 'SMS_ACCESS_KEY is set without SMS_SECRET_KEY'],
    [{ SMS_SECRET_KEY: 's'.repeat(40) }, 'SMS_SECRET_KEY is set without SMS_ACCESS_KEY'],
    [
      {
        SMS_ACCESS_KEY: 'ABCDEFGHIJ0123456789',
        SMS_SECRET_KEY: 's'.repeat(40),
        SMS_USERNAME: 'admin',
        SMS_PASSWORD: 'pw',
      },
      'credentials given two ways: SMS_ACCESS_KEY and SMS_SECRET_KEY, and SMS_USERNAME, SMS_PASSWORD',
    ],
    [
      { SMS_ACCESS_KEY: 'ABCDEFGHIJ0123456789', SMS_SECRET_KEY: 's'.repeat(40), SMS_TOKEN: 't' },
      'credentials given two ways: SMS_ACCESS_KEY and SMS_SECRET_KEY, and SMS_TOKEN',
    ],
    [{ SMS_ACCESS_KEY: 'lower-case', SMS_SECRET_KEY: 's'.repeat(40) }, 'expected an access key'],
    [
      { SMS_USERNAME: 'admin', SMS_PASSWORD: 'pw', SMS_PROJECT_ID: 'p-1' },
      'SMS_PROJECT_ID goes with an access key',
    ],
  ])('exits 2 for access-key settings that cannot be right: %o', async (env, message) => {
    const p = pair({}, {});
    const file = join(p.dir, 'result.json');
    writeFileSync(file, '{"consistency_result":[]}');
    const run = await runAgent(['upload', '--task', 't1', file], {
      SMS_ENDPOINT: 'http://127.0.0.1:1',
      ...env,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});

describe('small things a user met', () => {
  it('says 1 file, not 1 files', async () => {
    const p = pair({ a: '1' }, { a: '1' });
    const run = await runAgent(['verify', '--source', p.src, '--target', p.dst]);
    expect(run.stdout).toContain('1 directory verified');
    expect(run.stdout).toContain('; 1 file, 0 different');
  });

  it('puts the inconsistent directories first in the table', async () => {
    const p = pair(
      { a: { x: '1' }, b: { y: '2' }, c: { z: '3' } },
      { a: { x: '1' }, b: { y: '22' }, c: { z: '3' } },
    );
    const run = await runAgent([
      'verify',
      '--source',
      p.src,
      '--target',
      p.dst,
      '--dir',
      'a',
      '--dir',
      'b',
      '--dir',
      'c',
    ]);
    const rows = run.stdout.split('\n').slice(1, 4);
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual([
      join(p.src, 'b'),
      join(p.src, 'a'),
      join(p.src, 'c'),
    ]);
    expect(rows[0]).toContain('INCONSISTENT');
  });

  it('warns when the source and the target are one directory', async () => {
    const p = pair({ a: '1' }, {});
    const run = await runAgent(['verify', '--source', p.src, '--target', `${p.src}/.`]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`warning: the source and the target are the same directory (${p.src})`);
  });

  it('documents --workers 0 and counts the same with it', async () => {
    const p = pair({ a: '1', b: { c: '2' } }, { a: '1', b: { c: '3!' } });
    const run = await runAgent(['verify', '--source', p.src, '--target', p.dst, '--workers', '0', '--json']);
    expect(JSON.parse(run.stdout).consistency_result[0].num_different_files).toBe(1);
    const help = await runAgent(['verify', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('(0: none, all in this thread;');
  });
});

describe('what a failed run leaves', () => {
  it('leaves an earlier report as it was when the arguments are refused', async () => {
    const p = pair({ a: '1' }, { a: '1' });
    const report = join(p.dir, 'report.ndjson');
    writeFileSync(report, 'an earlier report\n');
    const run = await runAgent([
      'verify',
      '--source',
      join(p.dir, 'nope'),
      '--target',
      p.dst,
      '--report',
      report,
    ]);
    expect(run.code).toBe(2);
    expect(readFileSync(report, 'utf8')).toBe('an earlier report\n');
  });

  it('still shows the verdict when the spool cannot be written, and exits 2 saying nothing was uploaded', async () => {
    const p = pair({ a: '1' }, { a: '2!' });
    const notADirectory = join(p.dir, 'file');
    writeFileSync(notADirectory, '');
    const run = await runAgent(
      [
        'verify',
        '--source',
        p.src,
        '--target',
        p.dst,
        '--json',
        '--upload',
        '--task',
        'a-task',
        '--endpoint',
        'http://127.0.0.1:9',
        '--spool-dir',
        join(notADirectory, 'spool'),
      ],
      { SMS_TOKEN: 'token' },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('error: nothing was uploaded:');
    const json = JSON.parse(run.stdout);
    expect(json.consistency_result[0].num_different_files).toBe(1);
    expect(json.upload).toMatchObject({ status: 'refused', delivered: 0 });
  });
});

describe('options that change nothing, and a manifest that is no file', () => {
  it('says so rather than ignoring them', async () => {
    const p = pair({ a: '1' }, { a: '1' });
    const run = await runAgent([
      'verify',
      '--source',
      p.src,
      '--target',
      p.dst,
      '--mode',
      'content',
      '--recheck-delay',
      '3',
      '--modify-window',
      '2',
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('notice: --recheck-delay has no effect without --recheck');
    expect(run.stderr).toContain('notice: --modify-window has no effect in content mode');
    const quiet = await runAgent(['verify', '--source', p.src, '--target', p.dst]);
    expect(quiet.stderr).toBe('');
  });

  it('refuses a directory given as the manifest, saying what to give', async () => {
    const p = pair({ a: '1' }, { a: '1' });
    const run = await runAgent(['verify', '--source', p.src, '--target-manifest', p.dst]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `sms-agent: ${p.dst} is not a file: give the manifest made with sms-agent manifest DIR -o FILE\n`,
    );
  });
});
