import { setTimeout as sleep } from 'node:timers/promises';
import { isSmsApiError, isSmsNetworkError, type VerificationRequest } from '@sms/client';
import { deriveCheckResult, ErrorCodes, VerificationLimits } from '@sms/domain';
import { crypto } from '../builtins.js';
import { describeError } from '../engine/listing.js';
import { inSeconds } from '../plural.js';
import { isServerAnswer, refusesCredentials } from '../upload/deliver.js';
import { CORRECT_CREDENTIALS, EXIT } from './shared.js';
import { anyThreadStuck } from './stall.js';
import { readTaskRun } from './task-run.js';
import { runVerification, type UploadContext, type VerificationControl } from './verification.js';

export interface DaemonOptions {
  context: UploadContext;
  /** The agent's name sent with each claim (the host name). */
  name: string;
  /** The lease of a claim, renewed every third of it. */
  leaseSeconds: number;
  /** Take at most one request, then return. */
  once: boolean;
  /** `--workers` of each run. */
  workers?: number | undefined;
  /** `--io-timeout` of each run: a run that made no progress for this long fails its request. */
  ioTimeoutSeconds?: number | undefined;
  /** Aborted by the first SIGTERM or SIGINT: take no more requests, hand back the one running. */
  stop: AbortSignal;
  /** One line per event. */
  log: (line: string) => void;
  /** What a stopped daemon's remaining calls to the server may take in all (default `STOP_GRACE_MS`). */
  stopGraceMs?: number;
  /** The waits after failures (default `new Backoff()`; tests give shorter ones). */
  backoff?: () => Backoff;
  /**
   * How long a claimed request's task configuration is read again while the server cannot be
   * reached, before the request is handed back (default `UNREACHABLE_RETRY_MS`); and, after a run,
   * how long its finish is tried again.
   */
  unreachableRetryMs?: number;
  /** How long it waits before it tries credentials the server refused again (default `CREDENTIALS_RETRY_MS`). */
  credentialsRetryMs?: number;
}

/** See `DaemonOptions.unreachableRetryMs`: a redeploy or a restart of the server is waited out. */
export const UNREACHABLE_RETRY_MS = 10 * 60_000;

/** The long poll's wait: the most the server allows. */
const POLL_WAIT_SECONDS = VerificationLimits.waitSecondsMax;

/** 1 s doubling to 30 s, each delay drawn between half and all of it (so that daemons restarted together spread out). */
export class Backoff {
  private failures = 0;
  constructor(
    private readonly firstMs = 1000,
    private readonly maxMs = 30_000,
  ) {}
  next(): number {
    const ceiling = Math.min(this.maxMs, this.firstMs * 2 ** this.failures++);
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }
  reset(): void {
    this.failures = 0;
  }
}

const isLeaseLost = (error: unknown) => isSmsApiError(error) && error.errorCode === ErrorCodes.LeaseHeld.code;
/** An answer after which the same call can never succeed (the request is gone, or no longer this lease's). */
const isFinal = (error: unknown) => isServerAnswer(error) && [400, 403, 404, 409].includes(error.status);
/** The request is no longer this lease's: another agent holds it, or it is gone. */
const isGone = (error: unknown) => isLeaseLost(error) || (isServerAnswer(error) && error.status === 404);
/** A poll refused for its `agent` (a server older than `CONSISTENCY_AGENT`: its query takes only `wait`). */
const refusesName = (error: unknown) =>
  isSmsApiError(error) &&
  error.status === 400 &&
  error.errorCode === ErrorCodes.InvalidParameter.code &&
  /^agent: is not a field\b/.test(error.errorMsg ?? '');
/** The server could not be reached or used for now (network, 5xx, 429, a proxy's page): worth trying again. */
const isUnreachable = (error: unknown) =>
  isSmsNetworkError(error) ||
  (isSmsApiError(error) && (error.status >= 500 || error.status === 429 || error.errorCode === undefined));

/** A poll answered sooner than this with nothing to take was not held by the server: the next waits this long. */
const EARLY_POLL_MS = 1000;

/** How long the daemon waits before it tries credentials the server refused again. */
export const CREDENTIALS_RETRY_MS = 5 * 60_000;

/** Sleeps `ms`, or less when `signal` fires first. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => {});
}

/**
 * `sms-agent daemon`: long-polls the server for verification requests, takes
 * one at a time with a lease (renewed every third of it), runs it as `run`
 * would, and finishes it `done` with the run's verdict or `failed` with its
 * error. Network errors and a server that is away are waited out with
 * backoff; it returns only when `stop` fires. With `once` it polls once (waiting as a poll does),
 * runs the request it takes if any, and returns: `unreachable` when that poll could not reach the
 * server (a cron job must not wait for it for ever), or the request could not be taken or not be
 * finished (it is pending again); `refused` when the server refused the poll (its credentials,
 * say); `failed` when the request taken ended failed; else `done`.
 */
export async function runDaemon(
  options: DaemonOptions,
): Promise<'done' | 'unreachable' | 'refused' | 'failed' | 'stuck'> {
  const { client } = options.context;
  const { stop, log } = options;
  const newBackoff = options.backoff ?? (() => new Backoff());
  const backoff = newBackoff();
  // apart: every poll that answers resets the poll's, and a claim that keeps failing must still wait longer each time
  const claimBackoff = newBackoff();
  // a monotonic clock: one stepped back (NTP) must not hold the idle flush or a deadline for as long
  const lastFlush = { at: Number.NEGATIVE_INFINITY };
  log(`sms-agent daemon: ${options.name} waiting for verification requests at ${client.endpoint}`);
  // a server older than CONSISTENCY_AGENT refuses the name (400, the query's `agent`): this
  // daemon then polls without it, for the requests of any task (what that server knows)
  let byName = true;
  while (!stop.aborted) {
    let requests: VerificationRequest[];
    const polledAt = performance.now();
    try {
      // by name: the requests of the tasks whose CONSISTENCY_AGENT is this one's too
      ({ requests } = await client.pollConsistencyChecks({
        wait: POLL_WAIT_SECONDS,
        ...(byName ? { agent: options.name } : {}),
        signal: stop,
      }));
      backoff.reset();
    } catch (error) {
      if (stop.aborted) break;
      // a server that went away may come back upgraded (that is when upgrades happen): ask by name again
      if (!byName && isUnreachable(error)) byName = true;
      if (byName && refusesName(error)) {
        byName = false;
        log(
          `the server does not take the agent's name in its polls (${describeError(error)}): it is older than this agent; polling without it`,
        );
        continue;
      }
      if (options.once) {
        log(
          refusesCredentials(error)
            ? `poll failed: the server refused this daemon's credentials (${describeError(error)}): ${CORRECT_CREDENTIALS}; --once: no request taken`
            : `poll failed: ${describeError(error)}; --once: no request taken`,
        );
        return isUnreachable(error) ? 'unreachable' : 'refused';
      }
      if (refusesCredentials(error)) {
        const delay = options.credentialsRetryMs ?? CREDENTIALS_RETRY_MS;
        log(
          `poll failed: the server refused this daemon's credentials (${describeError(error)}): ${CORRECT_CREDENTIALS} and restart the daemon; trying again in ${inSeconds(delay)}`,
        );
        await pause(delay, stop);
        continue;
      }
      const delay = backoff.next();
      log(`poll failed: ${describeError(error)}; retrying in ${inSeconds(delay)}`);
      await pause(delay, stop);
      continue;
    }
    let taken = false;
    let failed = false;
    let worked: Awaited<ReturnType<typeof work>> | undefined;
    for (const request of requests) {
      if (stop.aborted) break;
      const lease = await claim(options, request);
      if (lease === 'failed') failed = true;
      if (lease === 'failed' || lease === 'taken') continue;
      taken = true;
      claimBackoff.reset();
      worked = await work(options, lease.request, lease.lease_id);
      break;
    }
    // a run stopped by --io-timeout left a thread inside the hung mount: each later run there would
    // leave more, and only SIGKILL ends this process: it stops, for its service manager to start anew
    if (anyThreadStuck()) {
      log(
        'a run stopped by --io-timeout left a thread waiting inside the mount that stopped answering: taking no more requests',
      );
      return 'stuck';
    }
    // once (cron): the exit status says whether the request taken got its end on the server
    if (taken && options.once)
      return stop.aborted || worked === 'done' ? 'done' : worked === 'failed' ? 'failed' : 'unreachable';
    // a claim that failed (the server erring, or unreachable since the poll) would fail again at
    // once: the poll answers the same pending request without waiting
    if (!taken && failed && !stop.aborted && !options.once) await pause(claimBackoff.next(), stop);
    // a poll answered at once with nothing to take (a server or proxy that does not hold it for its
    // `wait`) is not made again at once: polls as fast as the network answers, from a whole fleet
    else if (!taken && !stop.aborted && !options.once && performance.now() - polledAt < EARLY_POLL_MS)
      await pause(EARLY_POLL_MS, stop);
    if (!taken && !stop.aborted) await flushIdle(options, lastFlush);
    // once: the poll waited for a request and none came (or another daemon took it)
    if (options.once) {
      log(`no verification request ${failed ? 'could be taken' : 'was pending'}; --once: exiting`);
      return failed && !stop.aborted ? 'unreachable' : 'done';
    }
  }
  return 'done';
}

/** How long the spool may hold uploads while the daemon waits for requests before it tries them again. */
const IDLE_FLUSH_MS = 60_000;
/** How long that flush sends again a findings upload whose key the server is still storing. */
const IDLE_FLUSH_PATIENCE_MS = 10_000;

/**
 * Delivers what waits in the spool (a run's counts the server could not take at the time) while
 * no request is being run, at most once a minute: the task's stored results should not wait for
 * the next request, perhaps days away.
 */
async function flushIdle(options: DaemonOptions, last: { at: number }): Promise<void> {
  if (performance.now() - last.at < IDLE_FLUSH_MS) return;
  last.at = performance.now();
  const { spool, client, upload } = options.context;
  try {
    if (spool.list().entries.length === 0) return;
    // a findings upload the server is still storing is not waited for long: polling stops meanwhile,
    // and this flush comes again in a minute
    const { outcomes, broken } = await upload.flushSpool(client, spool, options.stop, {
      inProgressMs: IDLE_FLUSH_PATIENCE_MS,
      onWait: (note) => options.log(`spool: ${note}`),
    });
    for (const b of broken)
      options.log(`spool: ${b.file} is not a readable spooled upload (${b.reason}); it was left in place`);
    const delivered = outcomes.filter((o) => o.status === 'delivered').length;
    const waiting = outcomes.filter((o) => o.status === 'spooled').length;
    const refused = outcomes.filter((o) => o.status === 'refused');
    options.log(
      `spool: ${delivered} delivered, ${waiting} still waiting, ${refused.length} refused${refused[0]?.status === 'refused' ? ` (${refused[0].reason}: moved to ${refused[0].movedTo})` : ''}`,
    );
  } catch (error) {
    options.log(`spool: could not be delivered (${describeError(error)}); trying again in a minute`);
  }
}

/** Claims a request; `taken` when another agent was quicker (409) or it is gone, `failed` when the claim failed. */
async function claim(options: DaemonOptions, request: VerificationRequest) {
  try {
    return await options.context.client.claimConsistencyCheck(request.id, {
      leaseSeconds: options.leaseSeconds,
      agent: options.name,
      signal: options.stop,
    });
  } catch (error) {
    // a claim is never retried at once: a lost answer's lease simply expires and the request is pending again
    if (isGone(error)) return 'taken' as const;
    if (!options.stop.aborted) options.log(`claim of request ${request.id} failed: ${describeError(error)}`);
    return 'failed' as const;
  }
}

/**
 * Runs one claimed request to its end: verify and upload as `run` does, then
 * finish it. The lease is renewed meanwhile; when a renewal answers that the
 * lease is no longer this one's, the run is abandoned (interrupted, nothing
 * more uploaded). When `stop` fires, the run is interrupted and the request
 * handed back.
 */
async function work(
  options: DaemonOptions,
  request: VerificationRequest,
  leaseId: string,
): Promise<'done' | 'failed' | 'unfinished'> {
  const { client } = options.context;
  const { log } = options;
  const runId = crypto().randomUUID();
  const abandon = new AbortController();
  let lost = false;
  // once stopped, the calls still to make (the upload of a run that had ended, the finish or the
  // release, heartbeats) have STOP_GRACE_MS in all: then they are ended, what was not uploaded
  // waits in the spool, and the lease expires (systemd's TimeoutStopSec is 90 s)
  const grace = new AbortController();
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const graceMs = options.stopGraceMs ?? STOP_GRACE_MS;
  const onStop = () => {
    abandon.abort(String(options.stop.reason ?? 'SIGTERM'));
    graceTimer = setTimeout(() => grace.abort(`the daemon was stopped ${graceMs / 1000} s before`), graceMs);
  };
  options.stop.addEventListener('abort', onStop, { once: true });
  // a stop that came while the claim was answered: the listener would never fire
  if (options.stop.aborted) onStop();
  const calls = { signal: grace.signal };
  log(
    `took request ${request.id} of task ${request.task_id} (lease ${options.leaseSeconds} s, run ${runId})`,
  );
  // a failed renewal is tried again soon (1 s doubling to a sixth of the lease), not a third of the
  // lease later: a server away for two thirds of the lease would otherwise cost the run
  const renewBackoff = new Backoff(1000, Math.max(1000, (options.leaseSeconds * 1000) / 6));
  let renewAgain: ReturnType<typeof setTimeout> | undefined;
  // set once the request is finished or handed back: a renewal still in flight then says nothing more
  let over = false;
  // when a renewal was last answered (the server is there, whatever its other calls do)
  let answeredAt = 0;
  const renew = async () => {
    try {
      await client.heartbeatConsistencyCheck(request.id, {
        leaseId,
        leaseSeconds: options.leaseSeconds,
        runId,
        ...calls,
      });
      answeredAt = performance.now();
      renewBackoff.reset();
    } catch (error) {
      if (over) return;
      if (isGone(error)) {
        if (!lost) log(`request ${request.id}: lease lost (${describeError(error)}): abandoning the run`);
        lost = true;
        abandon.abort('the loss of the lease');
      } else if (!grace.signal.aborted) {
        const delay = renewBackoff.next();
        log(
          `request ${request.id}: heartbeat failed (${describeError(error)}); trying again in ${inSeconds(delay)}`,
        );
        if (renewAgain === undefined && !lost)
          renewAgain = setTimeout(() => {
            renewAgain = undefined;
            void renew();
          }, delay);
      }
    }
  };
  const heartbeat = setInterval(renew, (options.leaseSeconds * 1000) / 3);
  // the run's id, on the request while it runs
  void renew();
  try {
    // a lease lost while the run ended is not uploaded under: the request is another agent's now
    const mayUpload = async () => {
      await renew();
      return lost
        ? ({ allowed: false, reason: `the lease of request ${request.id} was lost` } as const)
        : ({ allowed: true } as const);
    };
    const ended = await verifyRequest(
      options,
      request,
      runId,
      abandon.signal,
      mayUpload,
      grace.signal,
      async () => {
        const before = answeredAt;
        await renew();
        return answeredAt > before;
      },
    );
    if (lost) return 'unfinished';
    if (ended === 'interrupted' || ended === 'unreachable') {
      await handBack(options, request, leaseId, grace.signal);
      return 'unfinished';
    }
    // refused (the request gone, or another agent's since its lease ran out): not this run's failure
    const finished = await finish(options, request, leaseId, ended, () => lost, grace.signal);
    return finished === 'finished' ? ended.state : 'unfinished';
  } finally {
    over = true;
    clearInterval(heartbeat);
    clearTimeout(renewAgain);
    clearTimeout(graceTimer);
    options.stop.removeEventListener('abort', onStop);
  }
}

/** What a stopped daemon's remaining calls to the server may take in all (see `work`). */
export const STOP_GRACE_MS = 30_000;

type Ending =
  | { state: 'done'; runId: string; checkResult: ReturnType<typeof deriveCheckResult> }
  | { state: 'failed'; runId?: string; error: string };

/**
 * Reads the request's task configuration and plans its run; while the server cannot be reached
 * (it restarts, a proxy answers for it), it is read again with backoff for `unreachableRetryMs`,
 * then `unreachable`: the request is handed back rather than failed for the server's absence.
 */
async function readRequestRun(
  options: DaemonOptions,
  request: VerificationRequest,
  signal: AbortSignal,
  answers: () => Promise<boolean>,
): Promise<Awaited<ReturnType<typeof readTaskRun>> | 'unreachable'> {
  const backoff = options.backoff?.() ?? new Backoff();
  const until = performance.now() + (options.unreachableRetryMs ?? UNREACHABLE_RETRY_MS);
  for (;;) {
    try {
      return await readTaskRun(
        request.task_id,
        {},
        {
          workers: options.workers,
          ioTimeoutSeconds: options.ioTimeoutSeconds,
          output: 'none',
          progress: false,
          findings: true,
        },
        options.context,
        signal,
      );
    } catch (error) {
      if (signal.aborted || !isUnreachable(error)) throw error;
      const delay = backoff.next();
      if (performance.now() + delay > until) {
        // The server's own error for this read (not the network's, not a proxy's page) while it
        // answers a renewal sent now: it is there, and its answer for this task's configuration is
        // the error. Handed back, the request would be taken again at once, for ever.
        if (isServerAnswer(error) && (await answers())) throw error;
        options.log(
          `request ${request.id}: the configuration of task ${request.task_id} could not be read (${describeError(error)}); handing the request back`,
        );
        return 'unreachable';
      }
      options.log(
        `request ${request.id}: the configuration of task ${request.task_id} could not be read (${describeError(error)}); trying again in ${inSeconds(delay)}`,
      );
      await pause(delay, signal);
    }
  }
}

/** Verifies the request's task as `run` would; how it ended, `interrupted`, or `unreachable` (the server, before it began). */
async function verifyRequest(
  options: DaemonOptions,
  request: VerificationRequest,
  runId: string,
  signal: AbortSignal,
  mayUpload: NonNullable<VerificationControl['mayUpload']>,
  uploadSignal: AbortSignal,
  answers: () => Promise<boolean>,
): Promise<Ending | 'interrupted' | 'unreachable'> {
  try {
    const read = await readRequestRun(options, request, signal, answers);
    if (read === 'unreachable') return read;
    const { plan, notices } = read;
    for (const notice of notices) options.log(`notice: ${notice}`);
    const outcome = await runVerification(plan, {
      runId,
      interrupt: (run) => run(signal),
      mayUpload,
      uploadSignal,
    });
    if (outcome.interrupted) return 'interrupted';
    // delivered, or kept in the spool for the next run's flush: the verdict stands either way, also
    // when only its findings were refused (the task shows the counts: the request did not fail)
    if (outcome.countsKept) options.log(`warning: ${outcome.problem ?? 'the findings were not uploaded'}`);
    if (
      outcome.exitCode === EXIT.consistent ||
      outcome.exitCode === EXIT.inconsistent ||
      outcome.exitCode === EXIT.spooled ||
      outcome.countsKept
    )
      return { state: 'done', runId, checkResult: deriveCheckResult(outcome.results ?? []) };
    return {
      state: 'failed',
      runId,
      error: outcome.problem ?? `the run ended with exit status ${outcome.exitCode}`,
    };
  } catch (error) {
    if (signal.aborted) return 'interrupted';
    return { state: 'failed', error: describeError(error) };
  }
}

/** Finishes the request, trying again with backoff while the server cannot be reached (the lease is renewed meanwhile). */
async function finish(
  options: DaemonOptions,
  request: VerificationRequest,
  leaseId: string,
  ending: Ending,
  leaseLost: () => boolean,
  signal: AbortSignal,
): Promise<'finished' | 'unfinished'> {
  const backoff = new Backoff();
  const until = performance.now() + (options.unreachableRetryMs ?? UNREACHABLE_RETRY_MS);
  const body =
    ending.state === 'done'
      ? ending
      : { ...ending, error: ending.error.slice(0, VerificationLimits.errorMaxLength) };
  for (;;) {
    if (leaseLost()) return 'unfinished';
    try {
      await options.context.client.finishConsistencyCheck(request.id, { leaseId, ...body, signal });
      options.log(
        ending.state === 'done'
          ? `finished request ${request.id}: done, ${ending.checkResult} (run ${ending.runId})`
          : `finished request ${request.id}: failed: ${ending.error}`,
      );
      return 'finished';
    } catch (error) {
      if (isFinal(error)) {
        options.log(`request ${request.id}: the server refused its end (${describeError(error)})`);
        return 'unfinished';
      }
      // stopping: the lease expires and the request is pending again
      if (options.stop.aborted) {
        options.log(
          `request ${request.id}: not finished (${signal.aborted ? String(signal.reason) : describeError(error)}); it is pending again once its lease expires`,
        );
        return 'unfinished';
      }
      const delay = backoff.next();
      // not for ever: this daemon takes no other request meanwhile, and its heartbeats would keep
      // the request its own; once they stop, the lease expires and the request is pending again
      if (performance.now() + delay > until) {
        options.log(
          `request ${request.id}: finish failed (${describeError(error)}); giving up: it is pending again once its lease expires`,
        );
        return 'unfinished';
      }
      options.log(
        `request ${request.id}: finish failed (${describeError(error)}); retrying in ${inSeconds(delay)}`,
      );
      await pause(delay, options.stop);
    }
  }
}

/** Hands the request back (pending again, for any agent to take). */
async function handBack(
  options: DaemonOptions,
  request: VerificationRequest,
  leaseId: string,
  signal: AbortSignal,
): Promise<void> {
  try {
    await options.context.client.releaseConsistencyCheck(request.id, leaseId, { signal });
    options.log(`released request ${request.id}: pending again`);
  } catch (error) {
    options.log(
      isGone(error)
        ? `request ${request.id}: not handed back (${describeError(error)}): its lease had run out, or the request is gone`
        : `request ${request.id}: release failed (${describeError(error)}); it is pending again once its lease expires`,
    );
  }
}
