import type { Verdict } from '@sms/domain';
import type { TaskChange, TaskTotals } from './directory-state.js';

/**
 * The outbox's events, as rows written in the transaction of the change that
 * causes them (SQLite's upload writes, PostgreSQL's `sms_store_upload`, a
 * verification request's end). The body sent is made from `payload` at each
 * delivery (`WebhookService`).
 */

/** A task's verdict from its sums, as the task list computes it in SQL. */
export function verdictOfTotals(
  totals: Pick<TaskTotals, 'dir_count' | 'inconsistent_dirs'>,
  hasUpload: boolean,
): Verdict {
  if (!hasUpload) return 'never';
  if (Number(totals.dir_count) === 0) return 'no-result';
  return Number(totals.inconsistent_dirs) > 0 ? 'inconsistent' : 'consistent';
}

/** What a `verdict.changed` event says; PostgreSQL's function builds the same keys. */
export interface VerdictChange {
  task_id: string;
  task_name: string;
  previous_verdict: Verdict;
  verdict: Verdict;
  run_id: string;
  totals: Omit<TaskChange['totals'], never>;
}

/**
 * The event of an upload, if it changes the task's verdict to consistent or
 * inconsistent (from the other, or at the first result); undefined otherwise.
 */
export function verdictChange(
  task: TaskTotals & { name: string },
  totals: TaskChange['totals'],
  taskId: string,
  runId: string,
): VerdictChange | undefined {
  const previous = verdictOfTotals(task, task.latest_upload_id !== null);
  const verdict = verdictOfTotals(totals, true);
  if (verdict === previous || (verdict !== 'consistent' && verdict !== 'inconsistent')) return undefined;
  return {
    task_id: taskId,
    task_name: task.name,
    previous_verdict: previous,
    verdict,
    run_id: runId,
    totals: {
      dir_count: Number(totals.dir_count),
      inconsistent_dirs: Number(totals.inconsistent_dirs),
      num_total_files: Number(totals.num_total_files),
      num_different_files: Number(totals.num_different_files),
      num_target_miss_files: Number(totals.num_target_miss_files),
      num_target_more_files: Number(totals.num_target_more_files),
    },
  };
}

/** SQLite's (and PostgreSQL's, with $n) insert of one event for every webhook of the task's project. */
export const ENQUEUE_FOR_TASK = `insert into webhook_events
    (webhook_id, event_id, type, payload, created_at, state, attempts, next_attempt_at)
  select w.id, ?, ?, ?, ?, 'pending', 0, ?
  from webhooks w join tasks t on t.project_id = w.project_id
  where t.id = ?`;
