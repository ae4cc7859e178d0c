import type { Command } from 'commander';
import { Option } from 'commander';
import {
  excludeOptions,
  excludePatterns,
  IO_TIMEOUT_WHEN,
  listOption,
  metadataFields,
  reportFile,
  say,
  taskId,
  UsageError,
  uploadContext,
  uploadOptions,
  wholeNumber,
} from './shared.js';
import { readTaskRun } from './task-run.js';
import { runVerification } from './verification.js';

export function registerRun(program: Command): void {
  const command = uploadOptions(
    excludeOptions(
      program
        .command('run')
        .summary('verify a task as its configuration on the server says, and upload the verdict')
        .description(
          "read the task's configuration from the server and verify as it says: each\n" +
            'directory D of CONSISTENCY_DIR as SOURCE+D against TARGET+D (CONSISTENCY_SOURCE,\n' +
            'default /, and CONSISTENCY_TARGET), its result named D as the SMS agent names\n' +
            'it, with CONSISTENCY_MODE, CONSISTENCY_RECHECK, CONSISTENCY_EXCLUDE and\n' +
            'CONSISTENCY_METADATA; then upload the counts and findings as verify --upload.\n' +
            "An option given here replaces the task's value, and a notice says so.\n" +
            'Exit status as verify --upload: 0 consistent, 1 inconsistent (every upload\n' +
            'delivered); 2 a usage error, a configuration that cannot be run (a key missing\n' +
            'or unreadable: the message names it) or an upload refused for good; 3 uploads\n' +
            'kept in the spool (sms-agent flush); 130 or 143 interrupted; 137 --io-timeout\n' +
            'ran out with a thread stuck in a hung mount.',
        )
        .requiredOption('--task <id>', 'the task to verify and upload to')
        .option(
          '--source <dir>',
          "instead of CONSISTENCY_SOURCE: where the source server's / is here (default /)",
        )
        .option(
          '--target <dir>',
          "instead of CONSISTENCY_TARGET: where the target's / is: a directory here, or [user@]host:DIR or ssh://[user@]host[:port]/DIR",
        )
        .addOption(
          listOption(
            '--dir <dir>',
            'instead of CONSISTENCY_DIR: a directory to verify, absolute as on the source server, e.g. /root/data (repeatable)',
          ),
        )
        .addOption(
          new Option('--mode <mode>', 'instead of CONSISTENCY_MODE: quick or content').choices([
            'quick',
            'content',
          ]),
        )
        .option('--recheck', 'instead of CONSISTENCY_RECHECK: verify what differed once more after the walk')
        .option('--no-recheck', 'instead of CONSISTENCY_RECHECK: no recheck')
        .option(
          '--metadata <list>',
          'instead of CONSISTENCY_METADATA: mode, uid, gid, comma-separated',
          metadataFields,
        )
        .option('--ssh <command>', 'a target over ssh: the ssh command to reach it (as verify --ssh)')
        .option(
          '--remote-agent <path>',
          'a target over ssh: sms-agent on that host (as verify --remote-agent)',
        )
        .option('--workers <n>', 'threads that read and compare (as verify --workers)', wholeNumber(64))
        .option('--io-timeout <seconds>', `stop with exit 2 ${IO_TIMEOUT_WHEN}`, wholeNumber(86_400), 0)
        .option(
          '--report <file>',
          'write one NDJSON line per inconsistent path (as verify --report)',
          reportFile,
        )
        .option('--json', 'print one JSON object on stdout (as verify --json)')
        .option('--no-progress', 'no progress display (none is shown when stderr is not a terminal)')
        .option('--no-findings', 'upload the counts only, not the findings'),
      'instead of CONSISTENCY_EXCLUDE: leave paths out on both sides',
    ),
  );
  command.action(async (flags) => {
    const task = await taskId(flags.task);
    for (const dir of flags.dir as string[])
      if (!dir.startsWith('/'))
        throw new UsageError(
          `--dir ${dir}: give the directory as the task names it, absolute on the source server (e.g. /root/data); --source says where that server's / is here`,
        );
    const given = (name: string) => command.getOptionValueSource(name) === 'cli';
    const excludes = given('exclude') || given('excludeFrom') ? await excludePatterns(flags) : undefined;
    const context = await uploadContext(flags);
    const { plan, notices } = await readTaskRun(
      task,
      {
        source: flags.source,
        target: flags.target,
        dirs: flags.dir.length > 0 ? flags.dir : undefined,
        mode: flags.mode,
        recheck: flags.recheck,
        excludes,
        metadata: flags.metadata,
      },
      {
        ssh: flags.ssh,
        remoteAgent: flags.remoteAgent,
        workers: flags.workers,
        ioTimeoutSeconds: flags.ioTimeout,
        reportFile: flags.report,
        output: flags.json ? 'json' : 'table',
        progress: flags.progress,
        findings: flags.findings,
      },
      context,
    );
    for (const notice of notices) say(`notice: ${notice}`);
    process.exitCode = (await runVerification(plan)).exitCode;
  });
}
