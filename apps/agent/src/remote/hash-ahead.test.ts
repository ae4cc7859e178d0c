import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../test-support/cli.js';
import { type Sshd, startSshd } from '../test-support/sshd.js';
import { treePair } from '../test-support/tree.js';

// Content mode over ssh: while the connection opens and the remote agent starts, this side hashes
// its source files ahead (on its worker threads, with the hash a manifest has by default), and the
// verifier takes those hashes where the manifest then compares the file. Seen from outside: a file
// changed after it was hashed ahead (its size and time kept) compares as it was when read, where a
// verifier that hashes only once the manifest has come sees the change.
const BUNDLE = fileURLToPath(new URL('../../dist/sms-agent.cjs', import.meta.url));

let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd();
}, 30_000);
afterAll(async () => {
  await sshd?.stop();
});

/**
 * Verifies over ssh through a remote agent that waits 2 s (the source is hashed ahead meanwhile),
 * then rewrites the source's d1/a with other bytes of the same size and time, then makes the
 * manifest (with `manifestArgs`).
 */
async function verifyWhileChanged(extra: string[], manifestArgs = '') {
  const pair = treePair(
    { d1: { a: 'alpha', b: 'bravo' }, d2: { c: 'charlie', e: 'echo' }, f: 'foxtrot' },
    { d1: { a: 'alpha', b: 'bravo' }, d2: { c: 'charlie' }, f: 'foxtrot, longer', g: 'golf' },
  );
  try {
    const a = join(pair.src, 'd1', 'a');
    const reference = join(pair.dir, 'time-of-a');
    writeFileSync(reference, '');
    const agent = join(pair.dir, 'slow-agent');
    writeFileSync(
      agent,
      [
        '#!/bin/sh',
        `touch -r ${a} ${reference}`,
        'sleep 2',
        `printf ALPHA > ${a}`,
        `touch -r ${reference} ${a}`,
        `exec ${process.execPath} ${BUNDLE} "$@" ${manifestArgs}`,
      ].join('\n'),
    );
    chmodSync(agent, 0o755);
    const run = await runAgent([
      'verify',
      '--source',
      pair.src,
      '--target',
      `${sshd.host}:${pair.dst}`,
      '--ssh',
      sshd.ssh,
      '--remote-agent',
      agent,
      '--mode',
      'content',
      '--json',
      '--no-progress',
      '--report',
      join(pair.dir, 'report.ndjson'),
      ...extra,
    ]);
    expect(run.stderr).not.toContain('error');
    const result = JSON.parse(run.stdout);
    return { counts: result.consistency_result[0], bytes: result.bytes_compared };
  } finally {
    pair.cleanup();
  }
}

describe('content mode over ssh hashes the source while the manifest is on its way', () => {
  const counts = (different: number) => ({
    num_total_files: 5,
    num_different_files: different,
    num_target_miss_files: 1,
    num_target_more_files: 1,
  });

  it('uses those hashes: a file changed after it was hashed compares as it was read; the bytes compared are counted once', async () => {
    const { counts: found, bytes } = await verifyWhileChanged(['--workers', '2']);
    // d1/a as hashed before it changed; f differs in size
    expect(found).toMatchObject(counts(1));
    // d1/a, d1/b, d2/c: f (another size there) and d2/e (missing there) were hashed ahead for nothing
    expect(bytes).toBe(5 + 5 + 7);
  }, 60_000);

  it('drops them when the manifest names another hash, and hashes the source again with its own', async () => {
    const { counts: found, bytes } = await verifyWhileChanged(['--workers', '2'], '--hash sha256');
    // hashes taken against the manifest's would make every file of the same size differ (4)
    expect(found).toMatchObject(counts(2));
    expect(bytes).toBe(5 + 5 + 7);
  }, 60_000);

  it('hashes nothing ahead without worker threads (--workers 0): the change is seen', async () => {
    const { counts: found, bytes } = await verifyWhileChanged(['--workers', '0']);
    expect(found).toMatchObject(counts(2));
    expect(bytes).toBe(5 + 5 + 7);
  }, 60_000);
});
