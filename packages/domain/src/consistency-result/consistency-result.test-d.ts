import type * as v from 'valibot';
import { describe, expectTypeOf, it } from 'vitest';
import type {
  ConsistencyResult,
  ShowConsistencyResultResponse,
  UpdateConsistencyResultRequest,
  UpdateConsistencyResultRequestSchema,
} from './consistency-result.js';

describe('inferred types', () => {
  it('types a result with the five fields of the page', () => {
    expectTypeOf<ConsistencyResult>().toEqualTypeOf<{
      dir_check: string;
      num_total_files: number;
      num_different_files: number;
      num_target_miss_files: number;
      num_target_more_files: number;
    }>();
  });

  it('makes consistency_result optional in the request', () => {
    expectTypeOf<UpdateConsistencyResultRequest>().toEqualTypeOf<{
      consistency_result?: ConsistencyResult[];
    }>();
    expectTypeOf<
      v.InferOutput<typeof UpdateConsistencyResultRequestSchema>
    >().toEqualTypeOf<UpdateConsistencyResultRequest>();
  });

  it('types the history entries', () => {
    expectTypeOf<ShowConsistencyResultResponse['result_list'][number]['check_result']>().toEqualTypeOf<
      'CONSISTENT' | 'INCONSISTENT' | 'NO_RESULT'
    >();
  });
});
