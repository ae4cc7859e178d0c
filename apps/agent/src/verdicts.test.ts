import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  lchownSync,
  readFileSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { DIR_CHECK_ITSELF, FindingLimits, FindingSchema } from '@sms/domain';
import * as v from 'valibot';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceNumber, formatTime } from './engine/difference.js';
import { writeManifest } from './engine/manifest/write.js';
import type { ReportEntry } from './engine/types.js';
import { cutReason, REASON_MAX_LENGTH } from './output.js';
import { runAgent } from './test-support/cli.js';
import { reportFindings } from './test-support/report.js';
import { MTIME, type Tree, treePair } from './test-support/tree.js';
import { type VerifyOptions, verify } from './verify.js';

const pairs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.cleanup();
});

function pair(source: Tree, target: Tree) {
  const p = treePair(source, target);
  pairs.push(p);
  return p;
}

/** Sets a modification time to the nanosecond (utimes takes a double: GNU touch does not round). */
function touchExact(path: string, time: string): void {
  execFileSync('touch', ['-m', '-d', `@${time}`, path]);
}

type Target = 'mounted' | 'manifest';

/** Verifies the pair against its mounted target, or against a manifest made of it. */
async function verifyAs(
  target: Target,
  p: { dir: string; src: string; dst: string },
  options: Partial<VerifyOptions> = {},
) {
  const entries: ReportEntry[] = [];
  const common = {
    source: p.src,
    workers: 0,
    report: true,
    onEntries: (batch: ReportEntry[]) => entries.push(...batch),
    ...options,
  };
  let result: Awaited<ReturnType<typeof verify>>;
  if (target === 'manifest') {
    const file = join(p.dir, `target-${Math.random().toString(36).slice(2)}.manifest`);
    await writeManifest(p.dst, { mode: options.mode ?? 'quick', excludes: [], output: file });
    result = await verify({ ...common, targetManifest: file });
  } else {
    result = await verify({ ...common, target: p.dst });
  }
  return {
    counts: result.results[0]!.counts,
    reasons: entries.map((e) => `${e.path.toString()}: ${e.reason}`),
    warnings: result.warnings,
  };
}

/**
 * Rewrites a manifest's lines as an older sms-agent would have written them (its end record's
 * checksum is over the lines, so it is written again); returns the lines.
 */
function rewriteManifest(file: string, change: (line: string) => string): string {
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  const body = lines.slice(0, -1).map(change);
  const end = JSON.parse(lines.at(-1)!);
  end.end.sha256 = createHash('sha256')
    .update(body.map((l) => `${l}\n`).join(''))
    .digest('hex');
  writeFileSync(file, `${body.join('\n')}\n${JSON.stringify(end)}\n`);
  return body.join('\n');
}

describe('formatTime', () => {
  it('names a time beyond a Date (a filesystem keeps 64-bit seconds) in seconds since the epoch, not "could not be read"', () => {
    expect(formatTime(1750434509, 999999999)).toBe('2025-06-20T15:48:29.999999999Z');
    expect(formatTime(8.64e12)).toBe('+275760-09-13T00:00:00.000000000Z');
    expect(formatTime(1e13, 5)).toBe('@10000000000000.000000005');
    expect(formatTime(-1e13)).toBe('@-10000000000000.000000000');
    // -10000000000001 s and half a second after it: 10000000000000.5 s before the epoch, as touch -d reads it
    expect(formatTime(-1e13 - 1, 500_000_000)).toBe('@-10000000000000.500000000');
  });
});

describe.each<Target>(['mounted', 'manifest'])(
  'modification times to the nanosecond (%s target)',
  (target) => {
    it('counts 0.999999900 and 0.999999 of the same second as equal (a double rounds the first up)', async () => {
      const p = pair({ f: 'same' }, { f: 'same' });
      touchExact(join(p.src, 'f'), '1750434509.999999900');
      touchExact(join(p.dst, 'f'), '1750434509.999999');
      const { counts } = await verifyAs(target, p);
      expect(counts).toEqual({ total: 1, different: 0, missing: 0, extra: 0 });
    });

    it('counts a whole second against 0.999999999 of the second before as different, as rsync does', async () => {
      const p = pair({ f: 'same' }, { f: 'same' });
      touchExact(join(p.src, 'f'), '1750434509');
      touchExact(join(p.dst, 'f'), '1750434508.999999999');
      const { counts, reasons } = await verifyAs(target, p);
      expect(counts).toEqual({ total: 1, different: 1, missing: 0, extra: 0 });
      expect(reasons).toEqual([
        'f: modification time 2025-06-20T15:48:29.000000000Z at the source, 2025-06-20T15:48:28.999999999Z at the target',
      ]);
    });

    it('treats times up to --modify-window seconds apart as equal: 2 s apart differ at 0 and 1, match at 2', async () => {
      const p = pair({ f: 'same' }, { f: 'same' });
      utimesSync(join(p.dst, 'f'), MTIME, new Date(MTIME.getTime() + 2000));
      expect((await verifyAs(target, p)).counts.different).toBe(1);
      expect((await verifyAs(target, p, { modifyWindow: 1 })).counts.different).toBe(1);
      expect((await verifyAs(target, p, { modifyWindow: 2 })).counts.different).toBe(0);
    });
  },
);

describe.each<Target>(['mounted', 'manifest'])('--metadata mode,uid,gid (%s target)', (target) => {
  function changed() {
    const p = pair(
      { mode: 'm', owner: 'o', group: 'g', same: 's', link: { link: 'same' } },
      { mode: 'm', owner: 'o', group: 'g', same: 's', link: { link: 'same' } },
    );
    chmodSync(join(p.src, 'mode'), 0o644);
    chmodSync(join(p.dst, 'mode'), 0o600);
    lchownSync(join(p.dst, 'owner'), 1000, 0);
    lchownSync(join(p.dst, 'group'), 0, 1000);
    // a symbolic link's owner is compared; its own mode never is
    lchownSync(join(p.dst, 'link'), 1000, 0);
    return p;
  }

  it('finds a changed mode, owner and group, and names both values', async () => {
    const { counts, reasons } = await verifyAs(target, changed(), { metadata: ['mode', 'uid', 'gid'] });
    expect(counts).toEqual({ total: 5, different: 4, missing: 0, extra: 0 });
    expect(reasons.sort()).toEqual([
      'group: gid 0 at the source, 1000 at the target',
      'link: uid 0 at the source, 1000 at the target',
      'mode: mode 0644 at the source, 0600 at the target',
      'owner: uid 0 at the source, 1000 at the target',
    ]);
  });

  it('compares only the fields named', async () => {
    expect((await verifyAs(target, changed(), { metadata: ['mode'] })).counts.different).toBe(1);
    expect((await verifyAs(target, changed(), { metadata: ['gid'] })).counts.different).toBe(1);
  });

  it('ignores ownership and permissions without the option, as the SMS agent', async () => {
    expect((await verifyAs(target, changed())).counts).toEqual({
      total: 5,
      different: 0,
      missing: 0,
      extra: 0,
    });
  });

  it("counts a directory whose own mode, owner or group differs as one file, different (the verified directory's too)", async () => {
    const p = pair(
      { data: { f: 'x' }, keys: { k: 'y' }, same: { s: 'z' } },
      { data: { f: 'x' }, keys: { k: 'y' }, same: { s: 'z' } },
    );
    chmodSync(join(p.src, 'keys'), 0o700);
    chmodSync(join(p.dst, 'keys'), 0o755);
    lchownSync(join(p.dst, 'data'), 999, 998);
    lchownSync(p.dst, 0, 1000);
    const all = await verifyAs(target, p, { metadata: ['mode', 'uid', 'gid'] });
    // three files, and the three directories counted for themselves
    expect(all.counts).toEqual({ total: 6, different: 3, missing: 0, extra: 0 });
    expect(all.reasons.sort()).toEqual([
      ": directory's own gid 0 at the source, 1000 at the target",
      "data: directory's own uid 0 at the source, 999 at the target; gid 0 at the source, 998 at the target",
      "keys: directory's own mode 0700 at the source, 0755 at the target",
    ]);
    // only the fields named; none without the option, as the SMS agent
    expect((await verifyAs(target, p, { metadata: ['mode'] })).counts).toEqual({
      total: 4,
      different: 1,
      missing: 0,
      extra: 0,
    });
    expect((await verifyAs(target, p, { metadata: ['uid'] })).reasons).toEqual([
      "data: directory's own uid 0 at the source, 999 at the target",
    ]);
    expect((await verifyAs(target, p)).counts).toEqual({ total: 3, different: 0, missing: 0, extra: 0 });
    expect((await verifyAs(target, p, { mode: 'content', metadata: ['gid'] })).counts.different).toBe(2);
  });

  it('compares metadata in content mode too, before reading the bytes', async () => {
    const { counts } = await verifyAs(target, changed(), {
      mode: 'content',
      metadata: ['mode', 'uid', 'gid'],
    });
    expect(counts.different).toBe(4);
  });
});

describe('a manifest of an older format', () => {
  it('is refused with a message to make it again, never read with rounded times', async () => {
    const p = pair({ f: 'x' }, { f: 'x' });
    const file = join(p.dir, 'old.manifest');
    writeFileSync(
      file,
      `${JSON.stringify({ sms_manifest: 1, root: p.dst, mode: 'quick', hash: null, created_at: '2026-01-01T00:00:00Z' })}\n`,
    );
    const run = await runAgent(['verify', '--source', p.src, '--target-manifest', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('is a manifest of format 1, made by an older sms-agent');
    expect(run.stderr).toContain('make it again with this sms-agent (manifest format 2)');
  });
});

describe.each<Target>(['mounted', 'manifest'])('devices (%s target)', (target) => {
  it('counts a device of another number as different, naming both, and one of the same number as equal', async () => {
    const p = pair({}, {});
    for (const [side, null_, loop] of [
      [p.src, '3', '0'],
      [p.dst, '5', '0'],
    ] as const) {
      execFileSync('mknod', [join(side, 'null'), 'c', '1', null_]);
      execFileSync('mknod', [join(side, 'loop'), 'b', '7', loop]);
    }
    const { counts, reasons, warnings } = await verifyAs(target, p);
    expect(counts).toEqual({ total: 2, different: 1, missing: 0, extra: 0 });
    expect(reasons).toEqual(['null: device 1:3 at the source, 1:5 at the target']);
    // every number was known: nothing was compared by type alone
    expect(warnings).toEqual([]);
  });

  it('compares 0:0 as a number off FUSE (overlayfs whiteouts are 0:0 devices)', async () => {
    const p = pair({}, {});
    for (const [side, second] of [
      [p.src, ['0', '0']],
      [p.dst, ['1', '3']],
    ] as const) {
      execFileSync('mknod', [join(side, 'whiteout'), 'c', '0', '0']);
      execFileSync('mknod', [join(side, 'was-whiteout'), 'c', ...second]);
    }
    const { counts, reasons, warnings } = await verifyAs(target, p);
    expect(counts).toEqual({ total: 2, different: 1, missing: 0, extra: 0 });
    expect(reasons).toEqual(['was-whiteout: device 0:0 at the source, 1:3 at the target']);
    expect(warnings).toEqual([]);
  });
});

describe('devices against a manifest of an older sms-agent (no numbers in it)', () => {
  it('are compared by type alone, and the run says how many', async () => {
    const p = pair({}, {});
    for (const [side, minor] of [
      [p.src, '3'],
      [p.dst, '5'],
    ] as const) {
      execFileSync('mknod', [join(side, 'null'), 'c', '1', minor]);
      execFileSync('mknod', [join(side, 'zero'), 'c', '1', minor]);
    }
    const file = join(p.dir, 'old-devices.manifest');
    await writeManifest(p.dst, { mode: 'quick', excludes: [], output: file });
    // as an older agent wrote it: no "r"
    expect(readFileSync(file, 'utf8').match(/,"r":\d+/g)).toHaveLength(2);
    expect(rewriteManifest(file, (line) => line.replaceAll(/,"r":\d+/g, ''))).not.toContain('"r":');
    const result = await verify({ source: p.src, targetManifest: file, workers: 0 });
    expect(result.results[0]!.counts).toEqual({ total: 2, different: 0, missing: 0, extra: 0 });
    expect(result.warnings).toEqual([
      `2 devices of ${p.src} were compared by type alone, their number (major:minor) unknown at the target: the manifest ${file} gives none (one made by an older sms-agent, or of a tree read through an sshfs mount); make it again with this sms-agent on the target host`,
    ]);
  });
});

describe('device numbers', () => {
  it('are shown as major:minor, as ls -l shows them, also past 8 bits of major and minor', () => {
    const makedev = (major: number, minor: number) =>
      Number(
        ((BigInt(major) & 0xfffn) << 8n) |
          ((BigInt(major) & ~0xfffn) << 32n) |
          (BigInt(minor) & 0xffn) |
          ((BigInt(minor) & ~0xffn) << 12n),
      );
    expect(deviceNumber(makedev(1, 3))).toBe('1:3');
    expect(deviceNumber(makedev(259, 70_000))).toBe('259:70000');
    expect(deviceNumber(makedev(4100, 1))).toBe('4100:1');
  });
});

describe("the verified directory's own mode or owner (--metadata)", () => {
  it('is reported as the path ".", which the API takes and resync-list lists for rsync', async () => {
    const p = pair({ sub: { f: 'x' } }, { sub: { f: 'x' } });
    chownSync(p.dst, 0, 1000);
    const report = join(p.dir, 'report.ndjson');
    const run = await runAgent([
      'verify',
      '--source',
      p.src,
      '--target',
      p.dst,
      '--metadata',
      'gid',
      '--report',
      report,
    ]);
    expect(run.code).toBe(1);
    const lines = reportFindings(report);
    expect(lines).toEqual([
      {
        dir_check: p.src,
        category: 'different',
        path: DIR_CHECK_ITSELF,
        reason: "directory's own gid 0 at the source, 1000 at the target",
      },
    ]);
    expect(v.is(FindingSchema, lines[0])).toBe(true);
    const list = await runAgent(['resync-list', report]);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe('.\n');
  });
});

describe('a report is a file of findings', () => {
  it('keeps a reason to the length the API takes, so that resync-list reads what verify wrote', async () => {
    expect(REASON_MAX_LENGTH).toBe(FindingLimits.reasonMaxLength);
    // never between the halves of a character (a lone surrogate: the API refuses the line)
    const emoji = `${'x'.repeat(1023)}😀tail`;
    expect(cutReason(emoji)).toBe('x'.repeat(1023));
    expect(
      v.is(FindingSchema, { dir_check: '/d', category: 'different', path: 'p', reason: cutReason(emoji) }),
    ).toBe(true);
    expect(cutReason(`${'x'.repeat(1022)}😀tail`)).toBe(`${'x'.repeat(1022)}😀`);
    // two links whose long targets differ: a reason of more than 2,000 characters
    const p = pair({ link: { link: `a/${'x'.repeat(1400)}` } }, { link: { link: `b/${'y'.repeat(1400)}` } });
    const report = join(p.dir, 'report.ndjson');
    const run = await runAgent(['verify', '--source', p.src, '--target', p.dst, '--report', report]);
    expect(run.code).toBe(1);
    const [line] = reportFindings(report);
    expect(line.reason).toHaveLength(FindingLimits.reasonMaxLength);
    expect(v.is(FindingSchema, line)).toBe(true);
    const list = await runAgent(['resync-list', report]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toBe('link\n');
  });
});

describe('a --dir that is a symbolic link to a directory at the target (--metadata)', () => {
  it("is followed, its directory's own mode compared, mounted and against a manifest alike, with no warning", async () => {
    const p = pair({ a: { f: 'x' }, c: { g: 'y' } }, { 'a-real': { f: 'x' }, c: { g: 'y' } });
    symlinkSync('a-real', join(p.dst, 'a'));
    chmodSync(join(p.dst, 'a-real'), 0o700);
    const options = { metadata: ['mode', 'uid', 'gid'] as const, dirs: ['a', 'c'], workers: 0, report: true };
    const mounted = await verify({
      ...options,
      metadata: [...options.metadata],
      source: p.src,
      target: p.dst,
    });
    const file = join(p.dir, 'dirs.manifest');
    await writeManifest(p.dst, { mode: 'quick', excludes: [], output: file, dirs: ['a', 'c'] });
    const manifest = await verify({
      ...options,
      metadata: [...options.metadata],
      source: p.src,
      targetManifest: file,
    });
    expect(mounted.results.map((r) => r.counts)).toEqual([
      { total: 2, different: 1, missing: 0, extra: 0 },
      { total: 1, different: 0, missing: 0, extra: 0 },
    ]);
    expect(manifest.results.map((r) => r.counts)).toEqual(mounted.results.map((r) => r.counts));
    expect(manifest.warnings).toEqual([]);
  });
});

describe('a manifest made before directories carried their mode and owner', () => {
  it('still verifies every file, and --metadata says which directories it could not compare', async () => {
    const p = pair({ sub: { f: 'x' }, g: 'y' }, { sub: { f: 'x' }, g: 'y' });
    chmodSync(join(p.dst, 'sub'), 0o700);
    chmodSync(join(p.dst, 'g'), 0o600);
    const file = join(p.dir, 'old.manifest');
    await writeManifest(p.dst, { mode: 'quick', excludes: [], output: file });
    // as an older sms-agent wrote it: no p, u, g on the directories' lines (the end record's
    // checksum is over the lines, so it is written again)
    const body = rewriteManifest(file, (line) =>
      line.replace(/^(\{"d":"[^"]*"),"p":\d+,"u":\d+,"g":\d+/, '$1'),
    );
    expect(body).not.toMatch(/\{"d":"[^"]*","p"/);
    const againstManifest = () =>
      runAgent(['verify', '--source', p.src, '--target-manifest', file, '--metadata', 'mode', '--json']);
    const run = await againstManifest();
    expect(run.code).toBe(1);
    const json = JSON.parse(run.stdout);
    expect(json.consistency_result[0]).toMatchObject({ num_total_files: 2, num_different_files: 1 });
    const warning = `the manifest ${file} gives no mode or owner for 2 directories, so --metadata did not compare theirs (their files were compared): an sms-agent older than this one writes none; make the manifest again with this one`;
    expect(json.warnings).toEqual([warning]);
    expect(run.stderr).toBe(`warning: ${warning}\n`);
    // made again: the directory is compared
    await writeManifest(p.dst, { mode: 'quick', excludes: [], output: file });
    const again = await againstManifest();
    expect(JSON.parse(again.stdout)).toMatchObject({
      consistency_result: [{ num_total_files: 3, num_different_files: 2 }],
      warnings: [],
    });
  });
});

describe('the CLI options', () => {
  it('--modify-window and --metadata reach the comparison, and a bad --metadata field is refused', async () => {
    const p = pair({ f: 'x' }, { f: 'x' });
    chmodSync(join(p.dst, 'f'), 0o600);
    utimesSync(join(p.dst, 'f'), MTIME, new Date(MTIME.getTime() + 2000));
    const plain = await runAgent(['verify', '--source', p.src, '--target', p.dst, '--json']);
    expect(JSON.parse(plain.stdout).consistency_result[0].num_different_files).toBe(1);
    const windowed = await runAgent(['verify', '--source', p.src, '--target', p.dst, '--modify-window', '2']);
    expect(windowed.code).toBe(0);
    const meta = await runAgent([
      'verify',
      '--source',
      p.src,
      '--target',
      p.dst,
      '--modify-window',
      '2',
      '--metadata',
      'mode',
    ]);
    expect(meta.code).toBe(1);
    const bad = await runAgent(['verify', '--source', p.src, '--target', p.dst, '--metadata', 'mode,owner']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a comma-separated list of mode, uid, gid (not owner)');
  });

  it('a symbolic link pair is still compared by target with --metadata', async () => {
    const p = pair({}, {});
    symlinkSync('a', join(p.src, 'l'));
    symlinkSync('b', join(p.dst, 'l'));
    const { counts, reasons } = await verifyAs('mounted', p, { metadata: ['mode'] });
    expect(counts.different).toBe(1);
    expect(reasons).toEqual(['l: link target a at the source, b at the target']);
  });
});

describe('--recheck', () => {
  async function rechecked(
    p: { src: string; dst: string },
    during: () => void,
    options: Partial<VerifyOptions> = {},
  ) {
    const entries: ReportEntry[] = [];
    let looked = -1;
    const result = await verify({
      source: p.src,
      target: p.dst,
      workers: 0,
      report: true,
      recheck: true,
      recheckDelaySeconds: 0,
      onEntries: (batch) => entries.push(...batch),
      onRecheck: (paths) => {
        looked = paths;
        during();
      },
      ...options,
    });
    const r = result.results[0]!;
    return {
      counts: r.counts,
      transient: r.transient,
      looked,
      report: entries.map((e) => `${e.category} ${e.path.toString()}: ${e.reason}`).sort(),
    };
  }

  it("counts a file rewritten to the source's bytes during the delay as transient, and one still different as different", async () => {
    const p = pair(
      { log: 'line 1\n', data: 'right', gone: 'g', same: 's' },
      { log: 'line 1\nline 2\n', data: 'wrong!', same: 's' },
    );
    const r = await rechecked(p, () => {
      // the log is rotated back to what the source has, and the missing file arrives
      writeFileSync(join(p.dst, 'log'), 'line 1\n');
      utimesSync(join(p.dst, 'log'), MTIME, MTIME);
      writeFileSync(join(p.dst, 'gone'), 'g');
      utimesSync(join(p.dst, 'gone'), MTIME, MTIME);
    });
    expect(r.looked).toBe(3);
    expect(r.counts).toEqual({ total: 4, different: 1, missing: 0, extra: 0 });
    expect(r.transient).toBe(2);
    expect(r.report).toEqual([
      'different data: size 5 at the source, 6 at the target',
      'transient gone: equal on the recheck 0 s later (during the walk: file missing at the target)',
      'transient log: equal on the recheck 0 s later (during the walk: size 7 at the source, 14 at the target)',
    ]);
  });

  it('counts what changed kind on the second look in its new count', async () => {
    const p = pair({ a: 'x' }, {});
    const r = await rechecked(p, () => writeFileSync(join(p.dst, 'a'), 'longer'));
    expect(r.counts).toEqual({ total: 1, different: 1, missing: 0, extra: 0 });
    expect(r.report).toEqual([
      'different a: size 1 at the source, 6 at the target (on the recheck; during the walk: file missing at the target)',
    ]);
  });

  it('looks again at a directory counted for its own mode: transient when it was fixed meanwhile, else still different', async () => {
    const p = pair({ fixed: {}, wrong: {} }, { fixed: {}, wrong: {} });
    chmodSync(join(p.dst, 'fixed'), 0o700);
    chmodSync(join(p.dst, 'wrong'), 0o700);
    const r = await rechecked(p, () => chmodSync(join(p.dst, 'fixed'), 0o755), { metadata: ['mode'] });
    expect(r.looked).toBe(2);
    expect(r.counts).toEqual({ total: 1, different: 1, missing: 0, extra: 0 });
    expect(r.transient).toBe(1);
    expect(r.report).toEqual([
      "different wrong: directory's own mode 0755 at the source, 0700 at the target",
      "transient fixed: equal on the recheck 0 s later (during the walk: directory's own mode 0755 at the source, 0700 at the target)",
    ]);
  });

  it('leaves everything as it was without the option', async () => {
    const p = pair({ log: 'a' }, { log: 'ab' });
    const result = await verify({ source: p.src, target: p.dst, workers: 0 });
    expect(result.results[0]!.counts.different).toBe(1);
    expect(result.results[0]!.transient).toBe(0);
  });

  it('waits --recheck-delay seconds, is refused with a manifest, and shows transient in --json', async () => {
    const p = pair({ a: 'x', b: 'y' }, { a: 'x', b: 'yy' });
    const started = Date.now();
    const run = await runAgent([
      'verify',
      '--source',
      p.src,
      '--target',
      p.dst,
      '--recheck',
      '--recheck-delay',
      '1',
      '--json',
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('recheck: 1 path differed or was missing; looking again in 1 s');
    expect(JSON.parse(run.stdout).directories[0]).toMatchObject({ transient: 0, unreadable: 0 });
    const file = join(p.dir, 'm.manifest');
    await writeManifest(p.dst, { mode: 'quick', excludes: [], output: file });
    const refused = await runAgent(['verify', '--source', p.src, '--target-manifest', file, '--recheck']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--recheck looks at the target again, which a manifest cannot');
  });
});

describe('a file that changes while it is read (content mode)', () => {
  it('is different with the reason, not silently compared, and transient when the recheck finds it stable', async () => {
    const p = pair({}, {});
    // 256 MiB of zeros on each side, sparse (no disk used): a read long enough for the writer to be seen
    for (const side of [p.src, p.dst]) {
      writeFileSync(join(side, 'busy'), '');
      truncateSync(join(side, 'busy'), 256 * 1024 ** 2);
      utimesSync(join(side, 'busy'), MTIME, MTIME);
    }
    const { spawn } = await import('node:child_process');
    const { lstatSync } = await import('node:fs');
    // another process sets the target's modification time again and again while the agent reads it
    const busy = join(p.dst, 'busy');
    const start = () => spawn('sh', ['-c', `while :; do touch -m '${busy}'; done`], { stdio: 'ignore' });
    const started = async () => {
      while (lstatSync(busy).mtimeMs === MTIME.getTime()) await new Promise((r) => setTimeout(r, 10));
    };
    const toucher = start();
    try {
      await started();
      const entries: ReportEntry[] = [];
      const options = {
        source: p.src,
        target: p.dst,
        workers: 0,
        mode: 'content' as const,
        report: true,
        onEntries: (batch: ReportEntry[]) => entries.push(...batch),
      };
      const once = await verify(options);
      expect(once.results[0]!.counts.different).toBe(1);
      expect(entries.map((e) => e.reason)).toEqual(['changed during verification (at the target)']);
      // with --recheck: the writer stops during the delay, and the second read finds the file equal
      entries.length = 0;
      const twice = await verify({
        ...options,
        recheck: true,
        recheckDelaySeconds: 1,
        onRecheck: () => toucher.kill(),
      });
      expect(twice.results[0]!.counts.different).toBe(0);
      expect(twice.results[0]!.transient).toBe(1);
      expect(entries.map((e) => e.category)).toEqual(['transient']);
    } finally {
      toucher.kill();
    }
  }, 60_000);
});
