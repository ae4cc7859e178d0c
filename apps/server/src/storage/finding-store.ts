import type { ExpressionBuilder, SelectQueryBuilder } from 'kysely';
import type { Database } from '../db/schema.js';
import { FindingReads, type FindingRow, IN_LIST_CHUNK } from './finding-reads.js';
import { type FindingsWrite, INSERT_CHUNK } from './finding-writes.js';
import { type StoreHandle, StoreRefusal } from './handle.js';
import { sendHeld } from './sqlite-procedures.js';

export type {
  DirectoryRun,
  FindingDirectory,
  FindingRow,
  FindingsCursor,
  StoredFindingRow,
} from './finding-reads.js';

/** A findings upload as stored: `open` while its lines arrive, `done` once all were stored. */
export interface FindingBatch {
  id: number;
  run_id: string;
  request_hash: string | null;
  state: 'open' | 'done' | 'abandoned';
  stored: number;
  superseded: string[];
  dirs: string[];
  updated_at: number;
}

/** Rows one clean-up statement deletes, so that no statement holds the database long. */
const DELETE_CHUNK = 5000;

/** A findings upload abandoned while it was still being written (it looked dead); nothing of it is kept. */
export class AbandonedUpload extends StoreRefusal {
  override name = 'AbandonedUpload';
}

/**
 * A findings upload that would take a directory's findings in its run past the limit (with what
 * uploads of the run closed meanwhile stored): nothing of it is kept.
 */
export class FindingsOverLimit extends StoreRefusal {
  override name = 'FindingsOverLimit';
  constructor(
    readonly dirCheck: string,
    readonly total: number,
  ) {
    super(`${total} findings of ${dirCheck} in one run`);
  }
}

/**
 * Findings: the per-path lines behind a directory's counts (our extension).
 * A findings upload is a batch, written in chunks as its lines arrive and
 * seen only once closed; a directory's current findings are those of the
 * run that made its newest result, and older runs' are swept away.
 */
export class FindingStore extends FindingReads {
  private readonly sqlite: StoreHandle['sqlite'];
  constructor(handle: StoreHandle) {
    super(handle);
    this.sqlite = handle.sqlite;
  }

  /** The upload that used this idempotency key for the task, if any. */
  async batchByKey(taskId: string, idempotencyKey: string): Promise<FindingBatch | undefined> {
    return this.run('read findings upload', async () => {
      const row = await this.db
        .selectFrom('finding_batches')
        .select(['id', 'run_id', 'request_hash', 'state', 'stored', 'superseded', 'dirs', 'updated_at'])
        .where('task_id', '=', taskId)
        .where('idempotency_key', '=', idempotencyKey)
        .executeTakeFirst();
      return row && batchOf(row);
    });
  }

  /** Starts an upload; a key already used for the task throws `UniqueViolation`. */
  async openBatch(
    taskId: string,
    runId: string,
    idempotencyKey: string | undefined,
    now: number,
  ): Promise<number> {
    return this.run('start findings upload', async () => {
      const row = await this.db
        .insertInto('finding_batches')
        .values({
          task_id: taskId,
          run_id: runId,
          idempotency_key: idempotencyKey ?? null,
          request_hash: null,
          state: 'open',
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(row.id);
    });
  }

  /** Writes a chunk of an open upload's findings, committed when this resolves (not yet seen). */
  async addFindings(
    taskId: string,
    runId: string,
    batchId: number,
    rows: readonly FindingRow[],
    now: number,
  ): Promise<void> {
    if (rows.length === 0) return;
    await this.run('store findings', async () => {
      if (this.sqlite) {
        const thread = this.sqlite;
        // on the database thread in one transaction, never inside one of Kysely's
        const write: FindingsWrite = { taskId, runId, batchId, rows, now };
        await (await sendHeld(this.db, () => thread.call('addFindings', write))).answer;
        return;
      }
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await this.db
          .insertInto('findings')
          .values(
            rows
              .slice(i, i + INSERT_CHUNK)
              .map((r) => ({ ...r, task_id: taskId, run_id: runId, batch_id: batchId })),
          )
          .execute();
      }
      await this.db
        .updateTable('finding_batches')
        .set({ updated_at: now })
        .where('id', '=', batchId)
        .execute();
    });
  }

  /**
   * Closes an upload: its findings are seen from now on (those of
   * directories whose newest result is still of its run), with each
   * directory's count and truncation moved on, in one transaction.
   */
  async closeBatch(
    taskId: string,
    batchId: number,
    closing: {
      runId: string;
      requestHash: string;
      stored: number;
      superseded: readonly string[];
      /** Findings stored per directory, and the directories the agent cut. */
      counts: ReadonlyMap<string, number>;
      truncated: ReadonlySet<string>;
      /** The most findings a directory may have in a run, with those of the run's uploads closed before. */
      limit: number;
      now: number;
    },
  ): Promise<void> {
    await this.run('close findings upload', () =>
      this.db.transaction().execute(async (trx) => {
        // PostgreSQL: the task's row first, with the lock its directories' rows take on it (their
        // foreign key): a task deleted meanwhile (its row locked first, then this batch's row
        // through the cascade) waited on this transaction while it waited on the delete (a deadlock)
        if (this.dialect === 'postgres')
          await trx.selectFrom('tasks').select('id').where('id', '=', taskId).forKeyShare().execute();
        // abandoned meanwhile (its key taken over after it looked dead): nothing of it is kept
        const closed = await trx
          .updateTable('finding_batches')
          .set({ state: 'done', updated_at: closing.now })
          .where('id', '=', batchId)
          .where('state', '=', 'open')
          .executeTakeFirst();
        if (Number(closed.numUpdatedRows) !== 1)
          throw new AbandonedUpload('the findings upload was abandoned while it was written');
        const dirs = new Set([...closing.counts.keys(), ...closing.truncated]);
        for (const dirCheck of dirs) {
          const count = closing.counts.get(dirCheck) ?? 0;
          const truncated = closing.truncated.has(dirCheck) ? 1 : 0;
          // the total as this transaction leaves it: an upload of the same run and directory that
          // closed while this one was written counts too (its count was not there when this began)
          const { findings } = await trx
            .insertInto('finding_directories')
            .values({
              task_id: taskId,
              dir_check: dirCheck,
              run_id: closing.runId,
              findings: count,
              truncated,
            })
            .onConflict((oc) =>
              oc.columns(['task_id', 'dir_check', 'run_id']).doUpdateSet((eb) => ({
                findings: eb('finding_directories.findings', '+', count),
                // once cut, cut: a later upload of the run without a marker does not make the list whole
                ...(truncated === 1 ? { truncated: 1 } : {}),
              })),
            )
            .returning('findings')
            .executeTakeFirstOrThrow();
          if (Number(findings) > closing.limit) throw new FindingsOverLimit(dirCheck, Number(findings));
        }
        await trx
          .updateTable('finding_batches')
          .set({
            request_hash: closing.requestHash,
            stored: closing.stored,
            superseded: JSON.stringify(closing.superseded),
            dirs: JSON.stringify([...dirs]),
          })
          .where('id', '=', batchId)
          .execute();
      }),
    );
  }

  /** Deletes an upload that did not end (a bad line, a cut stream) and what it wrote. */
  async abandonBatch(taskId: string, runId: string, batchId: number, dirs: Iterable<string>): Promise<void> {
    await this.run('abandon findings upload', async () => {
      // first its key is freed and it is marked, so that a retry starts afresh at once and a request
      // still writing to it cannot close it
      await this.db
        .updateTable('finding_batches')
        .set({ state: 'abandoned', idempotency_key: null })
        .where('id', '=', batchId)
        .execute();
      for (const dirCheck of dirs) {
        await this.deleteInChunks((query) =>
          query
            .where('task_id', '=', taskId)
            .where('dir_check', '=', dirCheck)
            .where('run_id', '=', runId)
            .where('batch_id', '=', batchId),
        );
      }
      await this.db.deleteFrom('finding_batches').where('id', '=', batchId).execute();
    });
  }

  /**
   * Deletes the findings of these directories that are not of the run of
   * their newest result (an older run's, or any of a directory whose newest
   * result was stored before runs were kept), a chunk per statement. Which run
   * is current is read by each statement itself, so a newer run arriving
   * while this runs is never taken for an old one; the rows of the current
   * run (also of an upload still arriving) are never scanned.
   */
  async sweep(taskId: string, dirChecks: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const dirCheck of await this.directoriesWithFindings(taskId, dirChecks)) {
      deleted += await this.run('sweep findings', async () => {
        const current = (eb: ExpressionBuilder<Database, 'findings' | 'finding_directories'>) =>
          eb.fn.coalesce(
            eb
              .selectFrom('task_directories as td')
              .innerJoin('consistency_uploads as u', 'u.id', 'td.upload_id')
              .select('u.run_id')
              .where('td.task_id', '=', taskId)
              .where('td.dir_check', '=', dirCheck),
            eb.val(''),
          );
        let count = 0;
        // two ranges of the index around the current run ('' when none: every row is above it)
        for (const side of ['<', '>'] as const) {
          count += await this.deleteInChunks((query) =>
            query
              .where('task_id', '=', taskId)
              .where('dir_check', '=', dirCheck)
              .where((eb) => eb('run_id', side, current(eb as never))),
          );
        }
        await this.db
          .deleteFrom('finding_directories')
          .where('task_id', '=', taskId)
          .where('dir_check', '=', dirCheck)
          .where((eb) => eb('run_id', '<>', current(eb as never)))
          .execute();
        return count;
      });
    }
    return deleted;
  }

  /** Of these directories, those with stored findings of some run (most directories have none). */
  private async directoriesWithFindings(taskId: string, dirChecks: readonly string[]): Promise<string[]> {
    const found: string[] = [];
    for (let i = 0; i < dirChecks.length; i += IN_LIST_CHUNK) {
      const rows = await this.run('read directories with findings', () =>
        this.db
          .selectFrom('finding_directories')
          .select('dir_check')
          .distinct()
          .where('task_id', '=', taskId)
          .where('dir_check', 'in', dirChecks.slice(i, i + IN_LIST_CHUNK))
          .execute(),
      );
      for (const row of rows) found.push(row.dir_check);
    }
    return found;
  }

  /**
   * Deletes the findings `where` picks, a chunk per statement (ids first, then
   * those rows by id), so that no statement holds the database long. Runs
   * inside the caller's `run`.
   */
  private async deleteInChunks(
    where: (
      query: SelectQueryBuilder<Database, 'findings', { id: number }>,
    ) => SelectQueryBuilder<Database, 'findings', { id: number }>,
  ): Promise<number> {
    let count = 0;
    for (;;) {
      const ids = await where(this.db.selectFrom('findings').select('id')).limit(DELETE_CHUNK).execute();
      if (ids.length === 0) return count;
      await this.db
        .deleteFrom('findings')
        .where(
          'id',
          'in',
          ids.map((r) => r.id),
        )
        .execute();
      count += ids.length;
    }
  }

  /** Uploads left open for longer than `olderThan` ms before `now` (their server stopped mid-way). */
  async staleBatches(
    now: number,
    olderThan: number,
  ): Promise<{ id: number; task_id: string; run_id: string }[]> {
    return this.run('read stale findings uploads', () =>
      this.db
        .selectFrom('finding_batches')
        .select(['id', 'task_id', 'run_id'])
        .where('state', '<>', 'done')
        .where('updated_at', '<', now - olderThan)
        .execute()
        .then((rows) => rows.map((r) => ({ ...r, id: Number(r.id) }))),
    );
  }
}

function batchOf(row: {
  id: number;
  run_id: string;
  request_hash: string | null;
  state: string;
  stored: number;
  superseded: string;
  dirs: string;
  updated_at: number;
}): FindingBatch {
  return {
    id: Number(row.id),
    run_id: row.run_id,
    request_hash: row.request_hash,
    state: row.state === 'done' || row.state === 'abandoned' ? row.state : 'open',
    stored: Number(row.stored),
    superseded: JSON.parse(row.superseded) as string[],
    dirs: JSON.parse(row.dirs) as string[],
    updated_at: Number(row.updated_at),
  };
}
