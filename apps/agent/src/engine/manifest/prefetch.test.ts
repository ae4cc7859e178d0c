import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RULE_CASES } from '../../test-support/rule-cases.js';
import { treePair } from '../../test-support/tree.js';
import { verify } from '../../verify.js';
import { fileFacts } from '../listing.js';
import type { EngineOptions, ReportEntry, Unit } from '../types.js';
import { AheadFacts, SourceReadAhead } from './prefetch.js';
import { comparePaths, ManifestReader } from './read.js';
import { ManifestVerifier } from './verify.js';
import { writeManifest } from './write.js';

// Over ssh the source side is read ahead while the manifest is on its way, as far as it got when
// the first lines arrive: whatever that point, the counts and the report are the mounted target's.
const pairs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.cleanup();
});

describe('reading the source ahead of the manifest', () => {
  it.each(RULE_CASES)(
    'counts %s the same, however far it read ahead',
    async (_name, source, target, options = {}) => {
      const pair = treePair(source, target);
      pairs.push(pair);
      const entries: ReportEntry[] = [];
      const mounted = await verify({
        source: pair.src,
        target: pair.dst,
        workers: 0,
        report: true,
        mode: 'quick',
        onEntries: (e) => entries.push(...e),
        ...options,
      });
      const expected = entries.map((e) => `${e.root} ${e.category} ${e.path.toString()} ${e.reason}`).sort();
      // the directories as verify keeps them: outer ones only, '/'-separated
      const dirs = [...new Set(mounted.results.map((r) => r.dirCheck))].map((d) =>
        d === pair.src ? '' : d.slice(pair.src.length + 1),
      );
      const file = join(pair.dir, 'm.ndjson');
      await writeManifest(pair.dst, { mode: 'quick', excludes: [], output: file });
      for (const budget of [0, 1, 2, 5, Number.POSITIVE_INFINITY]) {
        const order = dirs.map((_, i) => i).sort((a, b) => comparePaths(dirs[a]!, dirs[b]!));
        const ahead = new SourceReadAhead(
          dirs.map((d) => resolve(pair.src, d)),
          options.excludes ?? [],
          false,
          order,
        );
        // a budget of one entry reads one directory at a time
        for (let n = 0; n < budget && ahead.step(1); n++) {}
        const found: ReportEntry[] = [];
        const engine: EngineOptions = {
          roots: dirs.map((d) => ({ source: resolve(pair.src, d), target: resolve(pair.dst, d) })),
          mode: 'quick',
          modifyWindow: 0,
          metadata: [],
          excludes: options.excludes ?? [],
          report: true,
        };
        const reader = await ManifestReader.open(file);
        const verifier = new ManifestVerifier(
          engine,
          reader,
          dirs,
          (t) => found.push(...t.takeEntries()),
          ahead,
        );
        const units: Unit[] = order.map((root) => ({ root, kind: 'both', rel: '' }));
        await verifier.run(units);
        found.push(...verifier.tally.takeEntries());
        expect(verifier.tally.counts, `read ahead ${budget}`).toEqual(mounted.results.map((r) => r.counts));
        expect(
          found.map((e) => `${e.root} ${e.category} ${e.path.toString()} ${e.reason}`).sort(),
          `read ahead ${budget}`,
        ).toEqual(expected);
      }
    },
  );
});

describe('the facts held for a directory read ahead', () => {
  const entries = ['a', 'b', 'c', 'd', 'dir', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'z'].map((name) => ({
    name,
    kind: name === 'dir' ? ('dir' as const) : ('file' as const),
  }));
  const file = (i: number) => fileFacts(0o644 + i, 1000 + i, 2000 + i, 10 * i, 1_700_000_000 + i, i * 7);

  it('gives each name its own facts, asked in order, out of order, or twice', () => {
    const held = new AheadFacts(entries);
    for (const [i, e] of entries.entries()) if (e.kind === 'file') held.set(i, file(i));
    const names = entries.filter((e) => e.kind === 'file').map((e) => e.name);
    for (const order of [names, [...names].reverse(), ['z', 'a', 'l', 'b', 'b', 'k']])
      for (const name of order) {
        const i = entries.findIndex((e) => e.name === name);
        expect(held.get(name), name).toEqual(file(i));
      }
    // a regular file's facts have the shape factsOf gives them
    expect(Object.keys(held.get('a')!)).toEqual(Object.keys(file(0)));
  });

  it('keeps errors and other kinds as they were, and knows nothing of names not read or not listed', () => {
    const held = new AheadFacts(entries);
    const gone = new Error('vanished');
    const link = { kind: 'symlink' as const, link: Buffer.from('target') };
    held.set(0, gone);
    held.set(1, link);
    held.set(13, file(13));
    expect(held.get('a')).toBe(gone);
    expect(held.get('b')).toBe(link);
    expect(held.get('c')).toBeUndefined(); // listed, not read ahead
    expect(held.get('dir')).toBeUndefined();
    expect(held.get('zz')).toBeUndefined(); // not listed
    expect(held.get('0')).toBeUndefined();
    expect(held.get('z')).toEqual(file(13));
    expect(new AheadFacts([]).get('a')).toBeUndefined();
  });

  it('holds a file replaced by another kind since it was listed as that kind', () => {
    const held = new AheadFacts(entries);
    held.set(2, { kind: 'dir', mode: 0o755, uid: 0, gid: 0 });
    expect(held.get('c')).toEqual({ kind: 'dir', mode: 0o755, uid: 0, gid: 0 });
  });
});
