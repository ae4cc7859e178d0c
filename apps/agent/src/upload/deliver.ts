import { createReadStream } from 'node:fs';
import { isSmsApiError, isSmsNetworkError, type SmsClient } from '@sms/client';
import { type ConsistencyResult, ErrorCodes, type FindingsLine, Limits } from '@sms/domain';
import { readline } from '../builtins.js';
import { type FindingsEntry, isFindingsEntry, linesFileOf, type Spool, type SpoolEntry } from './spool.js';

/**
 * What became of one upload: `delivered` (the server stored it), `spooled`
 * (it waits in the spool for `flush`: the server could not be reached, or
 * refused the credentials, or its run's counts wait), `refused` (the server
 * will never take it as it is: moved to `spool/failed/`), or, for findings
 * only, `skipped` (the server has no findings endpoint: an SMS server without
 * our extension; the findings are left out, the counts are what the API
 * keeps).
 */
export type DeliveryOutcome =
  | { status: 'delivered'; file: string; entry: SpoolEntry; superseded?: string[] }
  | { status: 'spooled'; file: string; entry: SpoolEntry; reason: string; network?: boolean }
  | { status: 'refused'; file: string; entry: SpoolEntry; reason: string; movedTo: string }
  | { status: 'skipped'; file: string; entry: SpoolEntry; reason: string };

/** Statuses after which the same upload can never succeed: it is moved to `failed/`. */
const PERMANENT = new Set([400, 404, 409]);

/** A streamed findings upload is not retried by the client: the agent sends it again, this many times at most. */
const FINDINGS_ATTEMPTS = 3;
const FINDINGS_RETRY_DELAY_MS = 500;

/** The lines of a spooled findings upload, read from disk as they are sent. */
async function* spooledLines(file: string): AsyncGenerator<FindingsLine> {
  const lines = readline().createInterface({
    input: createReadStream(linesFileOf(file)),
    crlfDelay: Infinity,
  });
  for await (const line of lines) if (line !== '') yield JSON.parse(line) as FindingsLine;
}

/** True when the server has no findings endpoint (404 of an unknown path, or 405): not our extension. */
function withoutFindings(error: unknown): boolean {
  return (
    isSmsApiError(error) &&
    (error.status === 405 || (error.status === 404 && error.errorCode !== ErrorCodes.TaskNotFound.code))
  );
}

/** Sends a spooled findings upload from its file; sent again (same key) after a network error or a 5xx. */
async function sendFindings(client: SmsClient, file: string, entry: FindingsEntry) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.uploadFindings(entry.task_id, entry.run_id, spooledLines(file), {
        idempotencyKey: entry.idempotency_key,
      });
    } catch (error) {
      const again = isSmsNetworkError(error) || (isSmsApiError(error) && error.status >= 500);
      if (!again || attempt >= FINDINGS_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, FINDINGS_RETRY_DELAY_MS * attempt));
    }
  }
}

/** Sends one spooled upload; removes it on 200, keeps it when the server may take it later. */
export async function deliver(
  client: SmsClient,
  spool: Spool,
  file: string,
  entry: SpoolEntry,
): Promise<DeliveryOutcome> {
  try {
    if (isFindingsEntry(entry)) {
      const answer = await sendFindings(client, file, entry);
      spool.remove(file);
      return { status: 'delivered', file, entry, superseded: answer.superseded_dirs };
    }
    await client.updateConsistencyResult(entry.task_id, entry.consistency_result, {
      idempotencyKey: entry.idempotency_key,
      ...(entry.run_id === undefined ? {} : { runId: entry.run_id }),
    });
    spool.remove(file);
    return { status: 'delivered', file, entry };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (isFindingsEntry(entry) && withoutFindings(error)) {
      spool.remove(file);
      return { status: 'skipped', file, entry, reason: `the server does not take findings (${reason})` };
    }
    if (isSmsApiError(error) && PERMANENT.has(error.status)) {
      return { status: 'refused', file, entry, reason, movedTo: spool.fail(file, reason) };
    }
    if (isSmsNetworkError(error)) return { status: 'spooled', file, entry, reason, network: true };
    if (isSmsApiError(error)) return { status: 'spooled', file, entry, reason };
    throw error;
  }
}

/**
 * Uploads results to a task: in uploads of at most 30, each spooled first and
 * delivered with its own idempotency key, all of one run when `runId` is given.
 */
export async function uploadResults(
  client: SmsClient,
  spool: Spool,
  taskId: string,
  results: ConsistencyResult[],
  runId?: string,
): Promise<DeliveryOutcome[]> {
  return deliverAll(client, spool, spoolResults(spool, taskId, results, runId));
}

/** Writes results to the spool in uploads of at most 30, of one run when `runId` is given. */
export function spoolResults(
  spool: Spool,
  taskId: string,
  results: ConsistencyResult[],
  runId?: string,
): { file: string; entry: SpoolEntry }[] {
  const chunks: ConsistencyResult[][] = [];
  for (let i = 0; i < results.length; i += Limits.resultsPerUploadMax)
    chunks.push(results.slice(i, i + Limits.resultsPerUploadMax));
  if (chunks.length === 0) chunks.push([]);
  return chunks.map((chunk) => spool.add(taskId, chunk, runId));
}

/**
 * Delivers in order, the counts before the findings (the server takes a
 * run's findings only once its counts are stored); findings whose run still
 * has counts waiting are not sent. Once the server is unreachable, the rest
 * stay spooled without waiting for their retries.
 */
export async function deliverAll(
  client: SmsClient,
  spool: Spool,
  items: { file: string; entry: SpoolEntry }[],
): Promise<DeliveryOutcome[]> {
  const ordered = [
    ...items.filter((i) => !isFindingsEntry(i.entry)),
    ...items.filter((i) => isFindingsEntry(i.entry)),
  ];
  const outcomes: DeliveryOutcome[] = [];
  let unreachable: string | undefined;
  for (const { file, entry } of ordered) {
    if (unreachable) {
      outcomes.push({ status: 'spooled', file, entry, reason: `not tried: ${unreachable}` });
      continue;
    }
    // counts still in the spool (not delivered, not refused) hold their run's findings back
    const waiting = isFindingsEntry(entry)
      ? spool
          .list()
          .entries.find(
            (e) =>
              !isFindingsEntry(e.entry) &&
              e.entry.task_id === entry.task_id &&
              e.entry.run_id === entry.run_id,
          )
      : undefined;
    if (waiting) {
      outcomes.push({
        status: 'spooled',
        file,
        entry,
        reason: `not sent: the counts of its run (upload ${waiting.entry.idempotency_key}) wait in the spool, and the server takes findings only after them`,
      });
      continue;
    }
    const outcome = await deliver(client, spool, file, entry);
    if (outcome.status === 'spooled' && outcome.network) unreachable = outcome.reason;
    outcomes.push(outcome);
  }
  return outcomes;
}

/** Delivers everything waiting in the spool, oldest first (counts before findings). */
export async function flushSpool(client: SmsClient, spool: Spool) {
  const { entries, broken } = spool.list();
  return { outcomes: await deliverAll(client, spool, entries), broken };
}
