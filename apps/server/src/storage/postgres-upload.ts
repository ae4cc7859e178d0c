import { StorageError } from '@sms/domain';
import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { NewUpload, UploadOutcome } from './upload-store.js';
import { uploadRow } from './upload-writes.js';

/** The call of `sms_store_upload` (migration 0011, `db/postgres-store-upload.ts`). */
const STORE_UPLOAD = `select outcome, request_hash, finished_time, run_id
  from sms_store_upload($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;

/**
 * On PostgreSQL, one upload as one function call: one round trip and one
 * statement, committed before it answers, where a transaction of three
 * statements took five round trips (BEGIN, the task under its row lock, its
 * directories, the writes, COMMIT). The function locks the task's row, so
 * uploads to one task from several connections or instances apply one after
 * the other; PostgreSQL groups concurrent commits by itself.
 */
export async function storePostgresUpload(db: Kysely<Database>, upload: NewUpload): Promise<UploadOutcome> {
  const { results } = upload;
  const row = uploadRow(upload);
  const { rows } = await db.executeQuery(
    CompiledQuery.raw(STORE_UPLOAD, [
      upload.taskId,
      upload.finishedTime,
      upload.checkResult,
      row.idempotency_key,
      upload.requestHash,
      row.results,
      results.map((r) => r.dir_check),
      results.map((r) => r.num_total_files),
      results.map((r) => r.num_different_files),
      results.map((r) => r.num_target_miss_files),
      results.map((r) => r.num_target_more_files),
      upload.runId,
    ]) as CompiledQuery<{
      outcome: string;
      request_hash: string | null;
      finished_time: number | null;
      run_id: string | null;
    }>,
  );
  const answer = rows[0];
  if (answer?.outcome === 'stored') return { kind: 'stored', finishedTime: upload.finishedTime };
  if (answer?.outcome === 'task-missing') return { kind: 'task-missing' };
  if (answer?.outcome === 'replayed' && answer.request_hash !== null && answer.finished_time !== null) {
    return {
      kind: 'replayed',
      requestHash: answer.request_hash,
      finishedTime: answer.finished_time,
      runId: answer.run_id,
    };
  }
  throw new StorageError('Storage failed (store upload): its idempotency key conflicted, then was gone');
}
