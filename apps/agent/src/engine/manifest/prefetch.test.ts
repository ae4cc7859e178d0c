import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RULE_CASES } from '../../test-support/rule-cases.js';
import { treePair } from '../../test-support/tree.js';
import { verify } from '../../verify.js';
import type { EngineOptions, ReportEntry, Unit } from '../types.js';
import { SourceReadAhead } from './prefetch.js';
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
