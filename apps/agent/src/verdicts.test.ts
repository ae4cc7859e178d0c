import { execFileSync } from 'node:child_process';
import { chmodSync, lchownSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeManifest } from './engine/manifest/write.js';
import type { ReportEntry } from './engine/types.js';
import { runAgent } from './test-support/cli.js';
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
  };
}

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
