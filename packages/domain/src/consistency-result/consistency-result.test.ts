import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { formatIssues } from '../issues/index.js';
import {
  type ConsistencyResult,
  ConsistencyResultSchema,
  deriveCheckResult,
  ShowConsistencyResultResponseSchema,
  UpdateConsistencyResultRequestSchema,
} from './consistency-result.js';

const valid: ConsistencyResult = {
  dir_check: '/root/data',
  num_total_files: 1235,
  num_different_files: 12,
  num_target_miss_files: 12,
  num_target_more_files: 12,
};

/** The message the server would send for `body`, or null when it is valid. */
function messageFor(body: unknown): string | null {
  const result = v.safeParse(UpdateConsistencyResultRequestSchema, body);
  return result.success ? null : formatIssues(result.issues);
}

function withResult(patch: Record<string, unknown>, index = 0): unknown {
  const list: unknown[] = Array.from({ length: index + 1 }, (_, i) => ({ ...valid, dir_check: `/d${i}` }));
  list[index] = { ...valid, dir_check: `/d${index}`, ...patch };
  return { consistency_result: list };
}

describe('UpdateConsistencyResultRequestSchema', () => {
  it("accepts the page's own example request body", () => {
    const example = {
      consistency_result: [
        { ...valid, dir_check: '/root/data' },
        { ...valid, dir_check: '/var' },
      ],
    };
    expect(v.safeParse(UpdateConsistencyResultRequestSchema, example).success).toBe(true);
  });

  it('accepts a body with no consistency_result and one with an empty array', () => {
    expect(messageFor({})).toBeNull();
    expect(messageFor({ consistency_result: [] })).toBeNull();
  });

  it('accepts 30 results and rejects 31 naming the field', () => {
    const results = (n: number) => Array.from({ length: n }, (_, i) => ({ ...valid, dir_check: `/d${i}` }));
    expect(messageFor({ consistency_result: results(30) })).toBeNull();
    expect(messageFor({ consistency_result: results(31) })).toBe(
      'consistency_result: expected at most 30 items, received 31',
    );
  });

  it('rejects a misspelt top-level field instead of treating it as an empty upload', () => {
    expect(messageFor({ consistency_results: [valid] })).toBe(
      'consistency_results: is not a field of this object; remove it',
    );
  });

  it('rejects a body that is not an object', () => {
    for (const body of [null, [], 'x', 3, true]) expect(messageFor(body)).toMatch(/^body: expected object/);
  });

  it('rejects consistency_result that is not an array', () => {
    expect(messageFor({ consistency_result: { ...valid } })).toBe(
      'consistency_result: expected array, received Object',
    );
    expect(messageFor({ consistency_result: null })).toBe(
      'consistency_result: expected array, received null',
    );
  });

  it('rejects two results with the same dir_check and names both', () => {
    expect(messageFor({ consistency_result: [valid, { ...valid, num_total_files: 99 }] })).toBe(
      'consistency_result[1].dir_check: duplicates the dir_check of consistency_result[0]; each directory may appear once per upload',
    );
  });
});

describe('ConsistencyResultSchema', () => {
  it.each([
    'num_total_files',
    'num_different_files',
    'num_target_miss_files',
    'num_target_more_files',
  ] as const)('%s accepts 0 and 1,000,000 and rejects 1,000,001, -1, 1.5, "12" and null', (field) => {
    const total = field === 'num_total_files' ? {} : { num_total_files: 1_000_000 };
    const others = { num_different_files: 0, num_target_miss_files: 0, ...total };
    expect(
      messageFor(
        withResult({ ...others, [field]: 0, num_total_files: field === 'num_total_files' ? 0 : 1_000_000 }),
      ),
    ).toBeNull();
    expect(messageFor(withResult({ ...others, [field]: 1_000_000 }))).toBeNull();
    expect(messageFor(withResult({ ...others, [field]: 1_000_001 }, 3))).toBe(
      `consistency_result[3].${field}: expected integer <= 1000000, received 1000001`,
    );
    expect(messageFor(withResult({ ...others, [field]: -1 }))).toBe(
      `consistency_result[0].${field}: expected integer >= 0, received -1`,
    );
    expect(messageFor(withResult({ ...others, [field]: 1.5 }))).toBe(
      `consistency_result[0].${field}: expected integer, received 1.5`,
    );
    expect(messageFor(withResult({ ...others, [field]: '12' }))).toBe(
      `consistency_result[0].${field}: expected integer, received "12"`,
    );
    expect(messageFor(withResult({ ...others, [field]: null }))).toBe(
      `consistency_result[0].${field}: expected integer, received null`,
    );
  });

  it.each([
    'dir_check',
    'num_total_files',
    'num_different_files',
    'num_target_miss_files',
    'num_target_more_files',
  ])('requires %s', (field) => {
    const result: Record<string, unknown> = { ...valid };
    delete result[field];
    expect(messageFor({ consistency_result: [result] })).toBe(`consistency_result[0].${field}: is required`);
  });

  it('accepts an empty dir_check and one of 1024 characters, rejects 1025', () => {
    expect(messageFor(withResult({ dir_check: '' }))).toBeNull();
    expect(messageFor(withResult({ dir_check: `/${'a'.repeat(1023)}` }))).toBeNull();
    expect(messageFor(withResult({ dir_check: `/${'a'.repeat(1024)}` }))).toBe(
      'consistency_result[0].dir_check: expected at most 1024 characters, received 1025',
    );
  });

  it('rejects a dir_check with a lone surrogate (PostgreSQL made two such directories one), takes a pair', () => {
    for (const lone of ['/x\ud800', '/x\udc00', '/\udbff/y', '/\udc00\ud800'])
      expect(messageFor(withResult({ dir_check: lone }))).toBe(
        'consistency_result[0].dir_check: is not valid Unicode: it holds a lone surrogate (\\uD800..\\uDFFF without its pair), which is no character; send the text as it is, in UTF-8',
      );
    // a character beyond the first plane is a pair, as JSON escapes it
    expect(messageFor(withResult({ dir_check: JSON.parse('"/data/\\ud83d\\ude00"') }))).toBeNull();
    expect(messageFor(withResult({ dir_check: '/data/\u{1F600}\u00e9' }))).toBeNull();
  });

  it('rejects a dir_check that is not a string', () => {
    expect(messageFor(withResult({ dir_check: 7 }))).toBe(
      'consistency_result[0].dir_check: expected string, received 7',
    );
  });

  it('rejects an unknown field in a result', () => {
    expect(messageFor(withResult({ finished_time: 5 }))).toBe(
      'consistency_result[0].finished_time: is not a field of this object; remove it',
    );
  });

  it('rejects a result whose different and missing files exceed the total, naming the fields', () => {
    const over = { num_total_files: 10, num_different_files: 6, num_target_miss_files: 5 };
    expect(messageFor(withResult(over))).toBe(
      'consistency_result[0]: num_different_files + num_target_miss_files must not exceed num_total_files (different and missing files are among the files verified): 6 + 5 > 10',
    );
    expect(messageFor(withResult({ ...over, num_target_miss_files: 4 }))).toBeNull();
    // extra files at the target are not among the files verified: any number is allowed
    expect(
      messageFor(
        withResult({
          num_total_files: 0,
          num_different_files: 0,
          num_target_miss_files: 0,
          num_target_more_files: 1_000_000,
        }),
      ),
    ).toBeNull();
  });

  it('infers the output type from the schema', () => {
    const parsed = v.parse(ConsistencyResultSchema, valid);
    expect(parsed).toEqual(valid);
  });
});

describe('deriveCheckResult', () => {
  it('is NO_RESULT for an empty upload, CONSISTENT when every count is 0, INCONSISTENT otherwise', () => {
    const clean = { ...valid, num_different_files: 0, num_target_miss_files: 0, num_target_more_files: 0 };
    expect(deriveCheckResult([])).toBe('NO_RESULT');
    expect(deriveCheckResult([clean])).toBe('CONSISTENT');
    expect(deriveCheckResult([clean, { ...clean, dir_check: '/x', num_target_more_files: 1 }])).toBe(
      'INCONSISTENT',
    );
    expect(deriveCheckResult([{ ...clean, num_different_files: 1 }])).toBe('INCONSISTENT');
    expect(deriveCheckResult([{ ...clean, num_target_miss_files: 1 }])).toBe('INCONSISTENT');
  });
});

describe('ShowConsistencyResultResponseSchema', () => {
  it('accepts a history of uploads and rejects a fractional finished_time', () => {
    const body = {
      task_id: '137224b7-8d7c-4919-b33e-ed159778xxxx',
      result_list: [
        { finished_time: 1_764_300_000_000, check_result: 'INCONSISTENT', consistency_result: [valid] },
      ],
    };
    expect(v.safeParse(ShowConsistencyResultResponseSchema, body).success).toBe(true);
    const bad = { ...body, result_list: [{ ...body.result_list[0], finished_time: 1.5 }] };
    expect(v.safeParse(ShowConsistencyResultResponseSchema, bad).success).toBe(false);
    const unknownVerdict = { ...body, result_list: [{ ...body.result_list[0], check_result: 'MAYBE' }] };
    expect(v.safeParse(ShowConsistencyResultResponseSchema, unknownVerdict).success).toBe(false);
  });
});
