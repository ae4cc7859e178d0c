import { createReadStream, statSync } from 'node:fs';
import {
  type FindingCategory,
  FindingsLineSchema,
  formatIssues,
  isTruncationMarker,
  resyncEntry,
} from '@sms/domain';
import * as v from 'valibot';
import { readline } from './builtins.js';

/** A report that cannot be turned into a list: the message names the file, the line and what to do. */
export class ReportFileError extends Error {
  override name = 'ReportFileError';
}

export interface ResyncOptions {
  /** NUL-separated entries (`rsync --from0`) instead of one path a line. */
  nul: boolean;
  /** The directory whose paths are listed; needed when the report holds more than one. */
  dirCheck?: string | undefined;
  categories: readonly FindingCategory[];
}

export interface ResyncSummary {
  entries: number;
  /** Paths left out of a list of lines because their names hold a newline. */
  withNewline: number;
  /** The reason of the report's `{"incomplete":true,…}` line, if it has one. */
  incomplete?: string;
  /**
   * A report that does not end with its `{"complete":true,"paths":N}` line (and is not marked
   * incomplete): `unended` (cut by SIGKILL, the machine stopping, or still being written), or
   * `count` (its end line counts other than the findings it holds: cut, edited or joined).
   */
  notWhole?: { kind: 'unended' } | { kind: 'count'; said: number; held: number };
  /** Directories whose findings were cut (truncation markers). */
  truncated: string[];
  /** The directory listed. */
  dirCheck: string | undefined;
  /** The directories of the report. */
  directories: string[];
  /** `error` findings of the directory left out by the categories (unreadable, counted as different; or vanished). */
  errorsLeftOut: number;
}

type ReportLine =
  | { kind: 'line'; value: v.InferOutput<typeof FindingsLineSchema> }
  | { kind: 'incomplete'; reason: string }
  | { kind: 'complete'; paths: number | undefined };

/** The lines of a `--report` file, checked one by one; a bad one is a `ReportFileError` naming it. */
async function* readReport(file: string): AsyncGenerator<ReportLine> {
  const input = createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (error) {
    throw new ReportFileError(
      `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}): give the file written by sms-agent verify --report FILE`,
    );
  }
  let number = 0;
  for await (const text of readline().createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    number++;
    if (text.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ReportFileError(
        `${file} line ${number} is not JSON (${error instanceof Error ? error.message : String(error)}): give a file written by sms-agent verify --report FILE`,
      );
    }
    // the report's end line, if this is one: `incomplete` (with its reason) or `complete` (with its count)
    const end = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : undefined;
    if (end?.incomplete === true) {
      yield { kind: 'incomplete', reason: String(end.reason ?? 'no reason given') };
      continue;
    }
    if (end?.complete === true) {
      const { paths } = end;
      // an end line without a count (edited by hand) does not say the report is whole
      yield {
        kind: 'complete',
        paths: typeof paths === 'number' && Number.isSafeInteger(paths) && paths >= 0 ? paths : undefined,
      };
      continue;
    }
    const parsed = v.safeParse(FindingsLineSchema, json);
    if (!parsed.success)
      throw new ReportFileError(
        `${file} line ${number} is not a finding of sms-agent verify --report: ${formatIssues(parsed.issues, { root: 'line' })}`,
      );
    yield { kind: 'line', value: parsed.output };
  }
}

/**
 * Writes the re-sync list of a `--report` file through `write`: the paths of
 * the chosen categories of one directory, relative to it, as the server's
 * `format=files-from` export writes them (`resyncEntry` of `@sms/domain`).
 * The file is read twice (first to check it and find its directories), never
 * held in memory.
 */
export async function writeResyncList(
  file: string,
  options: ResyncOptions,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<ResyncSummary> {
  // read twice (the directories first): a pipe would give its lines to the first reading only
  let regular = true;
  try {
    regular = statSync(file).isFile();
  } catch {
    // one that cannot be read is said by readReport, with the reason
  }
  if (!regular)
    throw new ReportFileError(
      `${file} is not a file (a pipe?): resync-list reads the report twice; give the file written by sms-agent verify --report FILE`,
    );
  const directories = new Set<string>();
  let incomplete: string | undefined;
  // whether the last line is the end line a verification writes once it ended, and what it counts
  let ended: number | undefined;
  let held = 0;
  for await (const line of readReport(file)) {
    ended = line.kind === 'complete' ? line.paths : undefined;
    if (line.kind === 'incomplete') incomplete = line.reason;
    else if (line.kind === 'line') {
      held++;
      directories.add(line.value.dir_check);
    }
  }
  const notWhole: ResyncSummary['notWhole'] =
    incomplete !== undefined
      ? undefined
      : ended === undefined
        ? { kind: 'unended' }
        : ended !== held
          ? { kind: 'count', said: ended, held }
          : undefined;
  if (options.dirCheck === undefined && directories.size > 1) {
    throw new ReportFileError(
      `${file} holds findings of ${directories.size} directories (${[...directories].join(', ')}): name one with --dir-check DIR, as rsync copies into one destination at a time`,
    );
  }
  // `/srv/data/` names `/srv/data`, as a shell's completion writes it (and the other way round: a
  // directory verified as `/d/` is named so in its findings); one the report does not name is a
  // consistent directory, or a typo: an empty list, with a warning (cli/resync-list.ts)
  const given = options.dirCheck;
  const stripped = given === undefined || given === '/' ? given : given.replace(/\/+$/, '');
  const named =
    given === undefined || directories.has(given)
      ? given
      : stripped !== undefined && directories.has(stripped)
        ? stripped
        : ([...directories].find((d) => d.replace(/\/+$/, '') === stripped) ?? given);
  const dirCheck = named ?? [...directories][0];
  const summary: ResyncSummary = {
    entries: 0,
    withNewline: 0,
    truncated: [],
    dirCheck,
    directories: [...directories],
    errorsLeftOut: 0,
    ...(incomplete === undefined ? {} : { incomplete }),
    ...(notWhole === undefined ? {} : { notWhole }),
  };
  let chunk: Uint8Array[] = [];
  let size = 0;
  for await (const line of readReport(file)) {
    if (line.kind !== 'line' || line.value.dir_check !== dirCheck) continue;
    const finding = line.value;
    if (isTruncationMarker(finding)) {
      summary.truncated.push(finding.dir_check);
      continue;
    }
    if (!options.categories.includes(finding.category)) {
      if (finding.category === 'error') summary.errorsLeftOut++;
      continue;
    }
    const entry = resyncEntry(finding, options.nul);
    if (entry === undefined) {
      summary.withNewline++;
      continue;
    }
    summary.entries++;
    chunk.push(entry);
    size += entry.length;
    if (size >= 64 * 1024) {
      await write(Buffer.concat(chunk));
      chunk = [];
      size = 0;
    }
  }
  if (chunk.length > 0) await write(Buffer.concat(chunk));
  return summary;
}
