import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { formatIssues } from '../issues/index.js';
import { AuthTokenSchema } from './auth-token.js';

describe('AuthTokenSchema', () => {
  it('accepts 1 and 16384 characters and rejects 0 and 16385', () => {
    expect(v.safeParse(AuthTokenSchema, 't').success).toBe(true);
    expect(v.safeParse(AuthTokenSchema, 't'.repeat(16_384)).success).toBe(true);
    expect(v.safeParse(AuthTokenSchema, '').success).toBe(false);
    const long = v.safeParse(AuthTokenSchema, 't'.repeat(16_385));
    expect(formatIssues(long.issues ?? [], { root: 'X-Auth-Token' })).toBe(
      'X-Auth-Token: expected at most 16384 characters, received 16385',
    );
  });
});
