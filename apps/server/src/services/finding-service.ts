import {
  Actions,
  ErrorCodes,
  FindingLimits,
  type FindingsLine,
  isTruncationMarker,
  SmsError,
  type UploadFindingsResponse,
} from '@sms/domain';
import type { Logger } from '../logger.js';
import {
  AbandonedUpload,
  type FindingRow,
  type FindingStore,
  FindingsOverLimit,
} from '../storage/finding-store.js';
import { UniqueViolation } from '../storage/handle.js';
import type { Principal } from './auth-service.js';
import { FindingPages } from './finding-pages.js';
import type { NdjsonDigest, NdjsonLine } from './streamed-body.js';
import type { TaskService } from './task-service.js';

/** Findings written to the database at once while an upload's lines arrive. */
const WRITE_CHUNK = 2000;
/**
 * An upload that wrote nothing for this long (each chunk of 2,000 findings is
 * its heartbeat) is taken for dead: the next request with its key, or a
 * server starting on PostgreSQL, deletes it. A server on SQLite (one process)
 * deletes every unfinished upload at start.
 */
export const STALE_UPLOAD_MS = 2 * 60 * 1000;

/** Answered while another request holds an upload's key: the client retries after `Retry-After`. */
function inProgress(): SmsError {
  return new SmsError(
    ErrorCodes.UploadInProgress,
    'An upload with this Idempotency-Key is being stored right now, or was cut off a moment ago; retry in a few seconds.',
  );
}
/** A findings upload that a signature covers: the hex SHA-256 its `X-Sdk-Content-Sha256` declared. */
export interface SignedBody {
  sha256: string;
  refuse(): Error;
}

/** What a directory of an upload came to: its findings kept (of the run of its newest result) or dropped. */
interface DirectoryIntake {
  current: boolean;
  /** Findings of this run stored before this upload. */
  before: number;
  /** Findings this upload stores. */
  added: number;
}

/**
 * Findings (our extension): uploads of a run's per-path lines, streamed
 * into the database and seen whole or not at all, and the clean-up of what a
 * newer run replaced; the reads of a task's current findings (pages, CSV,
 * re-sync lists) are FindingPages'.
 */
export class FindingService extends FindingPages {
  /** Directories to sweep, by task: gathered while a sweep runs, so that the queue stays as small as the work. */
  private readonly toSweep = new Map<string, Set<string>>();
  /** The sweep running, if any: one at a time, off the requests' path. */
  private sweeping: Promise<void> | undefined;

  constructor(
    stores: { findings: FindingStore },
    tasks: TaskService,
    private readonly clock: () => number = Date.now,
    private readonly logger?: Logger,
  ) {
    super(stores, tasks);
  }

  /**
   * Stores an upload's findings of run `runId` as they arrive. Nothing is
   * seen until the last line is stored; a bad line, a cut stream or a wrong
   * signature deletes what was written. With an idempotency key already used:
   * the same body is answered as the first time, another is a conflict.
   */
  async upload(
    principal: Principal,
    taskId: string,
    runId: string,
    idempotencyKey: string | undefined,
    lines: AsyncIterable<NdjsonLine<FindingsLine>>,
    digest: Partial<NdjsonDigest>,
    signed?: SignedBody,
  ): Promise<UploadFindingsResponse> {
    await this.tasks.find(principal, taskId, Actions.updateConsistencyCheckResult);
    if (idempotencyKey !== undefined) {
      const earlier = await this.findings.batchByKey(taskId, idempotencyKey);
      if (earlier?.state === 'done') {
        for await (const _ of lines) {
          // read to the end: the body is compared by its hash
        }
        if (signed && digest.sentSha256 !== signed.sha256) throw signed.refuse();
        if (earlier.request_hash !== digest.contentHash || earlier.run_id !== runId) {
          throw new SmsError(
            ErrorCodes.IdempotencyKeyReused,
            'This Idempotency-Key was already used for this task with other findings; send a new key for a new upload.',
          );
        }
        return { run_id: runId, stored: earlier.stored, superseded_dirs: earlier.superseded };
      }
      if (earlier) {
        if (earlier.updated_at > this.clock() - STALE_UPLOAD_MS) throw inProgress();
        await this.abandonStale({ id: earlier.id, task_id: taskId, run_id: earlier.run_id });
      }
    }
    if (!(await this.findings.runExists(taskId, runId))) {
      throw new SmsError(
        ErrorCodes.FindingsWithoutResult,
        `Run ${runId} has no result in task ${taskId}: upload its counts first (POST /v3/tasks/${taskId}/consistency-result with X-Sms-Run-Id: ${runId}), then its findings.`,
      );
    }
    let batchId: number;
    try {
      batchId = await this.findings.openBatch(taskId, runId, idempotencyKey, this.clock());
    } catch (error) {
      // another request took the key between the look-up and here: its answer, or a retry's replay, will tell
      if (!(error instanceof UniqueViolation)) throw error;
      throw inProgress();
    }
    const directories = new Map<string, DirectoryIntake>();
    const truncated = new Set<string>();
    let rows: FindingRow[] = [];
    let stored = 0;
    try {
      for await (const { line, value } of lines) {
        const dirCheck = value.dir_check;
        let intake = directories.get(dirCheck);
        if (!intake) {
          intake = await this.intake(taskId, runId, dirCheck, line);
          directories.set(dirCheck, intake);
        }
        if (isTruncationMarker(value)) {
          if (intake.current) truncated.add(dirCheck);
          continue;
        }
        // counted also when a newer run replaced the directory and its lines are dropped: each
        // line is read and checked all the same, so the limit bounds that work too
        intake.added++;
        if (intake.before + intake.added > FindingLimits.perDirectoryPerRun) {
          throw new SmsError(
            ErrorCodes.InvalidParameter,
            `line ${line}: ${tooMany(dirCheck, runId)}; send {"dir_check":…,"truncated":true} instead of the rest.`,
          );
        }
        if (!intake.current) continue;
        rows.push({
          dir_check: dirCheck,
          category: value.category,
          path: value.path,
          path_base64: value.path_base64 ?? null,
          reason: value.reason,
        });
        if (rows.length >= WRITE_CHUNK) {
          await this.findings.addFindings(taskId, runId, batchId, rows, this.clock());
          stored += rows.length;
          rows = [];
        }
      }
      await this.findings.addFindings(taskId, runId, batchId, rows, this.clock());
      stored += rows.length;
      if (signed && digest.sentSha256 !== signed.sha256) throw signed.refuse();
      const superseded = [...directories].filter(([, d]) => !d.current).map(([dir]) => dir);
      await this.findings.closeBatch(taskId, batchId, {
        runId,
        requestHash: digest.contentHash ?? '',
        stored,
        superseded,
        counts: new Map([...directories].filter(([, d]) => d.current).map(([dir, d]) => [dir, d.added])),
        truncated,
        limit: FindingLimits.perDirectoryPerRun,
        now: this.clock(),
      });
      this.sweepLater(taskId, [...directories.keys()]);
      return { run_id: runId, stored, superseded_dirs: superseded };
    } catch (caught) {
      const error =
        caught instanceof AbandonedUpload
          ? inProgress()
          : caught instanceof FindingsOverLimit
            ? new SmsError(
                ErrorCodes.InvalidParameter,
                `${tooMany(caught.dirCheck, runId)}, counting the uploads of this run stored while this one was sent (${caught.total} in all); nothing of this request was stored: send the rest of the directory's list as {"dir_check":…,"truncated":true} instead.`,
              )
            : caught;
      await this.findings.abandonBatch(taskId, runId, batchId, directories.keys()).catch((cleanup: unknown) =>
        this.logger?.warn('could not delete an abandoned findings upload; it is swept at the next start', {
          err: String(cleanup),
          taskId,
          runId,
        }),
      );
      throw error;
    }
  }

  /** Whether a directory's lines are kept: it must have a result, and it must be of this run. */
  private async intake(
    taskId: string,
    runId: string,
    dirCheck: string,
    line: number,
  ): Promise<DirectoryIntake> {
    const current = (await this.findings.currentRuns(taskId, [dirCheck])).get(dirCheck);
    if (!current) {
      throw new SmsError(
        ErrorCodes.FindingsWithoutResult,
        `line ${line}: dir_check ${JSON.stringify(dirCheck).slice(0, 300)} has no result in task ${taskId}; upload the run's counts of it first (POST /v3/tasks/${taskId}/consistency-result with X-Sms-Run-Id: ${runId}).`,
      );
    }
    if (current.run_id !== runId) return { current: false, before: 0, added: 0 };
    return { current: true, before: await this.findings.storedCount(taskId, dirCheck, runId), added: 0 };
  }

  /**
   * Removes, later and one at a time, the findings of these directories that
   * are no longer current (an older run's): after a findings upload, and
   * after counts that make a newer run a directory's newest result.
   */
  sweepLater(taskId: string, dirChecks: readonly string[]): void {
    if (dirChecks.length === 0) return;
    let dirs = this.toSweep.get(taskId);
    if (!dirs) {
      dirs = new Set();
      this.toSweep.set(taskId, dirs);
    }
    for (const dir of dirChecks) dirs.add(dir);
    this.sweeping ??= this.drainSweeps().finally(() => {
      this.sweeping = undefined;
    });
  }

  private async drainSweeps(): Promise<void> {
    for (;;) {
      const next = this.toSweep.entries().next();
      if (next.done) return;
      const [taskId, dirs] = next.value;
      this.toSweep.delete(taskId);
      try {
        await this.findings.sweep(taskId, [...dirs]);
      } catch (error) {
        this.logger?.warn('sweeping old findings failed; retried with the next upload of their directories', {
          err: String(error),
          taskId,
        });
      }
    }
  }

  /** Waits for the clean-ups asked for so far (tests, shutdown). */
  async swept(): Promise<void> {
    while (this.sweeping) await this.sweeping;
  }

  /** Deletes an upload whose server stopped mid-way, and what it wrote. */
  private async abandonStale(batch: { id: number; task_id: string; run_id: string }): Promise<void> {
    const dirs = await this.findings.directoriesOfRun(batch.task_id, batch.run_id);
    await this.findings.abandonBatch(batch.task_id, batch.run_id, batch.id, dirs);
  }

  /**
   * Deletes the uploads left unfinished by a server that stopped mid-way (at
   * start): all of them when this server is the database's only one (SQLite),
   * else those that wrote nothing for `STALE_UPLOAD_MS`.
   */
  async abandonStaleUploads(onlyServer: boolean): Promise<number> {
    const stale = await this.findings.staleBatches(this.clock(), onlyServer ? -1 : STALE_UPLOAD_MS);
    for (const batch of stale) await this.abandonStale(batch);
    return stale.length;
  }
}

/** The 400's words for a directory with too many findings in a run. */
const tooMany = (dirCheck: string, runId: string) =>
  `more than ${FindingLimits.perDirectoryPerRun} findings of dir_check ${JSON.stringify(dirCheck)} in run ${runId}, the API's most files per directory`;
