import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
// an independent build of the same hash (hash-wasm's), as the reference
import { createXXHash128 } from 'hash-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { factsOf } from '../listing.js';
import { hashFile } from './format.js';
import { type Digest, loadHash, xxh128Hasher, xxh128UsesSimd } from './hash.js';

const reference = await createXXHash128();
const referenceHash = (data: Uint8Array) => {
  reference.init();
  reference.update(data);
  return reference.digest('hex');
};

/** Bytes that are not a pattern a wrong lane order could still hash right. */
function bytes(length: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** `data` hashed by `digest` in chunks of `chunk` bytes, each written into its input first. */
function hashInChunks(digest: Digest, data: Uint8Array, chunk: number): string {
  for (let at = 0; at < data.length; ) {
    const n = Math.min(chunk, data.length - at, digest.input.length);
    digest.input.set(data.subarray(at, at + n));
    digest.take(n);
    at += n;
  }
  return digest.digest();
}

// XXH3 takes different paths at these lengths: 0, 1-3, 4-8, 9-16, 17-128, 129-240, then stripes of
// 64 bytes in blocks of 1,024, the last stripe, and this module's 256 KiB input
const LENGTHS = [
  0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1023, 1024, 1025, 65_535, 65_536, 262_144, 262_145, 1_048_589,
];

describe.each([
  ['with SIMD', true],
  ['without SIMD', false],
])('xxh128 %s', (_, simd) => {
  it('gives the reference value of an empty input', () => {
    expect(xxh128Hasher(simd).digest()).toBe('99aa06d3014798d86001c324468d497f');
  });

  it.each(LENGTHS)('hashes %i bytes as the reference does, in any chunks', (length) => {
    const data = bytes(length, length + 7);
    const want = referenceHash(data);
    const digest = xxh128Hasher(simd);
    for (const chunk of [1, 7, 64, 1000, 64 * 1024, 256 * 1024]) {
      if (chunk === 1 && length > 70_000) continue; // a million calls prove nothing more
      expect(hashInChunks(digest, data, chunk), `chunks of ${chunk}`).toBe(want);
    }
  });

  it('hashes any bytes cut anywhere as the reference does (property)', () => {
    const digest = xxh128Hasher(simd);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 600 }), (data, chunk) => {
        expect(hashInChunks(digest, data, chunk)).toBe(referenceHash(data));
      }),
      { numRuns: 300 },
    );
  });

  it('starts each file afresh after a reset, whatever the one before left', () => {
    const digest = xxh128Hasher(simd);
    digest.input.set(bytes(1000));
    digest.take(1000); // a file abandoned mid-way (a read error)
    digest.reset();
    expect(hashInChunks(digest, bytes(300, 3), 100)).toBe(referenceHash(bytes(300, 3)));
  });
});

describe('xxh128 in a manifest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sms-xxh128-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file into its own memory and gives the reference hash (larger than one read)', async () => {
    await loadHash('xxh128');
    const data = bytes(700_000, 99);
    const path = join(dir, 'big');
    writeFileSync(path, data);
    let counted = 0;
    const got = hashFile(
      path,
      factsOf('source', path, 'file'),
      Buffer.alloc(16),
      (n) => (counted += n),
      'xxh128',
    );
    expect(got).toEqual({ hash: referenceHash(data), changed: false });
    expect(counted).toBe(700_000);
  });

  it('stops at the size the file was listed with, and tells a file written since (grown, shrunk, rewritten)', () => {
    const path = join(dir, 'moving');
    const data = bytes(300_000, 5);
    writeFileSync(path, data);
    const listed = factsOf('source', path, 'file');
    let reads = 0;
    expect(hashFile(path, listed, Buffer.alloc(16), () => reads++, 'xxh128')).toEqual({
      hash: referenceHash(data),
      changed: false,
    });
    expect(reads).toBe(2); // 256 KiB, then the rest
    for (const now of [Buffer.concat([data, Buffer.from('more')]), data.subarray(0, 1000)]) {
      writeFileSync(path, now);
      expect(hashFile(path, listed, Buffer.alloc(16), () => {}, 'xxh128').changed).toBe(true);
    }
    // same size, another time: rewritten
    writeFileSync(path, data);
    const later = new Date(Date.now() + 5000);
    utimesSync(path, later, later);
    expect(hashFile(path, listed, Buffer.alloc(16), () => {}, 'xxh128').changed).toBe(true);
    // an empty file is not read at all
    writeFileSync(path, '');
    reads = 0;
    expect(
      hashFile(path, factsOf('source', path, 'file'), Buffer.alloc(16), () => reads++, 'xxh128'),
    ).toEqual({
      hash: '99aa06d3014798d86001c324468d497f',
      changed: false,
    });
    expect(reads).toBe(0);
  });

  // V8's WebAssembly SIMD needs SSE4.1 on x86-64 (a CPU model such as QEMU's default qemu64 lacks
  // it: there the build without SIMD is used, and tested above)
  const sse41 = (() => {
    try {
      return process.arch === 'x64' && /^flags\s*:.*\bsse4_1\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
    } catch {
      return false;
    }
  })();
  it.skipIf(!sse41)('uses SIMD on an x86-64 CPU with SSE4.1', () => {
    expect(xxh128UsesSimd()).toBe(true);
  });
});

describe('the committed WebAssembly', () => {
  // the output is the same byte for byte from the same compiler: the one its first line names
  // (Debian bookworm's clang 14, which CI installs: scripts/install-wasm-toolchain.sh)
  const committed = /\(([^)]*)\): do not edit/.exec(
    readFileSync(join(import.meta.dirname, 'xxh128-wasm.ts'), 'utf8'),
  )?.[1];
  const clang = (() => {
    try {
      execFileSync('wasm-ld', ['--version'], { stdio: 'ignore' });
      return execFileSync('clang', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
    } catch {
      return undefined;
    }
  })();

  // in CI it runs whatever is installed (and fails loudly on another compiler); elsewhere a machine
  // without that compiler skips it
  it.skipIf(clang !== committed && !process.env.CI)(
    'is what wasm/ builds (node wasm/build.mjs --check)',
    () => {
      const out = execFileSync(
        process.execPath,
        [join(import.meta.dirname, '../../../wasm/build.mjs'), '--check'],
        {
          encoding: 'utf8',
        },
      );
      expect(out).toMatch(/is what wasm\/ builds/);
    },
  );
});
