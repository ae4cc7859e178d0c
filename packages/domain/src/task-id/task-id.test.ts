import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { formatIssues } from '../issues/index.js';
import { TaskIdSchema } from './task-id.js';

describe('TaskIdSchema', () => {
  it('accepts 1 and 36 characters and rejects 0 and 37', () => {
    expect(v.safeParse(TaskIdSchema, 'a').success).toBe(true);
    expect(v.safeParse(TaskIdSchema, '137224b7-8d7c-4919-b33e-ed159778xxxx').success).toBe(true);
    const empty = v.safeParse(TaskIdSchema, '');
    expect(empty.success).toBe(false);
    expect(formatIssues(empty.issues ?? [], { root: 'task_id' })).toBe('task_id: must not be empty');
    const long = v.safeParse(TaskIdSchema, 'a'.repeat(37));
    expect(formatIssues(long.issues ?? [], { root: 'task_id' })).toBe(
      'task_id: expected at most 36 characters, received 37',
    );
  });

  it('rejects a task id that is not a string', () => {
    expect(v.safeParse(TaskIdSchema, 36).success).toBe(false);
    expect(v.safeParse(TaskIdSchema, undefined).success).toBe(false);
  });
});
