import { createHash, randomUUID } from 'node:crypto';
import {
  Actions,
  type ConsistencyResult,
  deriveCheckResult,
  ErrorCodes,
  NotFoundError,
  type ShowConsistencyResultResponse,
  SmsError,
} from '@sms/domain';
import type { UploadStore } from '../storage/storage.js';
import type { Principal } from './auth-service.js';
import type { TaskService } from './task-service.js';

/** The same results give the same hash: what an idempotent retry is compared by (of the results as JSON). */
function hashResults(resultsJson: string): string {
  return createHash('sha256').update(resultsJson).digest('base64url');
}

/** Uploads of consistency results and their history. */
export class ConsistencyService {
  private readonly uploads: UploadStore;

  constructor(
    stores: { uploads: UploadStore },
    private readonly tasks: TaskService,
    private readonly clock: () => number = Date.now,
    /** Told the directories of each stored upload: their older runs' findings are swept. */
    private readonly onStored?: (taskId: string, dirChecks: readonly string[]) => void,
  ) {
    this.uploads = stores.uploads;
  }

  /**
   * Stores one upload as one history entry, stamped now. Resolves only after
   * the commit. With an idempotency key already used for this task: the same
   * results are acknowledged again without a second entry; other results are a
   * conflict (`SMS.1003`). The upload belongs to run `runId` (the agent's
   * `X-Sms-Run-Id`); without one it is a run of its own.
   */
  async upload(
    principal: Principal,
    taskId: string,
    results: readonly ConsistencyResult[],
    idempotencyKey?: string,
    runId?: string,
  ): Promise<{ replayed: boolean; runId: string | undefined }> {
    const action = Actions.updateConsistencyCheckResult;
    // read with the principal when the route asked for it: one query less on the hot path
    if (principal.task?.id === taskId) {
      const { projectId } = principal.task;
      this.tasks.check(principal, taskId, projectId === null ? undefined : { project_id: projectId }, action);
    } else {
      await this.tasks.find(principal, taskId, action);
    }
    const resultsJson = JSON.stringify(results);
    const requestHash = hashResults(resultsJson);
    const upload = {
      taskId,
      runId: runId ?? randomUUID(),
      finishedTime: this.clock(),
      checkResult: deriveCheckResult(results),
      idempotencyKey,
      requestHash,
      results,
      resultsJson,
    };
    const outcome = await this.uploads.storeUpload(upload);
    if (outcome.kind === 'task-missing') throw new NotFoundError('task', taskId);
    if (outcome.kind === 'stored' && results.length > 0)
      this.onStored?.(
        taskId,
        results.map((r) => r.dir_check),
      );
    if (outcome.kind === 'replayed' && outcome.requestHash !== requestHash) {
      throw new SmsError(
        ErrorCodes.IdempotencyKeyReused,
        'This Idempotency-Key was already used for this task with different results; send a new key for a new upload.',
      );
    }
    if (outcome.kind === 'replayed') {
      // a retry answers the run the upload was stored in; naming another run is a conflict
      if (runId !== undefined && outcome.runId !== null && outcome.runId !== runId) {
        throw new SmsError(
          ErrorCodes.IdempotencyKeyReused,
          `This Idempotency-Key was already used for this task in run ${outcome.runId}; send a new key for an upload of run ${runId}.`,
        );
      }
      return { replayed: true, runId: outcome.runId ?? undefined };
    }
    return { replayed: false, runId: upload.runId };
  }

  async show(principal: Principal, taskId: string): Promise<ShowConsistencyResultResponse> {
    await this.tasks.find(principal, taskId, Actions.getConsistencyCheckResult);
    return { task_id: taskId, result_list: await this.uploads.listUploads(taskId) };
  }
}
