import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statfsSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spoolResults } from './deliver.js';
import { linesFileOf, Spool } from './spool.js';

/** A 64 KiB tmpfs under the spool: mounting needs root, which CI and this machine have. */
let mountPoint: string;
beforeAll(() => {
  mountPoint = mkdtempSync(join(tmpdir(), 'sms-spool-small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mountPoint]);
});
afterAll(() => {
  try {
    execFileSync('umount', [mountPoint]);
  } finally {
    rmSync(mountPoint, { recursive: true, force: true });
  }
});

const result = (i: number) => ({
  dir_check: `/data/${i}/${'x'.repeat(900)}`,
  num_total_files: 1,
  num_different_files: 0,
  num_target_miss_files: 0,
  num_target_more_files: 0,
});

describe('the spool on a full disk', () => {
  it('refuses an upload with ENOSPC and leaves no partial file, then takes it once there is room', () => {
    const spool = new Spool(join(mountPoint, 'spool'));
    const filler = join(mountPoint, 'filler');
    // fill the disk but for a few KiB: an upload of 30 long directories (about 30 KiB) does not fit
    writeFileSync(filler, Buffer.alloc(48 * 1024));
    const upload = Array.from({ length: 30 }, (_, i) => result(i));
    expect(() => spool.add('task-0001', upload)).toThrow(/ENOSPC/);
    expect(readdirSync(spool.dir)).toEqual([]);
    expect(spool.list()).toEqual({ entries: [], broken: [] });

    rmSync(filler);
    const added = spool.add('task-0001', upload);
    expect(spool.list().entries.map((e) => e.file)).toEqual([added.file]);
    expect(readdirSync(spool.dir)).toHaveLength(1);
    spool.remove(added.file);
  });

  it('keeps none of a run of more than 30 directories when one of its uploads does not fit (all or none)', () => {
    const spool = new Spool(join(mountPoint, 'spool'));
    const filler = join(mountPoint, 'filler');
    // room for the first upload (30 long directories, about 31 KB), not for the second (5 more)
    writeFileSync(filler, Buffer.alloc(28 * 1024));
    const run = Array.from({ length: 35 }, (_, i) => result(i));
    expect(() => spoolResults(spool, 'task-0001', run, 'run-1')).toThrow(/ENOSPC/);
    expect(readdirSync(spool.dir)).toEqual([]);
    rmSync(filler);
    expect(
      spoolResults(spool, 'task-0001', run, 'run-1').map((u) =>
        'consistency_result' in u.entry ? u.entry.consistency_result.length : -1,
      ),
    ).toEqual([30, 5]);
  });

  it("leaves no findings lines behind when their upload's entry does not fit", () => {
    rmSync(join(mountPoint, 'spool'), { recursive: true, force: true });
    const spool = new Spool(join(mountPoint, 'spool'));
    const filler = join(mountPoint, 'filler');
    try {
      const free = () => {
        const fs = statfsSync(mountPoint);
        return fs.bavail * fs.bsize;
      };
      // one page left: the lines fill it, and the entry written after them does not fit
      writeFileSync(filler, Buffer.alloc(free() - 4096));
      const findings = spool.startFindings('task-0001', 'run-1');
      findings.append({ dir_check: '/d', category: 'missing', path: 'a', reason: 'x'.repeat(3900) });
      expect(() => findings.commit()).toThrow(/ENOSPC/);
      expect(readdirSync(spool.dir)).toEqual([]);
    } finally {
      rmSync(filler, { force: true });
    }
  });
});

describe('what crashed runs left in the spool', () => {
  it('is removed at the first listing when its process is gone; what a running process writes is kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sms-spool-sweep-'));
    try {
      const spool = new Spool(dir);
      // a process that ran and ended: its id is free now
      const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
        encoding: 'utf8',
      });
      const deadPid = Number(gone.stdout);
      const left = [`1-a.ndjson.${deadPid}.partial`, `2-b.json.tmp-${deadPid}`];
      const kept = [`3-c.ndjson.${process.pid}.partial`, `4-d.json.tmp-${process.pid}`, '5-e.ndjson.partial'];
      for (const name of [...left, ...kept]) writeFileSync(join(dir, name), 'x');
      // an older agent's partial file (no process id), untouched for more than a week
      const old = join(dir, '0-f.ndjson.partial');
      writeFileSync(old, 'x');
      const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
      utimesSync(old, eightDaysAgo, eightDaysAgo);
      // a run in progress here: its lines file is named with this process's id, and stays
      const running = spool.startFindings('task-0001', '7f1c1f3e-4a43-4c4e-9d7c-5d1f0d0e2a11');
      running.append({ dir_check: '/d', category: 'missing', path: 'a', reason: 'r' });
      (running as unknown as { flush(): void }).flush();

      expect(spool.list().entries).toEqual([]);
      const after = readdirSync(dir).sort();
      for (const name of left) expect(after).not.toContain(name);
      expect(after).not.toContain('0-f.ndjson.partial');
      for (const name of kept) expect(after).toContain(name);
      expect(after.filter((n) => n.endsWith(`.ndjson.${process.pid}.partial`))).toHaveLength(2);
      expect(running.commit()?.entry.lines).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("removes a findings upload's lines without their upload once an hour old, never a committed upload's", () => {
    const dir = mkdtempSync(join(tmpdir(), 'sms-spool-orphan-'));
    const now = vi.spyOn(Date, 'now');
    try {
      // a committed findings upload (its .json and .ndjson), and lines whose upload is gone
      // (a stop between removing the two files, or between writing them)
      const committed = new Spool(dir).startFindings('task-0001', '7f1c1f3e-4a43-4c4e-9d7c-5d1f0d0e2a11');
      committed.append({ dir_check: '/d', category: 'missing', path: 'a', reason: 'r' });
      const kept = committed.commit()!;
      const orphan = join(dir, '1-orphan.ndjson');
      writeFileSync(orphan, '{"dir_check":"/d"}\n');
      // lines whose upload is among the refused ones (a stop in the middle of `spool retry`,
      // which moves the lines first) are that upload's: kept
      const retried = join(dir, '2-retried.ndjson');
      writeFileSync(retried, '{"dir_check":"/d"}\n');
      mkdirSync(join(dir, 'failed'));
      writeFileSync(join(dir, 'failed', '2-retried.json'), '{}\n');
      // a listing now keeps it (its upload may be being written by another process)
      expect(new Spool(dir).list().entries.map((e) => e.file)).toEqual([kept.file]);
      expect(existsSync(orphan)).toBe(true);
      // an hour later (mtime and ctime both: a rename counts) it is swept; the committed upload stays
      now.mockReturnValue(Date.now() + 3601 * 1000);
      expect(new Spool(dir).list().entries.map((e) => e.file)).toEqual([kept.file]);
      expect(existsSync(orphan)).toBe(false);
      expect(existsSync(retried)).toBe(true);
      expect(existsSync(linesFileOf(kept.file))).toBe(true);
    } finally {
      now.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the order of the spool', () => {
  const small = (dir: string) => ({
    dir_check: dir,
    num_total_files: 1,
    num_different_files: 0,
    num_target_miss_files: 0,
    num_target_more_files: 0,
  });

  it('keeps the order things were spooled in when the clock was stepped back since', () => {
    const spool = new Spool(mkdtempSync(join(tmpdir(), 'sms-spool-order-')));
    try {
      // spooled while the clock was far ahead (its name: a time past 9999999999999 ms, 2286)
      const ahead = spool.add('task-0001', [small('/older')]);
      const future = join(spool.dir, `9999999999999-${ahead.entry.idempotency_key}.json`);
      renameSync(ahead.file, future);
      const now = spool.add('task-0001', [small('/newer')]);
      // named one past the latest (10000000000000: sorted as numbers, not as text)
      expect(now.file).toContain(`${spool.dir}/10000000000000-`);
      // one past a refused one too (spool retry moves it back under its name)
      mkdirSync(join(spool.dir, 'failed'));
      writeFileSync(join(spool.dir, 'failed', `20000000000000-${randomUUID()}.json`), '{}');
      const later = spool.add('task-0001', [small('/later')]);
      expect(later.file).toContain(`${spool.dir}/20000000000001-`);
      spool.remove(later.file);
      const findings = spool.startFindings('task-0001', randomUUID());
      findings.append({ dir_check: '/newer', category: 'missing', path: 'a', reason: 'x' });
      findings.commit();
      expect(
        spool
          .list()
          .entries.map((e) =>
            'consistency_result' in e.entry ? e.entry.consistency_result[0]!.dir_check : 'findings',
          ),
      ).toEqual(['/older', '/newer', 'findings']);
    } finally {
      rmSync(spool.dir, { recursive: true, force: true });
    }
  });

  it('skips a file gone between the listing and its reading (another agent delivered it), not reported broken', () => {
    const spool = new Spool(mkdtempSync(join(tmpdir(), 'sms-spool-gone-')));
    try {
      const kept = spool.add('task-0001', [small('/kept')]);
      // listed, then gone when read: what a daemon's flush beside this one leaves
      symlinkSync(join(spool.dir, 'delivered.json'), join(spool.dir, `1-${'0'.repeat(8)}.json`));
      expect(spool.list()).toEqual({ entries: [{ file: kept.file, entry: kept.entry }], broken: [] });
    } finally {
      rmSync(spool.dir, { recursive: true, force: true });
    }
  });
});
