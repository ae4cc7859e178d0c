import { statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { type Command, Option } from 'commander';
import { InterruptedError } from '../engine/interrupt.js';
import { DEFAULT_MANIFEST_HASH, MANIFEST_HASHES } from '../engine/manifest/hash.js';
import { createProgressLine } from '../output.js';
import { plural } from '../plural.js';
import { REMOTE_HEARTBEAT } from '../remote/heartbeat.js';
import {
  collect,
  EXIT,
  excludeOptions,
  excludePatterns,
  interruptible,
  listOption,
  SIGNAL_EXIT,
  say,
  UsageError,
  wholeNumber,
} from './shared.js';

export function registerManifest(program: Command): void {
  excludeOptions(
    program
      .command('manifest')
      .summary('describe a tree in a manifest, to verify a target this machine cannot mount')
      .description(
        'write a manifest of DIR (NDJSON; gzipped when FILE ends in .gz): run it on the target, copy the file,\n' +
          'then sms-agent verify --source SRC --target-manifest FILE counts as against a mounted target.\n' +
          'Content mode records a hash of every regular file (xxh128, as rsync -c; --hash sha256 for a strong one).',
      )
      .argument('<dir>', 'the directory to describe (the target of a migration)')
      .addOption(
        new Option('--mode <mode>', 'quick: sizes and times; content: also a hash of each file')
          .choices(['quick', 'content'])
          .default('quick'),
      )
      .addOption(
        new Option(
          '--hash <algorithm>',
          "content mode's hash: xxh128 (XXH3 128-bit, as rsync -c; finds any accidental change, about 7x faster) or sha256 (also against someone who could write the target)",
        )
          .choices([...MANIFEST_HASHES])
          .default(DEFAULT_MANIFEST_HASH),
      )
      .addOption(
        listOption(
          '--dir <rel>',
          'describe only DIR/REL and what is under it (repeatable; excludes match below each, as for verify --dir); one that is not a directory gets no block, so verify counts its files as missing',
          collect,
          'DIR itself',
        ),
      )
      .option(
        '-o, --output <file>',
        'where to write it (.gz: gzipped; default: stdout); written as FILE.partial and renamed once complete',
        '-',
      )

      .option('--no-progress', 'no progress display (none is shown when stderr is not a terminal)')
      .option(
        '--workers <n>',
        'threads that list, stat and hash ahead while the manifest is written in order (0: none, all in this thread; default: in content mode the number of cores, at most 8; on a network filesystem 4 per core (8 to 16); else none: stat calls on a local disk gain little from threads)',
        wholeNumber(64),
      )
      .addOption(
        // set by verify over ssh, which ends the run by closing the connection
        new Option('--until-stdin-closes', 'stop (as interrupted) when stdin closes').hideHelp(),
      )
      .addOption(
        // set by verify over ssh with --io-timeout: a line on stderr four times a second while the work moves
        new Option(
          '--heartbeat',
          `write "${REMOTE_HEARTBEAT}" on stderr four times a second while the work moves`,
        ).hideHelp(),
      ),
    'leave paths out (as for verify)',
  ).action(async (dir: string, flags) => {
    const { writeManifest, writesThroughRename } = await import('../engine/manifest/write.js');
    const { normalizeDirs } = await import('../verify.js');
    const root = resolve(dir);
    const excludes = await excludePatterns(flags);
    const notices: string[] = [];
    // the manifest names directories with '/'
    const dirs =
      flags.dir.length > 0
        ? normalizeDirs(root, flags.dir, notices).map((d) => d.split(sep).join('/'))
        : undefined;
    for (const notice of notices) say(`notice: ${notice}`);
    let isDir = false;
    try {
      isDir = statSync(root).isDirectory();
    } catch {}
    // with --dir, a missing DIR is said per directory (verify over ssh counts their files as missing)
    if (!isDir && !dirs) throw new UsageError(`${root} is not a directory`);
    const progress = flags.progress && process.stderr.isTTY ? createProgressLine(process.stderr) : undefined;
    try {
      const written = await interruptible(
        (signal) =>
          writeManifest(root, {
            mode: flags.mode,
            hash: flags.hash,
            excludes,
            output: flags.output,
            signal,
            ...(dirs ? { dirs } : {}),
            ...(flags.workers === undefined ? {} : { workers: flags.workers }),
            ...(progress ? { onProgress: (p) => progress.update(p) } : {}),
            ...(flags.heartbeat ? { heartbeat: () => process.stderr.write(`${REMOTE_HEARTBEAT}\n`) } : {}),
          }),
        { untilStdinCloses: flags.untilStdinCloses ?? false },
      );
      progress?.done();
      for (const rel of written.absent)
        say(`notice: ${resolve(root, rel)} is not a directory: the manifest has no block for it`);
      say(
        `manifest of ${root}: ${plural(written.files, 'file')} in ${plural(written.directories, 'directory', 'directories')} (${flags.mode})${flags.output === '-' ? '' : ` in ${flags.output}`}`,
      );
    } catch (error) {
      if (!(error instanceof InterruptedError)) throw error;
      progress?.done();
      say(
        `sms-agent: ${error.message}: the manifest is not complete${flags.output === '-' ? ' (what went to stdout has no end record, so verify refuses it)' : !writesThroughRename(flags.output) ? ` (what went to ${flags.output} has no end record, so verify refuses it)` : `; nothing was written to ${flags.output}`}`,
      );
      process.exitCode = SIGNAL_EXIT[error.signal] ?? EXIT.error;
    } finally {
      progress?.done();
    }
  });
}
