import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { factsOf } from '../listing.js';
import { type ManifestWorkerReply, type ManifestWorkerRequest, serveManifest } from './serve.js';

// A manifest worker's loop, driven through a port of its own: the bytes it reads are told as they
// are read, except for files hashed quietly (hashed ahead over ssh, before anyone knows whether they
// are compared: the verifier counts their bytes once it uses them).
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function served() {
  let handler: ((m: ManifestWorkerRequest) => void) | undefined;
  const replies: ManifestWorkerReply[] = [];
  let settle: (() => void) | undefined;
  serveManifest(
    { role: 'manifest', mode: 'content', hash: 'xxh128', excludes: [] },
    {
      on: (_event, f) => {
        handler = f;
      },
      postMessage: (m) => {
        replies.push(m as ManifestWorkerReply);
        if ((m as ManifestWorkerReply).type !== 'bytes') settle?.();
      },
    },
  );
  return {
    replies,
    ask: (request: ManifestWorkerRequest) =>
      new Promise<void>((resolve) => {
        settle = resolve;
        handler!(request);
      }),
  };
}

describe('a manifest worker hashing files for the verifier', () => {
  it('tells the bytes it reads, and those of files hashed quietly only with their hashes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sms-serve-'));
    dirs.push(dir);
    const path = join(dir, 'f');
    writeFileSync(path, 'x'.repeat(1000));
    const files = [{ path, facts: factsOf('source', path, 'file', false) }];
    const worker = served();
    await worker.ask({ kind: 'hash', id: 1, files, quiet: true });
    await worker.ask({ kind: 'hash', id: 2, files, quiet: false });
    const hashed = worker.replies.filter((r) => r.type === 'hashed');
    expect(hashed.map((r) => r.id)).toEqual([1, 2]);
    // the same hash either way
    expect(hashed[0]!.files).toEqual(hashed[1]!.files);
    expect(hashed[0]!.files[0]).toMatchObject({ changed: false });
    // the quiet request's bytes come with its reply, file by file
    expect(hashed[0]!.bytes).toEqual([1000]);
    expect(hashed[1]!.bytes).toBeUndefined();
    // one report of bytes, before the second reply: the loud request's
    expect(worker.replies.map((r) => r.type)).toEqual(['hashed', 'bytes', 'hashed']);
    expect(worker.replies[1]).toEqual({ type: 'bytes', bytes: 1000 });
  });
});
