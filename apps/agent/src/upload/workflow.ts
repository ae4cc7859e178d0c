import type { SmsClient } from '@sms/client';
import type { ConsistencyResult } from '@sms/domain';
import { type DeliveryOutcome, flushSpool, uploadResults } from './deliver.js';
import type { Spool } from './spool.js';

/** What became of a set of uploads, worst first: one refused makes it `refused`, one spooled `spooled`. */
export type DeliveryStatus = 'delivered' | 'spooled' | 'refused';

export function overallStatus(outcomes: readonly DeliveryOutcome[]): DeliveryStatus {
  if (outcomes.some((o) => o.status === 'refused')) return 'refused';
  if (outcomes.some((o) => o.status === 'spooled')) return 'spooled';
  return 'delivered';
}

/** One upload as `--json` shows it: its id (the idempotency key), its directories, what became of it. */
export function describeOutcome(outcome: DeliveryOutcome) {
  return {
    id: outcome.entry.idempotency_key,
    directories: outcome.entry.consistency_result.length,
    status: outcome.status,
    ...(outcome.status === 'delivered' ? {} : { error: outcome.reason }),
    ...(outcome.status === 'refused'
      ? { file: outcome.movedTo }
      : outcome.status === 'spooled'
        ? { file: outcome.file }
        : {}),
  };
}

/** The `upload` member of `verify --json`. */
export function uploadReport(taskId: string, outcomes: readonly DeliveryOutcome[]) {
  const count = (status: DeliveryStatus) => outcomes.filter((o) => o.status === status).length;
  return {
    task_id: taskId,
    status: overallStatus(outcomes),
    delivered: count('delivered'),
    spooled: count('spooled'),
    refused: count('refused'),
    uploads: outcomes.map(describeOutcome),
  };
}

/**
 * Uploads a verification's results to a task: first whatever earlier runs
 * left in the spool, then these results (each upload spooled before it is
 * sent). The earlier uploads' outcomes are returned apart: they do not decide
 * this run's exit status.
 */
export async function uploadVerification(
  client: SmsClient,
  spool: Spool,
  taskId: string,
  results: ConsistencyResult[],
): Promise<{ earlier: DeliveryOutcome[]; outcomes: DeliveryOutcome[] }> {
  const earlier = (await flushSpool(client, spool)).outcomes;
  const outcomes = await uploadResults(client, spool, taskId, results);
  return { earlier, outcomes };
}
