import type { SmsClient } from '@sms/client';
import type { ConsistencyResult } from '@sms/domain';
import { type DeliveryOutcome, deliverAll, flushSpool, spoolResults } from './deliver.js';
import { describeEntry, type FindingsEntry, type Spool } from './spool.js';

/** What became of a set of uploads, worst first: one refused makes it `refused`, one spooled `spooled`. */
export type DeliveryStatus = 'delivered' | 'spooled' | 'refused';

export function overallStatus(outcomes: readonly DeliveryOutcome[]): DeliveryStatus {
  // skipped findings (a server without our extension) leave the verdict's upload whole
  if (outcomes.some((o) => o.status === 'refused')) return 'refused';
  if (outcomes.some((o) => o.status === 'spooled')) return 'spooled';
  return 'delivered';
}

/** One upload as `--json` shows it: its id (the idempotency key), its directories, what became of it. */
export function describeOutcome(outcome: DeliveryOutcome) {
  return {
    id: outcome.entry.idempotency_key,
    ...describeEntry(outcome.entry),
    status: outcome.status,
    ...(outcome.status === 'delivered' && outcome.superseded ? { superseded_dirs: outcome.superseded } : {}),
    ...(outcome.status === 'delivered' ? {} : { error: outcome.reason }),
    ...(outcome.status === 'refused'
      ? { file: outcome.movedTo }
      : outcome.status === 'spooled'
        ? { file: outcome.file }
        : {}),
  };
}

/**
 * The `upload` member of `verify --json`: the counts' uploads, and the
 * findings' upload apart (`findings`, when the run had any and sent them)
 * with the directories whose list was cut.
 */
export function uploadReport(
  taskId: string,
  outcomes: readonly DeliveryOutcome[],
  run?: { runId: string; findings?: DeliveryOutcome | undefined; truncatedDirs?: readonly string[] },
) {
  const count = (status: DeliveryStatus) => outcomes.filter((o) => o.status === status).length;
  return {
    task_id: taskId,
    ...(run ? { run_id: run.runId } : {}),
    status: overallStatus(run?.findings ? [...outcomes, run.findings] : outcomes),
    delivered: count('delivered'),
    spooled: count('spooled'),
    refused: count('refused'),
    uploads: outcomes.map(describeOutcome),
    ...(run?.findings
      ? { findings: { ...describeOutcome(run.findings), truncated_dirs: run.truncatedDirs ?? [] } }
      : {}),
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
  run: { runId?: string; commitFindings?: () => { file: string; entry: FindingsEntry } | undefined } = {},
): Promise<{ earlier: DeliveryOutcome[]; outcomes: DeliveryOutcome[]; findings?: DeliveryOutcome }> {
  const earlier = (await flushSpool(client, spool)).outcomes;
  // the counts are in the spool before the findings become an upload there: a flush after a crash
  // never finds a run's findings without its counts
  const counts = spoolResults(spool, taskId, results, run.runId);
  const findings = run.commitFindings?.();
  const outcomes = await deliverAll(client, spool, findings ? [...counts, findings] : counts);
  const findingsOutcome = findings ? outcomes.find((o) => o.file === findings.file) : undefined;
  return {
    earlier,
    outcomes: outcomes.filter((o) => o !== findingsOutcome),
    ...(findingsOutcome ? { findings: findingsOutcome } : {}),
  };
}
