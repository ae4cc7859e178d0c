import { describe, expectTypeOf, it } from 'vitest';
import { SmsClient } from './client.js';
import type { ShowConsistencyResultResponse, Task } from './index.js';

const client = new SmsClient({ endpoint: 'http://127.0.0.1:8080', token: 't' });
const valid = {
  dir_check: '/a',
  num_total_files: 1,
  num_different_files: 0,
  num_target_miss_files: 0,
  num_target_more_files: 0,
};

describe('SmsClient types', () => {
  it('accepts a well-typed upload', () => {
    expectTypeOf(client.updateConsistencyResult('t', [valid])).resolves.toBeVoid();
  });

  it('does not compile with a wrong field name', () => {
    const misspelt = {
      dir_check: '/a',
      num_total_file: 1,
      num_different_files: 0,
      num_target_miss_files: 0,
      num_target_more_files: 0,
    };
    // @ts-expect-error num_total_file is not a field of ConsistencyResult (and num_total_files is missing)
    void client.updateConsistencyResult('t', [misspelt]);
    const { num_total_files: _, ...missing } = valid;
    // @ts-expect-error num_total_files is required
    void client.updateConsistencyResult('t', [missing]);
  });

  it('does not compile with a wrong field type', () => {
    // @ts-expect-error counts are numbers, not strings
    void client.updateConsistencyResult('t', [{ ...valid, num_total_files: '12' }]);
    // @ts-expect-error dir_check is a string
    void client.updateConsistencyResult('t', [{ ...valid, dir_check: 7 }]);
  });

  it('types the answers', () => {
    expectTypeOf(client.showConsistencyResult('t')).resolves.toEqualTypeOf<ShowConsistencyResultResponse>();
    expectTypeOf(client.showTask('t')).resolves.toEqualTypeOf<Task>();
    expectTypeOf(client.createTask({ name: 'x' })).resolves.toEqualTypeOf<{ id: string }>();
  });
});
