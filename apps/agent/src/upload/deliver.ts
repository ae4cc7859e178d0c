import { isSmsApiError, isSmsNetworkError, type SmsClient } from '@sms/client';
import { type ConsistencyResult, Limits } from '@sms/domain';
import type { Spool, SpoolEntry } from './spool.js';

/**
 * What became of one upload: `delivered` (the server stored it), `spooled`
 * (it waits in the spool for `flush`: the server could not be reached, or
 * refused the credentials), or `refused` (the server will never take it as it
 * is: moved to `spool/failed/`).
 */
export type DeliveryOutcome =
  | { status: 'delivered'; file: string; entry: SpoolEntry }
  | { status: 'spooled'; file: string; entry: SpoolEntry; reason: string; network?: boolean }
  | { status: 'refused'; file: string; entry: SpoolEntry; reason: string; movedTo: string };

/** Statuses after which the same upload can never succeed: it is moved to `failed/`. */
const PERMANENT = new Set([400, 404, 409]);

/** Sends one spooled upload; removes it on 200, keeps it when the server may take it later. */
export async function deliver(
  client: SmsClient,
  spool: Spool,
  file: string,
  entry: SpoolEntry,
): Promise<DeliveryOutcome> {
  try {
    await client.updateConsistencyResult(entry.task_id, entry.consistency_result, {
      idempotencyKey: entry.idempotency_key,
    });
    spool.remove(file);
    return { status: 'delivered', file, entry };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
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
 * delivered with its own idempotency key.
 */
export async function uploadResults(
  client: SmsClient,
  spool: Spool,
  taskId: string,
  results: ConsistencyResult[],
): Promise<DeliveryOutcome[]> {
  const chunks: ConsistencyResult[][] = [];
  for (let i = 0; i < results.length; i += Limits.resultsPerUploadMax)
    chunks.push(results.slice(i, i + Limits.resultsPerUploadMax));
  if (chunks.length === 0) chunks.push([]);
  const spooled = chunks.map((chunk) => spool.add(taskId, chunk));
  return deliverAll(client, spool, spooled);
}

/** Delivers in order; once the server is unreachable, the rest stay spooled without waiting for their retries. */
async function deliverAll(client: SmsClient, spool: Spool, items: { file: string; entry: SpoolEntry }[]) {
  const outcomes: DeliveryOutcome[] = [];
  let unreachable: string | undefined;
  for (const { file, entry } of items) {
    if (unreachable) {
      outcomes.push({ status: 'spooled', file, entry, reason: `not tried: ${unreachable}` });
      continue;
    }
    const outcome = await deliver(client, spool, file, entry);
    if (outcome.status === 'spooled' && outcome.network) unreachable = outcome.reason;
    outcomes.push(outcome);
  }
  return outcomes;
}

/** Delivers everything waiting in the spool, oldest first. */
export async function flushSpool(client: SmsClient, spool: Spool) {
  const { entries, broken } = spool.list();
  return { outcomes: await deliverAll(client, spool, entries), broken };
}
