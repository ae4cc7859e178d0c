import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { METADATA_FIELDS, type MetadataField } from '../engine/types.js';
import { readEnv } from '../env.js';
import { formatCount, plural } from '../plural.js';
import type { DeliveryOutcome } from '../upload/deliver.js';

/**
 * Exit statuses: 0 consistent (or, for upload and flush, everything delivered), 1 inconsistencies
 * found, 2 a usage error, verification impossible or an upload refused for good, 3 uploads kept in
 * the spool for later (the server could not take them now), 130 and 143 interrupted by SIGINT and SIGTERM.
 */
export const EXIT = { consistent: 0, inconsistent: 1, error: 2, spooled: 3 } as const;

/** The exit status of a set of uploads: 0 all delivered, 2 one refused for good, 3 one kept in the spool. */
export function deliveryExit(outcomes: readonly DeliveryOutcome[]): number {
  const refused = outcomes.some((o) => o.status === 'refused');
  const spooled = outcomes.some((o) => o.status === 'spooled');
  return refused ? EXIT.error : spooled ? EXIT.spooled : EXIT.consistent;
}

/** A mistake on the command line: the message says what to give instead. */
export class UsageError extends Error {}

/** Standard output could not be written: said once by its own handler (main.ts), the run ends with exit 2. */
export class OutputError extends Error {
  override name = 'OutputError';
}

/** When `--io-timeout <seconds>` of verify, run and daemon stops a run (`stallWatch`); each command says what follows. */
export const IO_TIMEOUT_WHEN =
  'once the verification made no progress (no entry looked at, no byte compared, no heartbeat from the remote agent) for this many seconds, from the start of the walk (over ssh: once the agent runs there): a hung NFS, SMB or sshfs mount, or a remote agent waiting on one (as rsync --timeout; 0, the default: wait for ever); a thread left inside a call to the hung mount, which an exit would wait for, makes the agent end itself with SIGKILL (status 137); what the main thread does itself cannot be timed out (its first look at each directory given; in quick mode on local disks the first 1,024 entries; against a manifest or over ssh, the listing of the source; the recheck; with --workers 0, everything)';

export function wholeNumber(max: number, min = 0) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) > max || Number(value) < min)
      throw new InvalidArgumentError(`expected a whole number ${min}..${max}`);
    return Number(value);
  };
}

/**
 * `--task ID`, checked with the domain's schema. Checked when the command runs
 * rather than while the options are parsed, so that a verify without --task
 * never loads the schemas (the agent starts faster).
 */
export async function taskId(value: string): Promise<string> {
  const [{ formatIssues, TaskIdSchema }, v] = await Promise.all([import('@sms/domain'), import('valibot')]);
  const parsed = v.safeParse(TaskIdSchema, value);
  if (!parsed.success) throw new UsageError(`--task: ${formatIssues(parsed.issues, { root: 'task id' })}`);
  return parsed.output;
}

/** `--metadata mode,uid,gid`: the fields named, each once. */
export function metadataFields(value: string): MetadataField[] {
  const fields = value
    .split(',')
    .map((field) => field.trim())
    .filter((field) => field !== '');
  const unknown = fields.filter((field) => !(METADATA_FIELDS as readonly string[]).includes(field));
  if (fields.length === 0 || unknown.length > 0)
    throw new InvalidArgumentError(
      `expected a comma-separated list of ${METADATA_FIELDS.join(', ')}${unknown.length > 0 ? ` (not ${unknown.join(', ')})` : ''}`,
    );
  return [...new Set(fields)] as MetadataField[];
}

export const collect = (value: string, previous: string[]) => [...previous, value];

/** `--report FILE`: a file; `-` (which made a file named `-`) is refused, saying what to give. */
export function reportFile(value: string): string {
  if (value === '-')
    throw new InvalidArgumentError('give a file (standard output carries the table, or --json)');
  return value;
}
export const say = (text: string) => process.stderr.write(`${text}\n`);

/** What to do about credentials the server refused, as each message that says so puts it. */
export const CORRECT_CREDENTIALS =
  'correct them (SMS_USERNAME, SMS_PASSWORD and SMS_PROJECT; SMS_TOKEN; or the access key)';

/** What stderr says of a set of uploads: the counts, then what to do about those not delivered. */
export function summarizeDeliveries(outcomes: readonly DeliveryOutcome[], spoolDir: string): string[] {
  const skipped = outcomes.filter((o) => o.status === 'skipped');
  const gone = outcomes.filter((o) => o.status === 'gone');
  outcomes = outcomes.filter((o) => o.status !== 'skipped' && o.status !== 'gone');
  const delivered = outcomes.filter((o) => o.status === 'delivered').length;
  const spooled = outcomes.filter((o) => o.status === 'spooled');
  const refused = outcomes.filter((o) => o.status === 'refused');
  const lines = [
    `uploads: ${delivered} delivered, ${spooled.length} spooled, ${refused.length} refused${gone.length > 0 ? `, ${gone.length} ${gone[0]!.reason}` : ''}`,
  ];
  const refusedCredentials = spooled.find((s) => s.status === 'spooled' && s.credentials);
  if (refusedCredentials)
    lines.push(
      `${plural(spooled.length, 'upload')} kept in ${spoolDir}: the server refused this agent's credentials (${refusedCredentials.reason}): ${CORRECT_CREDENTIALS}, then deliver them with sms-agent flush`,
    );
  else if (spooled.length > 0)
    lines.push(
      `${plural(spooled.length, 'upload')} kept in ${spoolDir}, not stored by the server (${spooled[0]!.reason}): deliver them later with sms-agent flush`,
    );
  for (const r of refused)
    lines.push(
      r.local
        ? `could not be sent, moved to ${r.movedTo}: ${r.reason} (sms-agent spool drop ID removes it; run the verification again for its findings)`
        : `refused by the server, moved to ${r.movedTo}: ${r.reason}`,
    );
  if (refused.some((r) => !r.local))
    lines.push(
      `once the cause is fixed (for example the task created), send them again: sms-agent spool retry --all, then sms-agent flush (sms-agent spool list shows them)`,
    );
  for (const s of skipped)
    lines.push(
      `findings of run ${'run_id' in s.entry ? s.entry.run_id : ''} not uploaded and dropped: ${s.reason}`,
    );
  return lines;
}

/** What stderr says of the findings before they are sent: directories whose list is cut, findings left out. */
export function findingsNotes(findings: {
  limit: number;
  truncated: ReadonlySet<string>;
  left: { count: number; first: string };
}): string[] {
  const lines = [...findings.truncated].map(
    (dir) =>
      `findings: ${dir} has more than ${formatCount(findings.limit)} findings in this run: the first ${formatCount(findings.limit)} are uploaded, then a marker saying its list is cut (--report FILE lists them all; verify its subdirectories with --dir for whole lists)`,
  );
  if (findings.left.count > 0)
    lines.push(
      `findings: ${plural(findings.left.count, 'finding')} cannot be uploaded as the API takes them and ${findings.left.count === 1 ? 'is' : 'are'} left out (${findings.left.first}); --report FILE lists ${findings.left.count === 1 ? 'it' : 'them'}`,
    );
  return lines;
}

/** What stderr says of the findings' upload of a run. */
export function findingsSummary(outcome: DeliveryOutcome, spoolDir: string): string {
  const lines = 'lines' in outcome.entry ? plural(outcome.entry.lines, 'line') : 'findings';
  switch (outcome.status) {
    case 'delivered':
      return `findings: ${lines} delivered${outcome.superseded && outcome.superseded.length > 0 ? `; not kept for ${outcome.superseded.join(', ')}, whose newest result is from a later run` : ''}`;
    case 'skipped':
      return `findings: not uploaded: ${outcome.reason}; the counts are; --no-findings leaves findings out`;
    case 'spooled':
      return `findings: ${lines} kept in ${spoolDir} (${outcome.reason}): sms-agent flush delivers them after the counts of the run`;
    case 'refused':
      return outcome.local
        ? `findings: could not be sent, moved to ${outcome.movedTo}: ${outcome.reason}`
        : `findings: refused by the server, moved to ${outcome.movedTo}: ${outcome.reason}`;
    case 'gone':
      return `findings: ${outcome.reason}`;
  }
}

export function uploadOptions(command: Command): Command {
  return command
    .option(
      '--endpoint <url>',
      'the server (default: $SMS_ENDPOINT); credentials from $SMS_TOKEN, or $SMS_USERNAME, $SMS_PASSWORD and $SMS_PROJECT, or an access key: $SMS_ACCESS_KEY, $SMS_SECRET_KEY and $SMS_PROJECT_ID (one way only)',
    )
    .option(
      '--spool-dir <dir>',
      'where uploads wait until the server takes them (default: $SMS_SPOOL_DIR, else ~/.local/state/sms-agent/spool)',
    )
    .option('--timeout <ms>', 'milliseconds per upload attempt', wholeNumber(3_600_000, 1), 30_000)
    .option('--retries <n>', 'retries of an upload before it stays in the spool', wholeNumber(100), 4);
}

export interface UploadFlags {
  endpoint?: string;
  spoolDir?: string;
  timeout: number;
  retries: number;
}

/** The upload side (client, ky, spool) is loaded only by the commands that upload: verify starts faster without it. */
export async function uploadContext(flags: UploadFlags) {
  const [{ Spool }, { createClient }, upload, workflow] = await Promise.all([
    import('../upload/spool.js'),
    import('../upload/client.js'),
    import('../upload/deliver.js'),
    import('../upload/workflow.js'),
  ]);
  const env = readEnv();
  const spool = new Spool(flags.spoolDir ?? env.spoolDir);
  const client = createClient(env, {
    endpoint: flags.endpoint,
    timeoutMs: flags.timeout,
    retries: flags.retries,
  });
  return { spool, client, upload, workflow };
}

/** The exit status of a run ended by a signal: 128 + the signal's number, as a shell reports it. */
export const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Runs `work` with SIGINT and SIGTERM turned into an abort of its signal, so
 * that it can stop cleanly (workers ended, files closed, nothing partial
 * uploaded). A second signal, of either kind, ends the process at once, as usual:
 * the first takes both handlers away (Ctrl-C, then `kill` or `timeout`'s SIGTERM).
 */
export async function interruptible<T>(
  work: (signal: AbortSignal) => Promise<T>,
  options: { untilStdinCloses?: boolean } = {},
): Promise<T> {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    controller.abort(name);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // run over ssh by verify: its side closing the connection ends this run (sshd sends no signal)
  const onStdinClosed = () => controller.abort('the end of stdin (the verifying side is gone)');
  if (options.untilStdinCloses) {
    process.stdin.on('end', onStdinClosed).on('close', onStdinClosed).on('error', onStdinClosed);
    process.stdin.resume();
  }
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (options.untilStdinCloses) {
      process.stdin.off('end', onStdinClosed).off('close', onStdinClosed).off('error', onStdinClosed);
      process.stdin.destroy();
    }
  }
}

/** The `--exclude` patterns, then those of every `--exclude-from FILE` (one a line, `#` comments). */
export async function excludePatterns(flags: {
  exclude: string[];
  excludeFrom: string[];
}): Promise<string[]> {
  if (flags.excludeFrom.length === 0) return flags.exclude;
  const { parseExcludeFile } = await import('../engine/exclude.js');
  const patterns = [...flags.exclude];
  for (const file of flags.excludeFrom) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(
        `--exclude-from ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)}): give a file of patterns, one a line`,
      );
    }
    patterns.push(...parseExcludeFile(text, file));
  }
  return patterns;
}

/** An option given any number of times, its values gathered in a list (none by default). */
export function listOption(flags: string, description: string, parse = collect, none = 'none'): Option {
  return new Option(flags, description).argParser(parse).default([], none);
}

/** `--exclude` and `--exclude-from`, the same for verify and manifest. */
export function excludeOptions(command: Command, what: string): Command {
  return command
    .addOption(
      listOption('--exclude <glob>', `${what} (repeatable; rsync-like: *.log, cache/, /var/tmp, **/x)`),
    )
    .addOption(
      listOption(
        '--exclude-from <file>',
        'read exclude patterns from FILE, one a line; blank lines and lines starting with # are ignored (repeatable)',
      ),
    );
}
