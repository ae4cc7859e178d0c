import { UpdateConsistencyResultRequestSchema } from '@sms/domain';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import type { ConsistencyResult } from './index.js';

describe('agent', () => {
  it('builds on the domain schemas', () => {
    const result: ConsistencyResult = {
      dir_check: '/root/data',
      num_total_files: 1,
      num_different_files: 0,
      num_target_miss_files: 0,
      num_target_more_files: 0,
    };
    expect(v.safeParse(UpdateConsistencyResultRequestSchema, { consistency_result: [result] }).success).toBe(
      true,
    );
  });
});
