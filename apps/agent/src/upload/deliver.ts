import { createReadStream, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isSmsApiError,
  isSmsNetworkError,
  isSmsValidationError,
  type SmsApiError,
  type SmsClient,
} from '@sms/client';
import { type ConsistencyResult, ErrorCodes, type FindingsLine, Limits } from '@sms/domain';
import { readline } from '../builtins.js';
import { inSeconds } from '../plural.js';
import { type FindingsEntry, isFindingsEntry, linesFileOf, type Spool, type SpoolEntry } from './spool.js';

/**
 * What became of one upload: `delivered` (the server stored it), `spooled`
 * (it waits in the spool for `flush`: the server could not be reached, or
 * refused the credentials, or its run's counts wait), `refused` (it can never
 * be sent as it is: the server refused it for good, or, `local`, its lines in
 * the spool cannot be read; moved to `spool/failed/`), `gone` (another
 * sms-agent using the same spool delivered or moved it meanwhile), or, for
 * findings only, `skipped` (the server has no findings endpoint: an SMS server
 * without our extension; the findings are left out, the counts are what the
 * API keeps).
 */
export type DeliveryOutcome =
  | { status: 'delivered'; file: string; entry: SpoolEntry; superseded?: string[] }
  | {
      status: 'spooled';
      file: string;
      entry: SpoolEntry;
      reason: string;
      network?: boolean;
      /** The server refused the agent's credentials: they must be corrected before a flush can help. */
      credentials?: boolean;
    }
  | { status: 'refused'; file: string; entry: SpoolEntry; reason: string; movedTo: string; local?: true }
  | { status: 'gone'; file: string; entry: SpoolEntry; reason: string }
  | { status: 'skipped'; file: string; entry: SpoolEntry; reason: string };

const GONE = 'delivered or moved meanwhile by another sms-agent using this spool';
/** The reason, written beside it in `failed/`, of an upload the spool cannot send (not the server's refusal). */
const UNSENDABLE = 'it cannot be sent from the spool';

/** Statuses after which the same upload can never succeed: it is moved to `failed/`. */
const PERMANENT = new Set([400, 404, 409]);

/**
 * A streamed findings upload is not retried by the client: the agent sends it again after a
 * network error or a 5xx, this many times at most (the server's `Retry-After` honoured, at most
 * `MAX_RETRY_DELAY_MS`)...
 */
const FINDINGS_ATTEMPTS = 3;
const FINDINGS_RETRY_DELAY_MS = 500;
const MAX_RETRY_DELAY_MS = 30_000;
/**
 * ...except while the server answers that an upload with its key is being stored (503
 * `SMS.2010`): an earlier attempt whose answer was lost (a million findings take 12 s to store on
 * an idle 2-core server, longer on a busy one) or one cut off and being cleaned up, which the
 * server takes for dead after two minutes without progress. That is retried for this long from its
 * first such answer, as often as the server's `Retry-After` asks (at least `FINDINGS_RETRY_DELAY_MS`
 * apart), before the upload is left in the spool.
 */
export const FINDINGS_IN_PROGRESS_MS = 150_000;

/** How long a findings upload waits for the server to finish storing its key, and who hears of it. */
export interface Patience {
  /** Default `FINDINGS_IN_PROGRESS_MS`; the daemon's idle flush waits less (it moves on, and tries again later). */
  inProgressMs?: number;
  /** Told once per upload when it starts waiting (a line for the operator: the run looks stuck otherwise). */
  onWait?: (note: string) => void;
}

/**
 * The lines of a spooled findings upload, read from disk as they are sent. A file that cannot be
 * read (gone, a line that is not JSON) is kept in `problem`: however the HTTP client reports the
 * body it could not finish, that upload can never be sent, and no retry or later flush will help.
 */
async function* spooledLines(file: string, problem: { error?: unknown }): AsyncGenerator<FindingsLine> {
  const path = linesFileOf(file);
  let number = 0;
  try {
    const lines = readline().createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    for await (const line of lines) {
      number++;
      if (line === '') continue;
      let parsed: FindingsLine;
      try {
        parsed = JSON.parse(line) as FindingsLine;
      } catch {
        throw new Error(`line ${number} of ${path} is not JSON`);
      }
      yield parsed;
    }
  } catch (error) {
    problem.error = error;
    throw error;
  }
}

/**
 * True when the server has no findings endpoint: not our extension. A 405, or a 404 in the
 * server's own error format (an error code, not the task's) for the path; a 404 without one (a
 * proxy's or load balancer's page, say while the server is redeployed) proves nothing: the upload
 * is moved to failed/ like any 404, to be retried, rather than its findings dropped.
 */
function withoutFindings(error: unknown): boolean {
  return (
    isSmsApiError(error) &&
    (error.status === 405 ||
      (error.status === 404 &&
        error.errorCode !== undefined &&
        error.errorCode !== ErrorCodes.TaskNotFound.code))
  );
}

/**
 * The server refused the agent's credentials: a wrong user, password or project (401 SMS.9002).
 * No retry mends that; each failed sign-in counts toward the user's lock-out.
 */
/**
 * The server's own answer (it has an error code): a 4xx without one is a proxy's or a load
 * balancer's page, say while the server is redeployed, and proves nothing about the request.
 */
export const isServerAnswer = (error: unknown): error is SmsApiError =>
  isSmsApiError(error) && error.errorCode !== undefined;

export function refusesCredentials(error: unknown): boolean {
  // not SMS.9001 (a token expired or revoked): a token the client signed in for is then made
  // again by the next sign-in, and one given (SMS_TOKEN) says so in the server's own words
  return (error as { errorCode?: unknown } | undefined)?.errorCode === ErrorCodes.InvalidCredentials.code;
}

/** Why a spooled upload cannot be sent, whatever the server: it is not the server's doing. */
class SpoolReadError extends Error {}

/** Sends a spooled findings upload from its file; sent again (same key) after a network error, a 5xx or a 429. */
async function sendFindings(
  client: SmsClient,
  file: string,
  entry: FindingsEntry,
  signal: AbortSignal | undefined,
  patience: Patience,
) {
  const inProgressMs = patience.inProgressMs ?? FINDINGS_IN_PROGRESS_MS;
  // the other errors' attempts, and when the server first said it was storing this key (a
  // monotonic clock: a wall clock stepped back would stretch the wait)
  let failures = 0;
  let storingSince: number | undefined;
  for (;;) {
    const problem: { error?: unknown } = {};
    try {
      return await client.uploadFindings(entry.task_id, entry.run_id, spooledLines(file, problem), {
        idempotencyKey: entry.idempotency_key,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (problem.error !== undefined) throw new SpoolReadError(describe(problem.error));
      // 429: too many requests for now (its Retry-After is waited for), as the counts' client does
      const again =
        isSmsNetworkError(error) || (isSmsApiError(error) && (error.status >= 500 || error.status === 429));
      if (!again || signal?.aborted) throw error;
      const asked = isSmsApiError(error) ? error.retryAfterMs : undefined;
      const storing = isSmsApiError(error) && error.errorCode === ErrorCodes.UploadInProgress.code;
      let delay: number;
      if (storing) {
        // as often as the server asks (it knows), never in a tight loop
        delay = Math.min(MAX_RETRY_DELAY_MS, Math.max(FINDINGS_RETRY_DELAY_MS, asked ?? 2000));
        const now = performance.now();
        const first = storingSince === undefined;
        storingSince ??= now;
        if (now + delay - storingSince > inProgressMs) throw error;
        if (first)
          patience.onWait?.(
            `the server is still storing an earlier attempt of findings upload ${entry.idempotency_key} (${describe(error)}); sending it again every ${inSeconds(delay)} for up to ${inSeconds(inProgressMs)}`,
          );
      } else {
        failures++;
        // a longer wait than is waited here (a sign-in lockout): sent again at the cap, it could only fail again
        if (failures >= FINDINGS_ATTEMPTS || (asked ?? 0) > MAX_RETRY_DELAY_MS) throw error;
        delay = Math.min(MAX_RETRY_DELAY_MS, Math.max(asked ?? 0, FINDINGS_RETRY_DELAY_MS * failures));
      }
      await sleep(delay, undefined, signal ? { signal } : {}).catch(() => {});
    }
  }
}

/** Sends one spooled upload; removes it on 200, keeps it when the server may take it later. */
export async function deliver(
  client: SmsClient,
  spool: Spool,
  file: string,
  entry: SpoolEntry,
  signal?: AbortSignal,
  patience: Patience = {},
): Promise<DeliveryOutcome> {
  // another sms-agent on this spool (a daemon and a flush, say) may have sent it since it was listed
  if (!existsSync(file)) return goneFrom(spool, file, entry);
  try {
    if (isFindingsEntry(entry)) {
      const answer = await sendFindings(client, file, entry, signal, patience);
      removeDelivered(spool, file);
      return { status: 'delivered', file, entry, superseded: answer.superseded_dirs };
    }
    await client.updateConsistencyResult(entry.task_id, entry.consistency_result, {
      idempotencyKey: entry.idempotency_key,
      ...(entry.run_id === undefined ? {} : { runId: entry.run_id }),
      ...(signal ? { signal } : {}),
    });
    removeDelivered(spool, file);
    return { status: 'delivered', file, entry };
  } catch (error) {
    // ended by the caller (the daemon stopping): it waits in the spool, whatever the error says
    if (signal?.aborted) return { status: 'spooled', file, entry, reason: stopped(signal) };
    const reason = describe(error);
    // what the spool holds cannot be sent, whatever the server: its lines file cannot be read, or
    // a line breaks the API's rules (the client checks each before sending)
    if (error instanceof SpoolReadError || isSmsValidationError(error)) {
      if (!existsSync(file)) return goneFrom(spool, file, entry);
      return moveToFailed(spool, file, entry, `${UNSENDABLE}: ${reason}`, true);
    }
    if (!isSmsApiError(error) && !isSmsNetworkError(error)) {
      // an answer that is not the API's (a captive portal, a web app at that address, a body cut
      // off), or anything else: the server cannot be used now; the uploads wait, none is tried more
      if (!existsSync(file)) return goneFrom(spool, file, entry);
      return { status: 'spooled', file, entry, reason, network: true };
    }
    if (isFindingsEntry(entry) && withoutFindings(error)) {
      removeDelivered(spool, file);
      return { status: 'skipped', file, entry, reason: `the server does not take findings (${reason})` };
    }
    // counts refused with a 4xx that is not the server's own answer (no error code: a proxy's or a
    // load balancer's page, say while the server is redeployed) prove nothing: they wait, as the
    // daemon's calls do; moved to failed/, a later `spool retry` could store them after newer ones
    if (isSmsApiError(error) && !isServerAnswer(error) && !isFindingsEntry(entry))
      return { status: 'spooled', file, entry, reason, network: true };
    if (isSmsApiError(error) && PERMANENT.has(error.status)) return moveToFailed(spool, file, entry, reason);
    if (isSmsNetworkError(error)) return { status: 'spooled', file, entry, reason, network: true };
    const credentials = refusesCredentials(error);
    return { status: 'spooled', file, entry, reason, ...(credentials ? { credentials } : {}) };
  }
}

/**
 * An upload no longer in the spool: another sms-agent using it sent it meanwhile. It is `gone`
 * when that one delivered it; when the server refused it there (and it was moved to `failed/`), it
 * is `refused` here too, so that this run does not end as if the server held it.
 */
function goneFrom(spool: Spool, file: string, entry: SpoolEntry): DeliveryOutcome {
  const failed = spool.failedPathOf(file);
  if (!existsSync(failed)) return { status: 'gone', file, entry, reason: GONE };
  // none yet: the other agent is still writing it
  const why = spool.failedReason(failed) || 'the server refused it';
  // not the server's refusal: the other agent could not read it from the spool
  const local = why.startsWith(UNSENDABLE);
  return {
    status: 'refused',
    file,
    entry,
    reason: `${why} (${local ? 'found' : 'sent'} by another sms-agent using this spool)`,
    movedTo: failed,
    ...(local ? { local } : {}),
  };
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));
const stopped = (signal: AbortSignal) =>
  `not sent: ${typeof signal.reason === 'string' ? signal.reason : 'the upload was ended'}`;

/**
 * Removes an upload the server has answered. If it cannot be (a spool made read-only meanwhile),
 * it stays and a later flush sends it again with its key: the server answers it as before.
 */
function removeDelivered(spool: Spool, file: string): void {
  try {
    spool.remove(file);
  } catch {}
}

/** Moves an upload that can never be sent as it is to `failed/`, with the reason beside it. */
function moveToFailed(
  spool: Spool,
  file: string,
  entry: SpoolEntry,
  reason: string,
  local?: true,
): DeliveryOutcome {
  try {
    return {
      status: 'refused',
      file,
      entry,
      reason,
      movedTo: spool.fail(file, reason),
      ...(local ? { local } : {}),
    };
  } catch (error) {
    if (!existsSync(file)) return goneFrom(spool, file, entry);
    return {
      status: 'spooled',
      file,
      entry,
      reason: `${reason}; it could not be moved to ${spool.dir}/failed either (${describe(error)}): sms-agent spool drop ID removes it`,
    };
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

/**
 * Writes results to the spool in uploads of at most 30, of one run when `runId` is given: all of
 * them or none (one that cannot be written, a full disk say, takes those written before it away,
 * or a later flush would deliver part of a run that was said to be uploaded in nothing).
 */
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
  const written: { file: string; entry: SpoolEntry }[] = [];
  try {
    for (const chunk of chunks) written.push(spool.add(taskId, chunk, runId));
  } catch (error) {
    for (const { file } of written) {
      try {
        spool.remove(file);
      } catch {
        // the error that stopped the writing is the one to say
      }
    }
    throw error;
  }
  return written;
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
  signal?: AbortSignal,
  patience: Patience = {},
): Promise<DeliveryOutcome[]> {
  const ordered = [
    ...items.filter((i) => !isFindingsEntry(i.entry)),
    ...items.filter((i) => isFindingsEntry(i.entry)),
  ];
  const outcomes: DeliveryOutcome[] = [];
  let unreachable: string | undefined;
  // a task whose counts upload stays in the spool: its later counts wait too, or the older would
  // be stored after them by a later flush and become the directories' state
  const held = new Map<string, string>();
  for (const { file, entry } of ordered) {
    if (signal?.aborted) {
      outcomes.push({ status: 'spooled', file, entry, reason: stopped(signal) });
      continue;
    }
    if (unreachable) {
      outcomes.push({ status: 'spooled', file, entry, reason: `not tried: ${unreachable}` });
      continue;
    }
    const before = isFindingsEntry(entry) ? undefined : held.get(entry.task_id);
    if (before !== undefined) {
      outcomes.push({
        status: 'spooled',
        file,
        entry,
        reason: `not sent: an earlier upload of task ${entry.task_id} waits in the spool (${before}), and is stored first`,
      });
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
    const outcome = await deliver(client, spool, file, entry, signal, patience);
    // refused credentials are not tried again for the next upload: each failed sign-in counts
    // toward the user's lock-out, which then refuses every agent of that user
    if (outcome.status === 'spooled' && (outcome.network || outcome.credentials))
      unreachable = outcome.reason;
    if (outcome.status === 'spooled' && !isFindingsEntry(entry)) held.set(entry.task_id, outcome.reason);
    outcomes.push(outcome);
  }
  return outcomes;
}

/** Delivers everything waiting in the spool, oldest first (counts before findings). */
export async function flushSpool(
  client: SmsClient,
  spool: Spool,
  signal?: AbortSignal,
  patience: Patience = {},
) {
  const { entries, broken } = spool.list();
  return { outcomes: await deliverAll(client, spool, entries, signal, patience), broken };
}
