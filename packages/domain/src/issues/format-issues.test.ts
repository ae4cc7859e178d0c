import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { UpdateConsistencyResultRequestSchema } from '../consistency-result/index.js';
import { formatIssuePath, formatIssues } from './format-issues.js';

const result = (i: number) => ({
  dir_check: `/d${i}`,
  num_total_files: 1,
  num_different_files: 0,
  num_target_miss_files: 0,
  num_target_more_files: 0,
});

function issuesOf(body: unknown) {
  const parsed = v.safeParse(UpdateConsistencyResultRequestSchema, body);
  if (parsed.success) throw new Error('expected the body to be invalid');
  return parsed.issues;
}

describe('formatIssues', () => {
  it('names the field path and the rule broken', () => {
    const list = [0, 1, 2, 3].map(result);
    list[3] = { ...list[3]!, num_total_files: 1_000_001 };
    expect(formatIssues(issuesOf({ consistency_result: list }))).toBe(
      'consistency_result[3].num_total_files: expected integer <= 1000000, received 1000001',
    );
  });

  it('joins several issues with "; "', () => {
    const list = [
      { ...result(0), num_total_files: -1 },
      { ...result(1), dir_check: 5 },
    ];
    expect(formatIssues(issuesOf({ consistency_result: list }))).toBe(
      'consistency_result[0].num_total_files: expected integer >= 0, received -1; consistency_result[1].dir_check: expected string, received 5',
    );
  });

  it('never exceeds the 1024 characters of error_msg, and says how many issues it left out', () => {
    const list = Array.from({ length: 30 }, (_, i) => ({ ...result(i), dir_check: 'x'.repeat(2000 + i) }));
    const message = formatIssues(issuesOf({ consistency_result: list }));
    expect(message.length).toBeLessThanOrEqual(1024);
    expect(message).toMatch(/; and \d+ more$/);
    expect(
      message.startsWith('consistency_result[0].dir_check: expected at most 1024 characters, received 2000'),
    ).toBe(true);
  });

  it('shortens a long received value instead of echoing it', () => {
    const message = formatIssues(
      issuesOf({ consistency_result: [{ ...result(0), num_total_files: 'y'.repeat(5000) }] }),
    );
    expect(message.length).toBeLessThan(150);
    expect(message).toContain('…');
  });

  it('quotes a key that is not an identifier', () => {
    const [issue] = issuesOf({ 'bad key': 1 });
    expect(formatIssuePath(issue!)).toBe('["bad key"]');
  });

  it('names the root when the value itself is wrong', () => {
    expect(formatIssues(issuesOf(null))).toBe('body: expected object, received null');
    expect(formatIssues(issuesOf(null), { root: 'request' })).toBe('request: expected object, received null');
  });
});
