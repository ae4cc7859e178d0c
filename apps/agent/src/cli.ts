import { formatIssues, TaskIdSchema } from '@sms/domain';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import * as v from 'valibot';
import { readEnv } from './env.js';
import { createProgressLine, formatTable, ReportWriter, toJsonDocument } from './output.js';
import type { DeliveryOutcome } from './upload.js';
import { toConsistencyResult, verify } from './verify.js';
import { AGENT_VERSION } from './version.js';

/** Exit statuses: 0 consistent (or done), 1 inconsistencies found, 2 usage error or verification impossible. */
const EXIT = { consistent: 0, inconsistent: 1, error: 2 } as const;

class UsageError extends Error {}

function positiveInteger(max: number) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) > max)
      throw new InvalidArgumentError(`expected a whole number 0..${max}`);
    return Number(value);
  };
}

function taskId(value: string): string {
  const parsed = v.safeParse(TaskIdSchema, value);
  if (!parsed.success) throw new InvalidArgumentError(formatIssues(parsed.issues, { root: 'task id' }));
  return parsed.output;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const say = (text: string) => process.stderr.write(`${text}\n`);

function summarizeDeliveries(
  outcomes: DeliveryOutcome[],
  spoolDir: string,
): { ok: boolean; lines: string[] } {
  const delivered = outcomes.filter((o) => o.status === 'delivered').length;
  const kept = outcomes.filter((o) => o.status === 'kept');
  const failed = outcomes.filter((o) => o.status === 'failed');
  const lines = [
    `uploads: ${delivered} delivered, ${kept.length} kept in the spool, ${failed.length} refused`,
  ];
  if (kept.length > 0)
    lines.push(`kept in ${spoolDir} (${kept[0]!.reason}); deliver them later with: sms-agent flush`);
  for (const f of failed) lines.push(`refused by the server, moved to ${f.movedTo}: ${f.reason}`);
  return { ok: kept.length === 0 && failed.length === 0, lines };
}

function uploadOptions(command: Command): Command {
  return command
    .option(
      '--endpoint <url>',
      'the server (default: $SMS_ENDPOINT); credentials from $SMS_TOKEN, or $SMS_USERNAME, $SMS_PASSWORD and $SMS_PROJECT',
    )
    .option(
      '--spool-dir <dir>',
      'where uploads wait until the server takes them (default: $SMS_SPOOL_DIR, else ~/.local/state/sms-agent/spool)',
    )
    .option('--timeout <ms>', 'milliseconds per upload attempt', positiveInteger(3_600_000), 30_000)
    .option('--retries <n>', 'retries of an upload before it stays in the spool', positiveInteger(100), 4);
}

interface UploadFlags {
  endpoint?: string;
  spoolDir?: string;
  timeout: number;
  retries: number;
}

/** The upload side (client, ky, spool) is loaded only by the commands that upload: verify starts faster without it. */
async function uploadContext(flags: UploadFlags) {
  const [{ Spool }, upload] = await Promise.all([import('./spool.js'), import('./upload.js')]);
  const env = readEnv();
  const spool = new Spool(flags.spoolDir ?? env.spoolDir);
  const client = upload.createClient(env, {
    endpoint: flags.endpoint,
    timeoutMs: flags.timeout,
    retries: flags.retries,
  });
  return { spool, client, upload };
}

export function buildProgram(): Command {
  const program = new Command()
    .name('sms-agent')
    .description(
      'Verifies that a migration copied every file: compares a source directory with its target and uploads the verdict to an SMS server.',
    )
    .version(AGENT_VERSION)
    .showHelpAfterError('(run sms-agent --help for usage)')
    .exitOverride();

  uploadOptions(
    program
      .command('verify')
      .summary('compare a source directory with its target; optionally upload the verdict')
      .description(
        'compare SRC with DST and count files: total, different, missing at the target, extra at the target.\n' +
          'A file is any entry that is not a directory (regular files, symbolic links, FIFOs, sockets, devices).\n' +
          'Exit status: 0 consistent, 1 inconsistencies found, 2 usage error or verification impossible.',
      )
      .requiredOption('--source <dir>', 'the migrated source directory')
      .option('--target <dir>', 'the target directory (the same tree, mounted on this machine)')
      .option(
        '--target-manifest <file>',
        'instead of --target: a manifest of the target made there with sms-agent manifest (.gz or plain)',
      )
      .option(
        '--dir <rel>',
        'verify SRC/REL against DST/REL, one result each (repeatable); an inner --dir of another is left out',
        collect,
        [],
      )
      .addOption(
        new Option('--mode <mode>', 'quick: type, size and modification time; content: type, size and bytes')
          .choices(['quick', 'content'])
          .default('quick'),
      )
      .option(
        '--exclude <glob>',
        'leave paths out on both sides (repeatable; rsync-like: *.log, cache/, /var/tmp, **/x)',
        collect,
        [],
      )
      .option('--json', 'print one JSON object on stdout; its consistency_result is the upload body')
      .option('--report <file>', 'write one NDJSON line per inconsistent path (category, path, reason)')
      .option('--no-progress', 'no progress display (none is shown when stderr is not a terminal)')
      .option(
        '--workers <n>',
        'threads that read and compare (default: the number of cores, at most 8)',
        positiveInteger(64),
      )
      .option('--upload', 'upload the results to the task given by --task')
      .option('--task <id>', 'the task to upload to', taskId),
  ).action(async (flags) => {
    if (flags.upload && !flags.task) throw new UsageError('--upload needs --task ID');
    if (flags.task && !flags.upload) throw new UsageError('--task is only used with --upload');
    const uploading = flags.upload ? await uploadContext(flags) : undefined;
    const report = flags.report ? new ReportWriter(flags.report) : undefined;
    const progress = flags.progress && process.stderr.isTTY ? createProgressLine(process.stderr) : undefined;
    let result: Awaited<ReturnType<typeof verify>>;
    try {
      result = await verify({
        source: flags.source,
        ...(flags.target === undefined ? {} : { target: flags.target }),
        ...(flags.targetManifest === undefined ? {} : { targetManifest: flags.targetManifest }),
        dirs: flags.dir,
        mode: flags.mode,
        excludes: flags.exclude,
        report: report !== undefined,
        ...(flags.workers === undefined ? {} : { workers: flags.workers }),
        ...(progress ? { onProgress: (p) => progress.update(p) } : {}),
        ...(report ? { onEntries: (entries, dirChecks) => report.write(entries, dirChecks) } : {}),
      });
    } finally {
      progress?.done();
      report?.close();
    }
    for (const notice of result.notices) say(`notice: ${notice}`);
    for (const warning of result.warnings) say(`warning: ${warning}`);
    let upload: Record<string, unknown> | undefined;
    let uploadFailed = false;
    if (uploading) {
      const blocked = result.results.filter((r) => r.notUploadable);
      for (const r of blocked) say(`error: ${r.dirCheck} cannot be uploaded: ${r.notUploadable}`);
      if (blocked.length > 0) uploadFailed = true;
      else {
        const earlier = await uploading.upload.flushSpool(uploading.client, uploading.spool);
        if (earlier.outcomes.length > 0)
          say(
            `spool: ${summarizeDeliveries(earlier.outcomes, uploading.spool.dir).lines[0]} (earlier uploads)`,
          );
        const outcomes = await uploading.upload.uploadResults(
          uploading.client,
          uploading.spool,
          flags.task,
          result.results.map(toConsistencyResult),
        );
        const summary = summarizeDeliveries(outcomes, uploading.spool.dir);
        for (const line of summary.lines) say(line);
        uploadFailed = !summary.ok;
        upload = {
          task_id: flags.task,
          delivered: outcomes.filter((o) => o.status === 'delivered').length,
          pending: outcomes.filter((o) => o.status !== 'delivered').length,
        };
      }
    }
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(toJsonDocument(result, upload ? { upload } : {}), null, 2)}\n`);
    } else {
      process.stdout.write(`${formatTable(result)}\n`);
    }
    if (report) say(`report: ${report.lines} paths in ${report.file}`);
    if (uploadFailed && result.results.some((r) => r.notUploadable)) process.exitCode = EXIT.error;
    else process.exitCode = result.results.every((r) => r.consistent) ? EXIT.consistent : EXIT.inconsistent;
  });

  program
    .command('manifest')
    .summary('describe a tree in a manifest, to verify a target this machine cannot mount')
    .description(
      'write a manifest of DIR (NDJSON; gzipped when FILE ends in .gz): run it on the target, copy the file,\n' +
        'then sms-agent verify --source SRC --target-manifest FILE counts as against a mounted target.\n' +
        'Content mode records a SHA-256 of every regular file.',
    )
    .argument('<dir>', 'the directory to describe (the target of a migration)')
    .addOption(
      new Option('--mode <mode>', 'quick: sizes and times; content: also SHA-256 hashes')
        .choices(['quick', 'content'])
        .default('quick'),
    )
    .option('-o, --output <file>', 'where to write it (.gz: gzipped; default: stdout)', '-')
    .option('--exclude <glob>', 'leave paths out (repeatable, as for verify)', collect, [])
    .option('--no-progress', 'no progress display (none is shown when stderr is not a terminal)')
    .action(async (dir: string, flags) => {
      const { resolve } = await import('node:path');
      const { statSync } = await import('node:fs');
      const { writeManifest } = await import('./engine/manifest.js');
      const root = resolve(dir);
      let isDir = false;
      try {
        isDir = statSync(root).isDirectory();
      } catch {}
      if (!isDir) throw new UsageError(`${root} is not a directory`);
      const progress =
        flags.progress && process.stderr.isTTY ? createProgressLine(process.stderr) : undefined;
      try {
        const written = await writeManifest(root, {
          mode: flags.mode,
          excludes: flags.exclude,
          output: flags.output,
          ...(progress ? { onProgress: (p) => progress.update(p) } : {}),
        });
        progress?.done();
        say(
          `manifest of ${root}: ${written.files} files in ${written.directories} directories (${flags.mode})${flags.output === '-' ? '' : ` in ${flags.output}`}`,
        );
      } finally {
        progress?.done();
      }
    });

  uploadOptions(
    program
      .command('upload')
      .summary('upload a saved verify --json result')
      .description('upload a result saved with verify --json (in uploads of at most 30 directories)')
      .requiredOption('--task <id>', 'the task to upload to', taskId)
      .argument('<result.json>', 'the output of sms-agent verify --json'),
  ).action(async (file: string, flags) => {
    const results = (await import('./consistency-file.js')).read(file);
    const { spool, client, upload } = await uploadContext(flags);
    const outcomes = await upload.uploadResults(client, spool, flags.task, results);
    const summary = summarizeDeliveries(outcomes, spool.dir);
    for (const line of summary.lines) say(line);
    process.exitCode = summary.ok ? EXIT.consistent : EXIT.error;
  });

  uploadOptions(
    program
      .command('flush')
      .summary('deliver the spooled uploads')
      .description(
        'deliver the uploads waiting in the spool (each with the idempotency key it was spooled with)',
      ),
  ).action(async (flags) => {
    const { spool, client, upload } = await uploadContext(flags);
    const { outcomes, broken } = await upload.flushSpool(client, spool);
    for (const b of broken)
      say(`error: ${b.file} is not a readable spooled upload (${b.reason}); it was left in place`);
    if (outcomes.length === 0 && broken.length === 0) say(`nothing to deliver in ${spool.dir}`);
    else for (const line of summarizeDeliveries(outcomes, spool.dir).lines) say(line);
    process.exitCode =
      outcomes.every((o) => o.status === 'delivered') && broken.length === 0 ? EXIT.consistent : EXIT.error;
  });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0
      process.exitCode = error.exitCode === 0 ? 0 : EXIT.error;
      return;
    }
    // errors the user can fix: their message says what to do, no stack
    const expected = ['VerifyError', 'UploadConfigError', 'ResultFileError', 'ManifestError'];
    if (error instanceof UsageError || (error instanceof Error && expected.includes(error.name))) {
      say(`sms-agent: ${error.message}`);
      process.exitCode = EXIT.error;
      return;
    }
    const code = (error as NodeJS.ErrnoException).code;
    say(`sms-agent: ${code ? `${code}: ` : ''}${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = EXIT.error;
  }
}
