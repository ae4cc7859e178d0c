import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeManifest } from './engine/manifest/write.js';
import type { Counts } from './engine/types.js';
import { treePair } from './test-support/tree.js';
import { verify } from './verify.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const pair = treePair(
  { a: 'alpha', b: { c: 'gamma', d: { e: 'epsilon', f: '' } }, g: { link: 'a' }, h: { i: 'iota' } },
  { a: 'alpha', b: { c: 'gammA', d: { e: 'epsilon' } }, g: { link: 'b' }, x: { y: 'extra' } },
);
let original: string;
let expected: Counts;
let cases = 0;

beforeAll(async () => {
  const file = join(pair.dir, 'original.ndjson');
  await writeManifest(pair.dst, { mode: 'content', excludes: [], output: file });
  original = readFileSync(file, 'utf8');
  expected = (await verify({ source: pair.src, targetManifest: file, mode: 'content', workers: 0 }))
    .results[0]!.counts;
});
afterAll(() => {
  pair.cleanup();
  console.log(`agent fuzz: ${cases} damaged manifests`);
});

/** One damage to the manifest's text. */
const damage = fc.oneof(
  fc.nat().map((n) => (t: string) => t.slice(0, n % t.length)),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([n, x]) => (t: string) => {
    const bytes = Buffer.from(t);
    const i = n % bytes.length;
    bytes[i] = bytes[i]! ^ x;
    return bytes.toString('latin1');
  }),
  fc.nat().map((n) => (t: string) => {
    const lines = t.split('\n');
    lines.splice(n % lines.length, 1);
    return lines.join('\n');
  }),
  fc.nat().map((n) => (t: string) => {
    const lines = t.split('\n');
    const i = n % lines.length;
    lines.splice(i, 0, lines[i]!);
    return lines.join('\n');
  }),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => (t: string) => {
    const lines = t.split('\n');
    const i = a % lines.length;
    const j = b % lines.length;
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
    return lines.join('\n');
  }),
  fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 3 })).map(([n, value]) => (t: string) => {
    const lines = t.split('\n');
    lines.splice(n % lines.length, 0, JSON.stringify(value) ?? 'null');
    return lines.join('\n');
  }),
);

async function outcome(file: string): Promise<Counts | string> {
  try {
    return (await verify({ source: pair.src, targetManifest: file, mode: 'content', workers: 0 })).results[0]!
      .counts;
  } catch (error) {
    return (error as Error).name;
  }
}

describe('damaged manifests (generated)', () => {
  it('are refused as ManifestError or give exactly the original counts, never a wrong count or a crash', {
    timeout: 120_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(damage, fc.boolean(), async (change, gzip) => {
        cases++;
        const text = change(original);
        const file = join(pair.dir, gzip ? 'damaged.ndjson.gz' : 'damaged.ndjson');
        writeFileSync(file, gzip ? gzipSync(Buffer.from(text, 'latin1')) : Buffer.from(text, 'latin1'));
        const result = await outcome(file);
        if (typeof result === 'string') expect(result).toBe('ManifestError');
        else expect(result).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it('are refused when the gzip stream itself is damaged', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 1, max: 255 }), async (n, x) => {
        cases++;
        const gz = gzipSync(original);
        const i = 10 + (n % (gz.length - 10));
        gz[i] = gz[i]! ^ x;
        const file = join(pair.dir, 'damaged-stream.ndjson.gz');
        writeFileSync(file, gz);
        const result = await outcome(file);
        if (typeof result === 'string') expect(result).toBe('ManifestError');
        else expect(result).toEqual(expected);
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});
