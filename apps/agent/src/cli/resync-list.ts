import type { Command } from 'commander';
import { formatCount, plural } from '../plural.js';
import { OutputError, say, UsageError } from './shared.js';

const CATEGORIES = 'different, missing, extra, error, transient';

/** `sms-agent resync-list REPORT`: the paths to copy again, from a --report file, for rsync --files-from. */
export function registerResyncList(program: Command): void {
  program
    .command('resync-list')
    .summary('turn a --report file into the list of paths to copy again, for rsync --files-from')
    .description(
      'write on stdout the paths of REPORT (a file written by sms-agent verify --report) to copy again, relative to\n' +
        'their directory, one a line (or NUL-separated with --null), as the server exports them\n' +
        '(GET …/consistency-result/files?format=files-from); rsync -a keeps the times that quick mode compares,\n' +
        '-I copies each listed file whatever its size and time (content mode finds some whose size and time match):\n' +
        '  sms-agent resync-list --null report.ndjson > list && rsync -a -I --from0 --files-from=list SRC/ DST/\n' +
        'Exit status: 0 the list was written (warnings on stderr), 2 a bad file or option.',
    )
    .argument('<report>', 'the file written by sms-agent verify --report')
    .option('--null', 'end each path with NUL instead of a newline (rsync --from0), which names every path')
    .option(
      '--dir-check <dir>',
      'the verified directory whose paths to list (needed when the report holds more than one)',
    )
    .option(
      '--category <list>',
      `the categories to list, comma-separated, of ${CATEGORIES}`,
      (value: string) => value,
      'different,missing',
    )
    .action(async (report: string, flags: { null?: boolean; dirCheck?: string; category: string }) => {
      const [{ writeResyncList }, { FindingCategoryListSchema }, v] = await Promise.all([
        import('../resync-list.js'),
        import('@sms/domain'),
        import('valibot'),
      ]);
      const categories = v.safeParse(FindingCategoryListSchema, flags.category);
      if (!categories.success)
        throw new UsageError(
          `--category ${flags.category}: expected a comma-separated list of ${CATEGORIES}`,
        );
      const write = (chunk: Uint8Array) =>
        new Promise<void>((resolve, reject) =>
          // a failed write is said once, by the standard output's own handler (main.ts)
          process.stdout.write(chunk, (error) => (error ? reject(new OutputError()) : resolve())),
        );
      const summary = await writeResyncList(
        report,
        { nul: flags.null ?? false, dirCheck: flags.dirCheck, categories: categories.output },
        write,
      );
      if (summary.incomplete !== undefined)
        say(
          `warning: ${report} is incomplete (${summary.incomplete}): the list holds only what was found before the verification stopped; verify again for a whole list`,
        );
      if (summary.notWhole?.kind === 'unended')
        say(
          `warning: ${report} does not end with the line {"complete":true,…} that a verification writes when it ends: it was cut (the agent killed, the machine stopped, the disk full), is still being written, or an older sms-agent wrote it; the list may lack paths: verify again for a whole list`,
        );
      else if (summary.notWhole?.kind === 'count')
        say(
          `warning: ${report} ends saying it lists ${plural(summary.notWhole.said, 'path')} but holds ${formatCount(summary.notWhole.held)}: it was cut, edited or joined to another; the list may lack paths: verify again for a whole list`,
        );
      if (summary.dirCheck !== undefined && !summary.directories.includes(summary.dirCheck))
        say(
          `warning: ${report} has no findings of ${summary.dirCheck}${summary.directories.length > 0 ? ` (it has: ${summary.directories.join(', ')})` : ''}: the list is empty (nothing to copy again if that directory was consistent; else check the name)`,
        );
      for (const dir of summary.truncated)
        say(
          `warning: the findings of ${dir} were cut: the list lacks the rest; verify its subdirectories with --dir`,
        );
      if (summary.withNewline > 0)
        say(
          `warning: ${plural(summary.withNewline, 'path')} with a newline in ${summary.withNewline === 1 ? 'its name was' : 'their names were'} left out (a list of lines cannot name ${summary.withNewline === 1 ? 'it' : 'them'}): use --null, and rsync --from0`,
        );
      // entries the agent could not read count as different: the default list would leave them out unsaid
      if (summary.errorsLeftOut > 0)
        say(
          `warning: ${plural(summary.errorsLeftOut, 'path')} of category error (could not be read, and counted as different; or vanished) left out: --category ${[...categories.output, 'error'].join(',')} adds ${summary.errorsLeftOut === 1 ? 'it' : 'them'} (rsync can copy only what its user can read)`,
        );
      say(
        `resync-list: ${plural(summary.entries, 'path')} of ${summary.dirCheck ?? 'no directory'} (${categories.output.join(', ')})`,
      );
    });
}
