import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { AGENT_BIN } from '../test-support/cli.js';
import { reportFindings } from '../test-support/report.js';
import { type Tree, treePair } from '../test-support/tree.js';

// The tests run as root, which reads everything. What an ordinary user meets is tested by running
// the agent as nobody (uid and gid 65534, no supplementary groups) through setpriv from util-linux.
function asNobody(args: string[]) {
  return spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, AGENT_BIN, ...args],
    { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: '/tmp' } },
  );
}

/** 600 files, as in the report that found this: a user without permission on part of the target. */
function data(): Tree {
  const files: Tree = {};
  for (let i = 0; i < 590; i++) files[`f${String(i).padStart(3, '0')}`] = `content ${i}`;
  return {
    open: 'o',
    data: files,
    'locked-dir': {
      a: '1',
      b: '2',
      c: '3',
      d: '4',
      e: '5',
      f: '6',
      g: '7',
      h: '8',
      i: '9',
      sub: { k: '11' },
    },
  };
}

const pair = treePair(data(), data());
// nobody must reach the trees: the temporary directory is root's 0700
chmodSync(pair.dir, 0o755);
// 487 of the target's files can be listed and stat'ed but not read (content mode cannot compare them) …
for (let i = 0; i < 487; i++) chmodSync(join(pair.dst, 'data', `f${String(i).padStart(3, '0')}`), 0o600);
// … and a directory of 10 files (one in a subdirectory) cannot be listed at all
chmodSync(join(pair.dst, 'locked-dir'), 0o700);
afterAll(() => pair.cleanup());

describe('entries the agent cannot read, as an ordinary user', () => {
  it('count as different and every run says so: a warning with the number and the first paths, unreadable in --json, exit 1', () => {
    // somewhere nobody may write: /tmp
    const report = join(tmpdir(), `sms-agent-report-${process.pid}.ndjson`);
    onTestFinished(() => rmSync(report, { force: true }));
    const run = asNobody([
      'verify',
      '--source',
      pair.src,
      '--target',
      pair.dst,
      '--mode',
      'content',
      '--json',
      '--report',
      report,
    ]);
    expect(run.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    expect(run.status).toBe(1);
    const json = JSON.parse(run.stdout);
    expect(json.consistency_result[0]).toMatchObject({
      num_total_files: 601,
      num_different_files: 497,
      num_target_miss_files: 0,
      // the directory that cannot be listed: what it holds is unknown
      num_target_more_files: 1,
    });
    expect(json.directories[0].unreadable).toBe(498);
    expect(json.warnings).toHaveLength(1);
    expect(json.warnings[0]).toContain(`498 entries of ${pair.src} could not be read`);
    expect(json.warnings[0]).toContain('data/f000 (cannot read the target: permission denied (EACCES))');
    expect(json.warnings[0]).toContain('and 493 more (--report FILE names every one)');
    // the same warning on stderr, without --json too
    expect(run.stderr).toContain(`warning: 498 entries of ${pair.src} could not be read`);
    expect(run.stderr).not.toContain('EACCES: EACCES');
    const lines = reportFindings(report);
    expect(lines.filter((l) => l.category === 'error')).toHaveLength(498);
    expect(lines.filter((l) => l.category === 'missing')).toEqual([]);
    // the files below the directory that cannot be listed are unknown at the target, not missing
    expect(lines.some((l) => l.path === 'locked-dir/sub/k' && l.category === 'error')).toBe(true);
    expect(lines).toContainEqual(
      expect.objectContaining({
        category: 'error',
        path: 'locked-dir/a',
        reason: 'cannot list the target directory: permission denied (EACCES)',
      }),
    );
  });

  it('shows the number in the table, and quick mode (which reads no bytes) meets only the directory', () => {
    const run = asNobody(['verify', '--source', pair.src, '--target', pair.dst]);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^DIRECTORY\s+TOTAL\s+DIFFERENT\s+MISSING\s+EXTRA\s+UNREADABLE\s+VERDICT\n/);
    expect(run.stdout).toMatch(new RegExp(`${pair.src}\\s+601\\s+10\\s+0\\s+1\\s+11\\s+INCONSISTENT`));
    expect(run.stdout).toContain('; 11 could not be read');
    expect(run.stderr).toContain(`warning: 11 entries of ${pair.src} could not be read`);
  });

  it('--recheck keeps them different and unreadable: a target it cannot search is no missing file', () => {
    const run = asNobody([
      'verify',
      '--source',
      pair.src,
      '--target',
      pair.dst,
      '--recheck',
      '--recheck-delay',
      '0',
      '--json',
    ]);
    expect(run.status).toBe(1);
    const json = JSON.parse(run.stdout);
    expect(json.consistency_result[0]).toMatchObject({
      num_total_files: 601,
      num_different_files: 10,
      num_target_miss_files: 0,
      num_target_more_files: 1,
    });
    expect(json.directories[0]).toMatchObject({ unreadable: 11, transient: 0 });
    expect(json.warnings[0]).toContain('11 entries of');
  });

  it.each([
    ['the source lacks', { open: 'o' }, 0o700, [], 1, 0],
    ['the source has no file under', { open: 'o', data: { empty: {} } }, 0o700, [], 1, 0],
    // searchable, not listable (a 0711 home directory): the recheck finds data/a equal, never the rest
    [
      'the recheck finds no more in',
      { open: 'o', data: { a: 'a' } },
      0o711,
      ['--recheck', '--recheck-delay', '0'],
      2,
      1,
    ],
  ] as const)(
    'counts a target directory that cannot be listed, where %s, as one extra file: never consistent unseen',
    (_, source, mode, recheck, total, transient) => {
      const target: Tree = { open: 'o', data: { a: 'a', hidden: 'h', deeper: { more: 'm' } } };
      const locked = treePair(source as Tree, target);
      try {
        chmodSync(locked.dir, 0o755);
        chmodSync(join(locked.dst, 'data'), mode);
        // through the filesystem, and (without the recheck, which needs the target mounted) a manifest made there
        const targets = [['--target', locked.dst]];
        if (recheck.length === 0) {
          const made = asNobody(['manifest', locked.dst]);
          expect(made.status, made.stderr).toBe(0);
          const file = join(locked.dir, 'target.manifest');
          writeFileSync(file, made.stdout);
          targets.push(['--target-manifest', file]);
        }
        for (const targetArgs of targets) {
          const run = asNobody(['verify', '--source', locked.src, ...targetArgs, ...recheck, '--json']);
          expect(run.status, `${targetArgs[0]}: ${run.stderr}`).toBe(1);
          const json = JSON.parse(run.stdout);
          expect(json.consistency_result[0]).toMatchObject({
            num_total_files: total,
            num_different_files: 0,
            num_target_miss_files: 0,
            num_target_more_files: 1,
          });
          expect(json.directories[0]).toMatchObject({ verdict: 'INCONSISTENT', unreadable: 1, transient });
          expect(json.warnings[0]).toContain('1 entry of');
          expect(json.warnings[0]).toContain('data (cannot list the target directory');
          expect(json.warnings[0]).toContain('a target directory that cannot be listed as one extra file');
        }
      } finally {
        locked.cleanup();
      }
    },
  );

  it('counts a source directory that cannot be listed as one different file, and says so', () => {
    const locked = treePair(
      { open: 'o', secret: { x: '1', y: '2' } },
      { open: 'o', secret: { x: '1', y: '2' } },
    );
    try {
      chmodSync(locked.dir, 0o755);
      chmodSync(join(locked.src, 'secret'), 0o700);
      const run = asNobody(['verify', '--source', locked.src, '--target', locked.dst, '--json']);
      expect(run.status).toBe(1);
      const json = JSON.parse(run.stdout);
      expect(json.consistency_result[0]).toMatchObject({ num_total_files: 2, num_different_files: 1 });
      expect(json.directories[0].unreadable).toBe(1);
      expect(json.warnings[0]).toContain(
        'secret (cannot list the source directory: permission denied (EACCES))',
      );
    } finally {
      locked.cleanup();
    }
  });
});
