import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { formatIssues } from '../issues/index.js';
import { CreateTaskRequestSchema, ListTasksParamsSchema, ListTasksQuerySchema } from './task.js';

describe('ListTasksQuerySchema', () => {
  it('reads limit and offset from their decimal text', () => {
    expect(v.parse(ListTasksQuerySchema, { limit: '100', offset: '0', state: 'READY' })).toEqual({
      limit: 100,
      offset: 0,
      state: 'READY',
    });
  });

  it('applies the same limits as the typed parameters: limit 1..100', () => {
    const message = (query: object) => {
      const r = v.safeParse(ListTasksQuerySchema, query);
      return r.success ? null : formatIssues(r.issues, { root: 'query' });
    };
    expect(message({ limit: '1' })).toBeNull();
    expect(message({ limit: '0' })).toBe('limit: expected integer >= 1, received 0');
    expect(message({ limit: '101' })).toBe('limit: expected integer <= 100, received 101');
    expect(message({ limit: '1.5' })).toBe('limit: expected a non-negative integer');
    expect(message({ limit: '-1' })).toBe('limit: expected a non-negative integer');
    expect(message({ state: 'DONE' })).toMatch(/^state: expected one of "READY" \| /);
    expect(message({ colour: 'red' })).toBe('colour: is not a field of this object; remove it');
    expect(v.safeParse(ListTasksParamsSchema, { limit: 100, offset: 5 }).success).toBe(true);
  });
});

describe('CreateTaskRequestSchema', () => {
  it('wants a name of 1..255 characters and an optional known type', () => {
    expect(v.safeParse(CreateTaskRequestSchema, { name: 'web-01' }).success).toBe(true);
    expect(
      v.safeParse(CreateTaskRequestSchema, { name: 'n'.repeat(255), type: 'MIGRATE_BLOCK' }).success,
    ).toBe(true);
    expect(v.safeParse(CreateTaskRequestSchema, { name: 'n'.repeat(256) }).success).toBe(false);
    expect(v.safeParse(CreateTaskRequestSchema, { name: '' }).success).toBe(false);
    expect(v.safeParse(CreateTaskRequestSchema, { name: 'x', type: 'COPY' }).success).toBe(false);
  });
});
