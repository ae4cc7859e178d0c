import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Spool } from './spool.js';

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
  });
});
