import type { ConsistencyResult } from '@sms/domain';
import { crypto } from '../builtins.js';
import { InterruptedError, throwIfInterrupted } from '../engine/interrupt.js';
import { describeError } from '../engine/listing.js';
import { readEnv } from '../env.js';
import { createProgressLine, formatTable, ReportWriter, toJsonDocument } from '../output.js';
import { plural } from '../plural.js';
import type { RemoteEvent } from '../remote/session.js';
import { type RemoteTarget, splitCommand } from '../remote/target.js';
import { toConsistencyResult } from '../upload/results.js';
import { type VerifyOptions, type VerifyResult, verify } from '../verify.js';
import {
  deliveryExit,
  EXIT,
  findingsNotes,
  findingsSummary,
  interruptible,
  SIGNAL_EXIT,
  say,
  summarizeDeliveries,
  type uploadContext,
} from './shared.js';
import { stallWatch } from './stall.js';

/** The upload side of a verification: the client, the spool and their workflow (`uploadContext`). */
export type UploadContext = Awaited<ReturnType<typeof uploadContext>>;

/**
 * One verification as `verify` runs it (and `run`, and each request of
 * `daemon`): what to verify, where its report goes, how its verdict is shown,
 * and, when uploading, to which task.
 */
export interface VerificationPlan {
  /** What the engine verifies; the callbacks are this workflow's. */
  engine: Omit<
    VerifyOptions,
    'signal' | 'onStart' | 'onProgress' | 'onRecheck' | 'onEntries' | 'onRemote' | 'report'
  >;
  /** `--report FILE` */
  reportFile?: string | undefined;
  /** stdout: the table, one JSON document (`--json`), or nothing (the daemon). */
  output: 'table' | 'json' | 'none';
  /** A progress line on stderr (only when it is a terminal). */
  progress: boolean;
  /** Upload the counts (and findings, unless `findings` is false) to `task`. */
  upload?: { task: string; findings: boolean; context: UploadContext } | undefined;
  /** `--io-timeout`: stop the verification (exit 2) once it made no progress for this many seconds; 0 or absent: never. */
  ioTimeoutSeconds?: number | undefined;
}

/** The engine's target: a directory here, or one over ssh (`remote`) with its ssh command and remote agent. */
export function targetOptions(
  target: string,
  remote: RemoteTarget | undefined,
  over: { ssh?: string | undefined; remoteAgent?: string | undefined },
): Pick<VerifyOptions, 'target' | 'targetRemote'> {
  if (!remote) return { target };
  return {
    targetRemote: {
      target: remote,
      ...(over.ssh === undefined ? {} : { ssh: splitCommand(over.ssh) }),
      ...(over.remoteAgent === undefined ? {} : { remoteAgent: over.remoteAgent }),
    },
  };
}

/** How one verification ended. */
export interface VerificationOutcome {
  /** As `verify` exits: 0 consistent, 1 inconsistent, 2 an error, 3 spooled, 130/143 interrupted. */
  exitCode: number;
  /** The counts, as uploaded (absent when the verification did not end). */
  results?: ConsistencyResult[];
  /** Why the exit status is 2 although the verification ended (an upload refused, a result the API cannot take). */
  problem?: string;
  /**
   * The counts were delivered or kept in the spool although the exit status is 2: what went
   * wrong was the findings' upload only (refused), so the verdict stands on the server.
   */
  countsKept?: boolean;
  /** The verification was stopped before it ended (nothing was uploaded). */
  interrupted?: InterruptedError;
}

export interface VerificationControl {
  /** The run's id (default: a new UUID when there is something to upload), so that a caller can name the run before it ends. */
  runId?: string;
  /**
   * Runs the verification with a signal that stops it. Default: SIGINT and
   * SIGTERM stop it (`interruptible`); the daemon passes its own.
   */
  interrupt?: <T>(work: (signal: AbortSignal) => Promise<T>) => Promise<T>;
  /**
   * Asked once the verification ended, before anything is uploaded: false
   * stops the run there, uploading nothing (the daemon's lease was lost).
   */
  mayUpload?: () => Promise<{ allowed: true } | { allowed: false; reason: string }>;
  /**
   * Ends the upload's calls to the server (what was not sent stays in the spool): the daemon's
   * stop, once its grace is over, so that a server that does not answer cannot hold the stop.
   */
  uploadSignal?: AbortSignal;
}

/**
 * Verifies, writes the report, shows the verdict and uploads the counts and
 * findings of one run. Errors that prevent verification (`VerifyError`, a bad
 * pattern) are thrown; everything after is in the outcome.
 */
export async function runVerification(
  plan: VerificationPlan,
  control: VerificationControl = {},
): Promise<VerificationOutcome> {
  const uploading = plan.upload?.context;
  const task = plan.upload?.task;
  // one verification is one run: every upload of it carries this id, also when flush delivers it later
  // (made only for an upload: a verification that uploads nothing does not load node:crypto at all)
  const runId = uploading && task ? (control.runId ?? crypto().randomUUID()) : undefined;
  const findings =
    uploading && task && runId !== undefined && plan.upload?.findings
      ? new (await import('../upload/findings.js')).FindingsRecorder(
          uploading.spool.startFindings(task, runId),
          readEnv().findingsLimit,
        )
      : undefined;
  const report = plan.reportFile ? new ReportWriter(plan.reportFile) : undefined;
  const progress = plan.progress && process.stderr.isTTY ? createProgressLine(process.stderr) : undefined;
  let result: VerifyResult;
  let ended = false;
  try {
    result = await (control.interrupt ?? interruptible)(async (stop) => {
      const watch = plan.ioTimeoutSeconds ? stallWatch(plan.ioTimeoutSeconds) : undefined;
      const signal = watch ? AbortSignal.any([stop, watch.signal]) : stop;
      const work = verify({
        ...plan.engine,
        signal,
        ...(report || watch
          ? {
              onStart: () => {
                report?.open();
                watch?.start();
              },
            }
          : {}),
        // over ssh the clock runs once the agent runs there, and its heartbeat is progress
        ...(watch
          ? {
              onRemote: (event: RemoteEvent) => {
                if (event === 'running') watch.start();
                else if (event === 'progress') watch.beat();
              },
            }
          : {}),
        onRecheck: (paths, delay) => {
          // the recheck (its delay, then its work here) is not timed
          watch?.hold();
          progress?.done();
          if (paths > 0)
            say(
              `recheck: ${plural(paths, 'path')} differed or ${paths === 1 ? 'was' : 'were'} missing; looking again in ${delay} s`,
            );
        },
        report: report !== undefined || findings !== undefined,
        ...(progress || watch
          ? {
              onProgress: (p) => {
                watch?.saw(p);
                progress?.update(p);
              },
            }
          : {}),
        ...(report || findings
          ? {
              onEntries: (entries, dirChecks) => {
                // a run stopped by --io-timeout that ends later (its mount answering again) has its
                // report closed and marked: what it finds then is not written (nor the file reopened)
                if (ended) return;
                report?.write(entries, dirChecks);
                findings?.write(entries, dirChecks);
              },
            }
          : {}),
      });
      // a stall stays what ended the run, also when a signal comes while its work is given time to end
      const verified = watch ? await watch.race(work) : await work;
      // a signal heard as the walk ended (its workers stopping) still stops the run: nothing is uploaded
      throwIfInterrupted(stop);
      report?.markComplete();
      return verified;
    });
  } catch (error) {
    // an interrupted or failed run uploads nothing: its findings are not left in the spool
    findings?.abort();
    if (!(error instanceof InterruptedError)) {
      // a run that failed once its report was emptied (a target cut mid-way, a damaged manifest)
      // says so in it too, or the file would read as a whole list (an empty one, say: nothing to
      // re-sync); a run refused for its arguments leaves an earlier report as it was
      if (report?.opened) {
        try {
          report.markIncomplete(
            `the verification failed (${describeError(error)}): this report lists only what was found until then`,
          );
        } catch {
          // the report cannot be written either (a full disk): the run's own error says what failed
        }
      }
      throw error;
    }
    progress?.done();
    report?.markIncomplete(
      `${error.message} before the verification ended: this report lists only what was found until then`,
    );
    say(
      `sms-agent: ${error.message}: the verification did not end, nothing was uploaded${report ? `; ${report.file} is marked incomplete` : ''}`,
    );
    return { exitCode: SIGNAL_EXIT[error.signal] ?? EXIT.error, interrupted: error };
  } finally {
    ended = true;
    progress?.done();
    report?.close();
  }
  for (const notice of result.notices) say(`notice: ${notice}`);
  for (const warning of result.warnings) say(`warning: ${warning}`);
  const results = result.results.map(toConsistencyResult);
  let upload:
    | (ReturnType<NonNullable<typeof uploading>['workflow']['uploadReport']> & { error?: string })
    | undefined;
  let uploadExit: number = EXIT.consistent;
  let problem: string | undefined;
  let countsKept = false;
  if (uploading && task && control.mayUpload) {
    const may = await control.mayUpload();
    if (!may.allowed) {
      findings?.abort();
      say(`sms-agent: the verification ended but nothing was uploaded: ${may.reason}`);
      return { exitCode: EXIT.error, interrupted: new InterruptedError(may.reason) };
    }
  }
  if (uploading && task && runId !== undefined) {
    const blocked = result.results.filter((r) => r.notUploadable);
    for (const r of blocked) say(`error: ${r.dirCheck} cannot be uploaded: ${r.notUploadable}`);
    if (blocked.length > 0) {
      findings?.abort();
      uploadExit = EXIT.error;
      problem = `${blocked[0]!.dirCheck} cannot be uploaded: ${blocked[0]!.notUploadable}`;
    } else {
      try {
        if (findings) for (const line of findingsNotes(findings)) say(line);
        const delivered = await uploading.workflow.uploadVerification(
          uploading.client,
          uploading.spool,
          task,
          results,
          {
            runId,
            ...(findings ? { commitFindings: () => findings.commit() } : {}),
            ...(control.uploadSignal ? { signal: control.uploadSignal } : {}),
            patience: { onWait: (note) => say(`spool: ${note}`) },
          },
        );
        const { earlier, outcomes } = delivered;
        if (earlier.length > 0)
          say(`spool: ${summarizeDeliveries(earlier, uploading.spool.dir)[0]} (earlier uploads)`);
        for (const line of summarizeDeliveries(outcomes, uploading.spool.dir)) say(line);
        if (delivered.findings) say(findingsSummary(delivered.findings, uploading.spool.dir));
        if (findings?.failure !== undefined)
          say(
            `warning: findings not uploaded: they could not be written to ${uploading.spool.dir} (${findings.failure}); the counts were`,
          );
        const all = delivered.findings ? [...outcomes, delivered.findings] : outcomes;
        uploadExit = deliveryExit(all);
        countsKept = deliveryExit(outcomes) !== EXIT.error;
        const refused = all.find((o) => o.status === 'refused');
        if (refused?.status === 'refused')
          problem = refused.local
            ? `an upload could not be sent from the spool: ${refused.reason}`
            : `an upload was refused by the server: ${refused.reason}`;
        upload = uploading.workflow.uploadReport(task, outcomes, {
          runId,
          findings: delivered.findings,
          truncatedDirs: [...(findings?.truncated ?? [])],
        });
      } catch (error) {
        findings?.abort();
        // the spool cannot be written (a bad --spool-dir, a full disk): the verdict is still shown
        const message = describeError(error);
        say(`error: nothing was uploaded: ${message}; check --spool-dir ${uploading.spool.dir}`);
        uploadExit = EXIT.error;
        problem = `nothing was uploaded: ${message}`;
        upload = { ...uploading.workflow.uploadReport(task, []), status: 'refused', error: message };
      }
    }
  }
  if (plan.output === 'json') {
    process.stdout.write(`${JSON.stringify(toJsonDocument(result, upload ? { upload } : {}), null, 2)}\n`);
  } else if (plan.output === 'table') {
    process.stdout.write(`${formatTable(result)}\n`);
  }
  if (report) say(`report: ${plural(report.lines, 'path')} in ${report.file}`);
  // the verdict when every upload was delivered; otherwise what happened to the uploads
  const exitCode =
    uploadExit !== EXIT.consistent
      ? uploadExit
      : result.results.every((r) => r.consistent)
        ? EXIT.consistent
        : EXIT.inconsistent;
  return {
    exitCode,
    results,
    ...(problem === undefined ? {} : { problem }),
    ...(exitCode === EXIT.error && countsKept ? { countsKept } : {}),
  };
}
