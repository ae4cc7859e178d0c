import type { Command } from 'commander';
import { Option } from 'commander';
import { parseRemoteTarget } from '../remote/target.js';
import {
  collect,
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
import { runVerification, targetOptions } from './verification.js';

export function registerVerify(program: Command): void {
  const command = uploadOptions(
    excludeOptions(
      program
        .command('verify')
        .summary('compare a source directory with its target; optionally upload the verdict')
        .description(
          'compare SRC with DST and count files: total, different, missing at the target, extra at the target.\n' +
            'A file is any entry that is not a directory (regular files, symbolic links, FIFOs, sockets, devices);\n' +
            'with --metadata, also a directory whose own mode or owner differs (counted different).\n' +
            'Exit status: 0 consistent, 1 inconsistencies found (when uploading: and every upload delivered);\n' +
            '2 a usage error, verification impossible, or an upload refused for good (see sms-agent spool list);\n' +
            '3 uploads kept in the spool for later (the server could not take them: sms-agent flush);\n' +
            '130 or 143 interrupted by SIGINT or SIGTERM (nothing uploaded, --report marked incomplete);\n' +
            '137 --io-timeout ran out with a thread stuck in a hung mount (the agent ended itself with SIGKILL).',
        )
        .requiredOption('--source <dir>', 'the migrated source directory')
        .option(
          '--target <dir>',
          'the target directory: mounted on this machine, or on another host over ssh as [user@]host:DIR or ssh://[user@]host[:port]/DIR (a local name with a colon: ./a:b)',
        )
        .option(
          '--ssh <command>',
          "a target over ssh: the ssh command to reach it, as rsync's -e (default: ssh; e.g. --ssh 'ssh -p 2222 -i KEY'); ~/.ssh/config, keys, the ssh agent and known hosts apply; to ssh itself (not a wrapper such as sshpass) the agent adds -T and -o ConnectTimeout=30, ServerAliveInterval=15, ServerAliveCountMax=4 and, when stdin is not a terminal, BatchMode=yes, after these options (which win)",
        )
        .option(
          '--remote-agent <path>',
          'a target over ssh: sms-agent on that host (default: sms-agent on its PATH; if none, a copy of this agent is run from a private temporary directory there and removed afterwards)',
        )
        .option(
          '--target-manifest <file>',
          'instead of --target: a manifest of the target made there with sms-agent manifest (.gz or plain)',
        )
        .addOption(
          listOption(
            '--dir <rel>',
            'verify SRC/REL against DST/REL, one result each (repeatable); an inner --dir of another is left out',
            collect,
            'SRC itself',
          ),
        )
        .addOption(
          new Option(
            '--mode <mode>',
            'quick: type, size and modification time; content: type, size and bytes',
          )
            .choices(['quick', 'content'])
            .default('quick'),
        )
        .option(
          '--modify-window <seconds>',
          "quick mode: times that differ by at most this many whole seconds are equal (rsync's; FAT keeps 2 s)",
          wholeNumber(1_000_000_000),
          0,
        )
        .addOption(
          listOption(
            '--metadata <list>',
            'also compare ownership and permissions (of files and of directories themselves): mode, uid, gid, comma-separated',
            metadataFields,
            'none, as the SMS agent',
          ),
        )

        .option(
          '--recheck',
          "after the walk, verify every file found different or missing once more and count only what still differs (the SMS agent's CONSISTENCY_RECHECK); files that matched the second time are reported as transient",
        )
        .option(
          '--recheck-delay <seconds>',
          'seconds to wait before the recheck (0 allowed)',
          wholeNumber(86_400),
          10,
        )
        .option('--io-timeout <seconds>', `stop with exit 2 ${IO_TIMEOUT_WHEN}`, wholeNumber(86_400), 0)
        .option('--json', 'print one JSON object on stdout; its consistency_result is the upload body')
        .option(
          '--report <file>',
          'write one NDJSON line per inconsistent path: category (different, missing, extra, error, transient), path, reason; a last line {"complete":true,"paths":N} when the verification ended, {"incomplete":true,…} if it was interrupted or failed',
          reportFile,
        )
        .option('--no-progress', 'no progress display (none is shown when stderr is not a terminal)')
        .option(
          '--workers <n>',
          'threads that read and compare, and that hash the source in content mode through a manifest or over ssh (0: none, all in this thread; default: the number of cores, at most 8, or 4 per core (8 to 16) when a side is on a network filesystem such as NFS, SMB or sshfs, where the work is waiting); over ssh in content mode, on the remote host too',
          wholeNumber(64),
        )
        .option(
          '--upload',
          'upload the results to the task given by --task: the counts, then the findings of the run (the lines --report writes; at most 1,000,000 per directory, then a marker saying the list is cut)',
        )
        .option('--task <id>', 'the task to upload to')
        .option(
          '--no-findings',
          'with --upload: upload the counts only, not the findings (for an SMS server without them)',
        ),
      'leave paths out on both sides',
    ),
  );
  command.action(async (flags) => {
    const excludes = await excludePatterns(flags);
    // options that change nothing here are said, not silently ignored
    if (command.getOptionValueSource('recheckDelay') === 'cli' && !flags.recheck)
      say('notice: --recheck-delay has no effect without --recheck');
    if (command.getOptionValueSource('modifyWindow') === 'cli' && flags.mode === 'content')
      say('notice: --modify-window has no effect in content mode, which compares bytes, not times');
    if (flags.upload && !flags.task) throw new UsageError('--upload needs --task ID');
    if (flags.task && !flags.upload) throw new UsageError('--task is only used with --upload');
    const remote = flags.target === undefined ? undefined : parseRemoteTarget(flags.target);
    if (!remote && (flags.ssh !== undefined || flags.remoteAgent !== undefined))
      throw new UsageError(
        `${flags.ssh !== undefined ? '--ssh' : '--remote-agent'} is for a --target on another host (host:DIR or ssh://host/DIR)`,
      );
    if (!flags.findings && !flags.upload)
      say('notice: --no-findings has no effect without --upload (findings are only uploaded)');
    // the upload options given on the command line, without --upload: nothing is uploaded
    const uploadOnly = ['endpoint', 'spoolDir', 'timeout', 'retries'].filter(
      (name) => command.getOptionValueSource(name) === 'cli',
    );
    if (uploadOnly.length > 0 && !flags.upload)
      say(
        `notice: ${uploadOnly.map((name) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} ${uploadOnly.length === 1 ? 'has' : 'have'} no effect without --upload (nothing is uploaded)`,
      );
    const task: string | undefined = flags.upload ? await taskId(flags.task) : undefined;
    const context = flags.upload ? await uploadContext(flags) : undefined;
    const outcome = await runVerification({
      engine: {
        source: flags.source,
        ...(flags.target === undefined ? {} : targetOptions(flags.target, remote, flags)),
        ...(flags.targetManifest === undefined ? {} : { targetManifest: flags.targetManifest }),
        dirs: flags.dir,
        mode: flags.mode,
        modifyWindow: flags.modifyWindow,
        recheck: flags.recheck ?? false,
        recheckDelaySeconds: flags.recheckDelay,
        metadata: flags.metadata,
        excludes,
        ...(flags.workers === undefined ? {} : { workers: flags.workers }),
      },
      reportFile: flags.report,
      output: flags.json ? 'json' : 'table',
      progress: flags.progress,
      upload: context && task ? { task, findings: flags.findings, context } : undefined,
      ioTimeoutSeconds: flags.ioTimeout,
    });
    process.exitCode = outcome.exitCode;
  });
}
