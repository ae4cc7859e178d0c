import type { SmsClient } from '@sms/client';
import type { ConsistencyResult } from '@sms/domain';
import { type DeliveryOutcome, deliverAll, type Patience, spoolResults } from './deliver.js';
import { describeEntry, type FindingsEntry, type Spool } from './spool.js';

/** What became of a set of uploads, worst first: one refused makes it `refused`, one spooled `spooled`. */
export type DeliveryStatus = 'delivered' | 'spooled' | 'refused';

export function overallStatus(outcomes: readonly DeliveryOutcome[]): DeliveryStatus {
  // skipped findings (a server without our extension) leave the verdict's upload whole; an upload
  // another agent on the spool took was that agent's to deliver
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
 * Uploads a verification's results to a task: these results are spooled
 * first (so that nothing an earlier upload does can lose them), then the
 * spool is delivered oldest first: whatever earlier runs left there, then
 * these. The earlier uploads' outcomes are returned apart: they do not
 * decide this run's exit status.
 */
export async function uploadVerification(
  client: SmsClient,
  spool: Spool,
  taskId: string,
  results: ConsistencyResult[],
  run: {
    runId?: string;
    commitFindings?: () => { file: string; entry: FindingsEntry } | undefined;
    /** Ends the calls to the server: what was not sent stays in the spool. */
    signal?: AbortSignal;
    patience?: Patience;
  } = {},
): Promise<{ earlier: DeliveryOutcome[]; outcomes: DeliveryOutcome[]; findings?: DeliveryOutcome }> {
  // the counts are in the spool before the findings become an upload there: a flush after a crash
  // never finds a run's findings without its counts
  const counts = spoolResults(spool, taskId, results, run.runId);
  const findings = run.commitFindings?.();
  const own = [...counts, ...(findings ? [findings] : [])];
  const mine = new Set(own.map((item) => item.file));
  // earlier uploads first, whatever their names say (a clock stepped back names this run's
  // earlier): a run's counts stored after a newer run's would be the directories' state
  const earlierEntries = spool.list().entries.filter((e) => !mine.has(e.file));
  const all = await deliverAll(client, spool, [...earlierEntries, ...own], run.signal, run.patience);
  const findingsOutcome = findings ? all.find((o) => o.file === findings.file) : undefined;
  return {
    earlier: all.filter((o) => !mine.has(o.file)),
    outcomes: all.filter((o) => mine.has(o.file) && o !== findingsOutcome),
    ...(findingsOutcome ? { findings: findingsOutcome } : {}),
  };
}
