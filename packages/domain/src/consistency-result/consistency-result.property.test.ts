import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { Limits } from '../limits/index.js';
import { type ConsistencyResult, UpdateConsistencyResultRequestSchema } from './consistency-result.js';

const count = fc.integer({ min: 0, max: Limits.fileCountMax });

/** A valid result: different + missing never exceed the total. */
const validResult: fc.Arbitrary<ConsistencyResult> = fc
  .record({
    dir_check: fc.string({ maxLength: Limits.dirCheckMaxLength }).map((d) => d.replaceAll('\0', '')),
    num_total_files: count,
    a: fc.double({ min: 0, max: 1, noNaN: true }),
    b: fc.double({ min: 0, max: 1, noNaN: true }),
    num_target_more_files: count,
  })
  .map(({ a, b, ...rest }) => {
    const different = Math.floor(rest.num_total_files * a);
    const missing = Math.floor((rest.num_total_files - different) * b);
    return {
      dir_check: rest.dir_check,
      num_total_files: rest.num_total_files,
      num_different_files: different,
      num_target_miss_files: missing,
      num_target_more_files: rest.num_target_more_files,
    };
  });

const validBody = fc.oneof(
  fc.constant({}),
  fc
    .uniqueArray(validResult, { maxLength: Limits.resultsPerUploadMax, selector: (r) => r.dir_check })
    .map((consistency_result) => ({ consistency_result })),
);

const countFields = [
  'num_total_files',
  'num_different_files',
  'num_target_miss_files',
  'num_target_more_files',
] as const;
const allFields = ['dir_check', ...countFields] as const;

/** Each mutation takes a valid body with at least one result and breaks exactly one rule. */
type Mutation = (results: Record<string, unknown>[], index: number, field: number, seed: number) => unknown;
const mutations: Record<string, Mutation> = {
  countTooLarge: (r, i, f, s) => set(r, i, countFields[f % 4]!, Limits.fileCountMax + 1 + (s % 1000)),
  countNegative: (r, i, f, s) => set(r, i, countFields[f % 4]!, -1 - (s % 1000)),
  countFractional: (r, i, f) => set(r, i, countFields[f % 4]!, 0.5),
  countAsString: (r, i, f) => set(r, i, countFields[f % 4]!, String(r[i]![countFields[f % 4]!])),
  fieldNull: (r, i, f) => set(r, i, allFields[f % 5]!, null),
  fieldMissing: (r, i, f) => {
    const copy = r.map((x) => ({ ...x }));
    delete copy[i]![allFields[f % 5]!];
    return { consistency_result: copy };
  },
  unknownField: (r, i) => set(r, i, 'finished_time', 1),
  dirCheckTooLong: (r, i) => set(r, i, 'dir_check', 'd'.repeat(Limits.dirCheckMaxLength + 1)),
  dirCheckNotString: (r, i, _f, s) => set(r, i, 'dir_check', s),
  dirCheckWithNul: (r, i) => set(r, i, 'dir_check', `${String(r[i]!.dir_check).slice(0, 1000)}\0`),
  subsetRuleBroken: (r, i) =>
    set(
      r,
      i,
      'num_different_files',
      (r[i]!.num_total_files as number) - (r[i]!.num_target_miss_files as number) + 1,
    ),
  duplicateDirCheck: (r, i) => ({ consistency_result: [...r, { ...r[i] }] }),
  tooManyResults: (r) => ({
    consistency_result: Array.from({ length: Limits.resultsPerUploadMax + 1 }, (_, k) => ({
      ...r[0],
      dir_check: `/${k}`,
    })),
  }),
  resultNotObject: (r, i) => ({ consistency_result: r.map((x, k) => (k === i ? [x] : x)) }),
  listNotArray: (r) => ({ consistency_result: r[0] }),
  unknownTopLevelField: (r) => ({ consistency_result: r, consistency_results: r }),
};

function set(results: Record<string, unknown>[], index: number, key: string, value: unknown) {
  return { consistency_result: results.map((r, k) => (k === index ? { ...r, [key]: value } : r)) };
}

describe('UpdateConsistencyResultRequestSchema (properties)', () => {
  it('accepts every generated valid body', () => {
    fc.assert(
      fc.property(validBody, (body) => v.safeParse(UpdateConsistencyResultRequestSchema, body).success),
      { numRuns: 500 },
    );
  });

  it('rejects every valid body broken by one mutation', () => {
    const nonEmpty = fc.uniqueArray(validResult, {
      minLength: 1,
      maxLength: Limits.resultsPerUploadMax,
      selector: (r) => r.dir_check,
    });
    fc.assert(
      fc.property(
        nonEmpty,
        fc.constantFrom(...Object.keys(mutations)),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        (results, name, index, field, seed) => {
          const body = mutations[name]!(results as never, index % results.length, field, seed);
          const parsed = v.safeParse(UpdateConsistencyResultRequestSchema, body);
          expect(parsed.success, `${name} should be rejected`).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
