import fc from 'fast-check';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { DirSchema, isDirRecord } from './format.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

// values near every rule's edges: the kinds, integers at 0, -1, 0o7777, 999,999,999 and one past, hashes
const scalar = fc.oneof(
  fc.constantFrom('f', 'd', 'l', 'p', 's', 'c', 'b', 'u', 'x', '', 'F'),
  fc.constantFrom(0, -1, 1, 0o7777, 0o10000, 999_999_999, 1_000_000_000, 1.5, -1767323045, 2 ** 60),
  fc.constant('a'.repeat(64)),
  fc.constant('A'.repeat(64)),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const entry = fc.oneof(
  fc.record(
    {
      n: fc.oneof(fc.string(), scalar),
      nb: fc.oneof(fc.string(), scalar),
      k: fc.oneof(fc.constantFrom('f', 'd', 'l', 'p', 's', 'c', 'b', 'u'), scalar),
      s: scalar,
      m: scalar,
      mn: scalar,
      p: scalar,
      u: scalar,
      g: scalar,
      h: scalar,
      r: scalar,
      l: scalar,
      lb: scalar,
      err: scalar,
      c: fc.oneof(fc.constant(1), scalar),
      zz: scalar,
    },
    { requiredKeys: [] },
  ),
  scalar,
  fc.array(scalar, { maxLength: 2 }),
);
const record = fc.oneof(
  fc.record(
    {
      d: scalar,
      db: scalar,
      p: scalar,
      u: scalar,
      g: scalar,
      e: fc.oneof(fc.array(entry, { maxLength: 4 }), scalar),
      err: scalar,
    },
    { requiredKeys: [] },
  ),
  scalar,
  fc.array(scalar, { maxLength: 2 }),
);

describe('isDirRecord (the manifest reader’s check of a directory line)', () => {
  it('accepts exactly what DirSchema accepts', () => {
    fc.assert(
      fc.property(record, (x) => {
        // what the reader gives it: a value parsed from JSON
        const parsed = JSON.parse(JSON.stringify(x) ?? 'null');
        expect(isDirRecord(parsed)).toBe(v.is(DirSchema, parsed));
      }),
      { numRuns: RUNS },
    );
  });

  it('accepts a real line and refuses each rule broken once', () => {
    const ok = {
      d: '',
      e: [{ n: 'a', k: 'f', s: 5, m: 1, mn: 999_999_999, p: 0o7777, u: 0, g: 0, h: 'a'.repeat(64) }],
    };
    expect(isDirRecord(ok)).toBe(true);
    for (const [key, value] of [
      ['k', 'x'],
      ['s', -1],
      ['mn', 1_000_000_000],
      ['p', 0o10000],
      ['u', 1.5],
      ['h', 'A'.repeat(64)],
      ['c', 2],
    ] as const) {
      const broken = { d: '', e: [{ ...ok.e[0], [key]: value }] };
      expect(isDirRecord(broken), `${key}: ${value}`).toBe(false);
      expect(v.is(DirSchema, broken)).toBe(false);
    }
  });
});
