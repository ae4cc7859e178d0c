import type { ConsistencyResult, ConsistencyResultEntry } from '@sms/domain';
import { GroupCommit } from './group-commit.js';
import { knownFailureKind, Store, type StoreHandle } from './handle.js';
import { storePostgresUpload } from './postgres-upload.js';
import { sendHeld, sentUpload } from './sqlite-procedures.js';

export interface NewUpload {
  taskId: string;
  /** The run it belongs to: the agent's `X-Sms-Run-Id`, or one made for this upload alone. */
  runId: string;
  finishedTime: number;
  checkResult: string;
  idempotencyKey: string | undefined;
  requestHash: string;
  results: readonly ConsistencyResult[];
  /** `results` as JSON, when the caller has it already (it hashed it); made from `results` if not. */
  resultsJson?: string;
}
/** What storing an upload did: stored it, or found the same key already stored. */
export type UploadOutcome =
  | { kind: 'stored'; finishedTime: number }
  | {
      kind: 'replayed';
      requestHash: string;
      finishedTime: number /** the earlier upload's run (null: stored before runs) */;
      runId: string | null;
    }
  | { kind: 'task-missing' };

/** Uploads of consistency results: stored with their task's directories, and read back as the history. */
export class UploadStore extends Store {
  constructor(handle: StoreHandle) {
    super(handle);
    const thread = handle.sqlite;
    this.groupCommit = new GroupCommit(
      (batch) =>
        this.run('store upload', async () => {
          if (!thread) throw new Error('group commit without a SQLite thread');
          const { answer } = await sendHeld(this.db, () =>
            thread.call<UploadOutcome[]>('storeBatch', batch.map(sentUpload)),
          );
          const outcomes = await answer;
          // counted once committed: a batch that failed committed nothing
          handle.events.batchCommitted(batch.length);
          return outcomes;
        }),
      // a failure of the whole database (its disk full, busy, unreachable) would fail each again
      (error) => knownFailureKind(error) === undefined,
    );
  }

  /** SQLite's uploads that arrive together, committed together. */
  private readonly groupCommit: GroupCommit<NewUpload, UploadOutcome>;

  /**
   * Stores one upload as one row and folds it into its task's state, both
   * committed together when this resolves. With an idempotency key already
   * used for this task, nothing is written and the earlier upload is returned
   * for the caller to compare.
   *
   * On SQLite, uploads that arrive together are committed together (group
   * commit): one transaction and one fsync for the batch, on the database
   * thread, each caller answered only after that commit. SQLite has one
   * writer at a time, so one fsync per upload would cap the server at the
   * disk's fsync rate. PostgreSQL groups concurrent commits by itself.
   */
  storeUpload(upload: NewUpload): Promise<UploadOutcome> {
    if (this.dialect !== 'sqlite') {
      return this.run('store upload', () => storePostgresUpload(this.db, upload));
    }
    return this.groupCommit.add(upload);
  }

  /** Every upload of a task, newest first. */
  async listUploads(taskId: string): Promise<ConsistencyResultEntry[]> {
    return this.run('read uploads', async () => {
      const rows = await this.db
        .selectFrom('consistency_uploads')
        .select(['finished_time', 'check_result', 'results'])
        .where('task_id', '=', taskId)
        .orderBy('finished_time', 'desc')
        .orderBy('id', 'desc')
        .execute();
      return rows.map((row) => ({
        finished_time: row.finished_time,
        check_result: row.check_result as ConsistencyResultEntry['check_result'],
        consistency_result: JSON.parse(row.results) as ConsistencyResult[],
      }));
    });
  }

  /** How many uploads a task has (for tests and the load check). */
  async countUploads(taskId?: string): Promise<number> {
    return this.run('count uploads', async () => {
      let query = this.db.selectFrom('consistency_uploads').select((eb) => eb.fn.countAll<number>().as('n'));
      if (taskId !== undefined) query = query.where('task_id', '=', taskId);
      const row = await query.executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }
}
