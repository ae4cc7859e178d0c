import type { Command } from 'commander';
import { plural } from '../plural.js';
import type { SpoolEntry } from '../upload/spool.js';
import { say, UsageError } from './shared.js';

interface SpoolFlags {
  spoolDir?: string;
}

async function openSpool(flags: SpoolFlags) {
  const [{ Spool }, { readEnv }] = await Promise.all([import('../upload/spool.js'), import('../env.js')]);
  return new Spool(flags.spoolDir ?? readEnv().spoolDir);
}

const spoolDirOption = [
  '--spool-dir <dir>',
  'the spool (default: $SMS_SPOOL_DIR, else ~/.local/state/sms-agent/spool)',
] as const;

/** `sms-agent spool list|retry|drop`: see and act on the uploads that wait, and on those the server refused. */
export function registerSpool(program: Command): void {
  const spool = program
    .command('spool')
    .summary('see the uploads waiting in the spool, send refused ones again, or drop them')
    .description(
      'Every upload waits in the spool until the server stores it. One the server cannot take now\n' +
        '(unreachable, credentials refused) stays there for sms-agent flush; one it refuses for good\n' +
        '(400, 404, 409: for example an unknown task) is moved to spool/failed/ with the reason.\n' +
        'An upload is the counts of up to 30 directories, or the findings of a run (their lines in a\n' +
        '.ndjson file beside it), which are sent only after the counts of their run.',
    );

  spool
    .command('list')
    .summary('the waiting and the refused uploads, with their ids')
    .option(...spoolDirOption)
    .option('--json', 'print one JSON object: { pending: [...], failed: [...] }')
    .action(async (flags: SpoolFlags & { json?: boolean }) => {
      const s = await openSpool(flags);
      const pending = s.list();
      const failed = s.listFailed();
      const { describeEntry, entryInWords } = await import('../upload/spool.js');
      const row = (e: { entry: SpoolEntry }) => ({
        id: e.entry.idempotency_key,
        task_id: e.entry.task_id,
        created_at: e.entry.created_at,
        ...describeEntry(e.entry),
      });
      for (const b of [...pending.broken, ...failed.broken])
        say(`error: ${b.file} is not a readable spooled upload (${b.reason}); move it away or delete it`);
      // as flush: a file in the spool that is no upload is an error the operator must look at
      if (pending.broken.length + failed.broken.length > 0) process.exitCode = 2;
      if (flags.json) {
        const document = {
          spool_dir: s.dir,
          pending: pending.entries.map(row),
          failed: failed.entries.map((e) => ({ ...row(e), reason: e.reason })),
        };
        process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
        return;
      }
      const lines = [
        ...pending.entries.map(
          (e) =>
            `${e.entry.idempotency_key}  pending  task ${e.entry.task_id}  ${entryInWords(e.entry)}  ${e.entry.created_at}`,
        ),
        ...failed.entries.map(
          (e) =>
            `${e.entry.idempotency_key}  refused  task ${e.entry.task_id}  ${entryInWords(e.entry)}  ${e.entry.created_at}\n    ${e.reason}`,
        ),
      ];
      if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
      say(
        `${s.dir}${s.absence}: ${plural(pending.entries.length, 'upload')} waiting (sms-agent flush delivers them), ${failed.entries.length} refused (sms-agent spool retry ID|--all sends them again)`,
      );
    });

  spool
    .command('retry')
    .summary('move refused uploads back to the spool, for flush to send again (same idempotency key)')
    .argument('[id]', 'the upload (its id, or its first 8 or more characters), from sms-agent spool list')
    .option('--all', 'every refused upload')
    .option(...spoolDirOption)
    .action(async (id: string | undefined, flags: SpoolFlags & { all?: boolean }) => {
      if ((id === undefined) === !flags.all) throw new UsageError('give one upload ID or --all');
      const s = await openSpool(flags);
      let files: string[];
      if (flags.all) files = s.listFailed().entries.map((e) => e.file);
      else {
        const found = s.find(id!);
        if (!found.failed)
          throw new UsageError(
            `upload ${found.entry.idempotency_key} was not refused: it waits for sms-agent flush`,
          );
        files = [found.file];
      }
      for (const file of files) s.retry(file);
      say(
        files.length === 0
          ? `no refused uploads in ${s.dir}/failed`
          : `${plural(files.length, 'upload')} moved back to ${s.dir}: deliver ${files.length === 1 ? 'it' : 'them'} with sms-agent flush`,
      );
    });

  spool
    .command('drop')
    .summary('delete an upload from the spool for good (waiting or refused)')
    .argument('<id>', 'the upload (its id, or its first 8 or more characters), from sms-agent spool list')
    .option(...spoolDirOption)
    .action(async (id: string, flags: SpoolFlags) => {
      const s = await openSpool(flags);
      const found = s.find(id);
      const { entryInWords } = await import('../upload/spool.js');
      s.drop(found.file);
      say(
        `dropped upload ${found.entry.idempotency_key} (task ${found.entry.task_id}, ${entryInWords(found.entry)}, ${found.failed ? 'refused' : 'waiting'}): it will not be sent`,
      );
    });

  spool
    .command('show')
    .summary('one upload: what it holds, its run, its files and, if refused, why')
    .argument('<id>', 'the upload (its id, or its first 8 or more characters), from sms-agent spool list')
    .option(...spoolDirOption)
    .action(async (id: string, flags: SpoolFlags) => {
      const s = await openSpool(flags);
      const found = s.find(id);
      const { describeEntry, isFindingsEntry, linesFileOf } = await import('../upload/spool.js');
      const reason = found.failed
        ? s.listFailed().entries.find((e) => e.file === found.file)?.reason
        : undefined;
      const document = {
        id: found.entry.idempotency_key,
        status: found.failed ? 'refused' : 'pending',
        task_id: found.entry.task_id,
        created_at: found.entry.created_at,
        ...describeEntry(found.entry),
        file: found.file,
        ...(isFindingsEntry(found.entry)
          ? { lines_file: linesFileOf(found.file), directories_list: found.entry.directories }
          : { consistency_result: found.entry.consistency_result }),
        ...(reason === undefined ? {} : { reason }),
      };
      process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    });
}
