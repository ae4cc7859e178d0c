import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { formatIssues } from '../issues/index.js';
import {
  fileBreakdown,
  TaskPageQuerySchema,
  TaskSummaryQuerySchema,
  VERDICTS_WORST_FIRST,
  verdictOf,
} from './task-summary.js';

const message = (query: Record<string, string>) => {
  const r = v.safeParse(TaskSummaryQuerySchema, query);
  return r.success ? null : formatIssues(r.issues, { root: 'query' });
};

describe('TaskSummaryQuerySchema', () => {
  it('gives the defaults for an empty query and for empty form fields', () => {
    const defaults = { sort: 'verdict', order: 'asc', page: 1, per_page: 50 };
    expect(v.parse(TaskSummaryQuerySchema, {})).toEqual(defaults);
    expect(v.parse(TaskSummaryQuerySchema, { q: '', verdict: '', page: '' })).toEqual(defaults);
  });

  it('reads every field', () => {
    expect(
      v.parse(TaskSummaryQuerySchema, {
        q: 'web',
        verdict: 'never',
        sort: 'last',
        order: 'desc',
        page: '7',
        per_page: '100',
      }),
    ).toEqual({ q: 'web', verdict: 'never', sort: 'last', order: 'desc', page: 7, per_page: 100 });
  });

  it('keeps the limits: per_page 1..100, page from 1, q as long as a task name (255)', () => {
    expect(message({ per_page: '1' })).toBeNull();
    expect(message({ per_page: '100' })).toBeNull();
    expect(message({ per_page: '0' })).toBe('per_page: expected integer >= 1, received 0');
    expect(message({ per_page: '101' })).toBe('per_page: expected integer <= 100, received 101');
    expect(message({ page: '0' })).toBe('page: expected integer >= 1, received 0');
    expect(message({ page: '-1' })).toBe('page: expected a positive integer');
    expect(message({ page: 'two' })).toBe('page: expected a positive integer');
    expect(message({ q: 'n'.repeat(255) })).toBeNull();
    expect(message({ q: 'n'.repeat(256) })).toBe('q: expected at most 255 characters, received 256');
  });

  it('refuses unknown values and unknown fields, naming them', () => {
    expect(message({ verdict: 'green' })).toMatch(/^verdict: expected one of "inconsistent" \| /);
    expect(message({ sort: 'size' })).toMatch(/^sort: expected one of "verdict" \| /);
    expect(message({ order: 'up' })).toMatch(/^order: expected one of "asc" \| "desc"/);
    expect(message({ colour: 'red' })).toBe('colour: is not a field of this object; remove it');
  });
});

describe('TaskPageQuerySchema', () => {
  const pageMessage = (query: Record<string, string>) => {
    const r = v.safeParse(TaskPageQuerySchema, query);
    return r.success ? null : formatIssues(r.issues, { root: 'query' });
  };

  it('gives page 1 of the directories by default, also for an empty field', () => {
    expect(v.parse(TaskPageQuerySchema, {})).toEqual({ dirs_page: 1 });
    expect(v.parse(TaskPageQuerySchema, { dirs_page: '' })).toEqual({ dirs_page: 1 });
    expect(v.parse(TaskPageQuerySchema, { dirs_page: '3' })).toEqual({ dirs_page: 3 });
  });

  it('refuses a page below 1, a non-number and unknown fields, naming them', () => {
    expect(pageMessage({ dirs_page: '1' })).toBeNull();
    expect(pageMessage({ dirs_page: '0' })).toBe('dirs_page: expected integer >= 1, received 0');
    expect(pageMessage({ dirs_page: 'last' })).toBe('dirs_page: expected a positive integer');
    expect(pageMessage({ page: '2' })).toBe('page: is not a field of this object; remove it');
  });
});

describe('verdictOf', () => {
  it('maps check_result to a verdict, and no upload to never', () => {
    expect(verdictOf('CONSISTENT')).toBe('consistent');
    expect(verdictOf('INCONSISTENT')).toBe('inconsistent');
    expect(verdictOf('NO_RESULT')).toBe('no-result');
    expect(verdictOf(null)).toBe('never');
    expect(VERDICTS_WORST_FIRST[0]).toBe('inconsistent');
    expect(VERDICTS_WORST_FIRST.at(-1)).toBe('consistent');
  });
});

describe('fileBreakdown', () => {
  it('splits the verified files into matching, different and missing, extra beyond them', () => {
    const parts = fileBreakdown({
      num_total_files: 1235,
      num_different_files: 12,
      num_target_miss_files: 13,
      num_target_more_files: 14,
    });
    expect(parts).toEqual({ matching: 1210, different: 12, missing: 13, extra: 14 });
    expect(parts.matching + parts.different + parts.missing).toBe(1235);
  });

  it('handles the edges: nothing verified, and every count at its maximum', () => {
    expect(
      fileBreakdown({
        num_total_files: 0,
        num_different_files: 0,
        num_target_miss_files: 0,
        num_target_more_files: 0,
      }),
    ).toEqual({ matching: 0, different: 0, missing: 0, extra: 0 });
    expect(
      fileBreakdown({
        num_total_files: 1_000_000,
        num_different_files: 400_000,
        num_target_miss_files: 600_000,
        num_target_more_files: 1_000_000,
      }),
    ).toEqual({ matching: 0, different: 400_000, missing: 600_000, extra: 1_000_000 });
  });
});
