import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConsistencyResult } from '@sms/domain';
import { describeError } from './engine/listing.js';
import { displayPath, isUtf8 } from './engine/paths.js';
import type { Progress, ReportEntry } from './engine/types.js';
import { formatCount, plural } from './plural.js';
import { toConsistencyResult } from './upload/results.js';
import type { DirectoryResult, VerifyResult } from './verify.js';

function verdict(result: DirectoryResult): string {
  return result.consistent ? 'CONSISTENT' : 'INCONSISTENT';
}

/**
 * The readable table: one row per verified directory, the inconsistent ones
 * first (in the order given), then one summary line.
 */
export function formatTable(result: VerifyResult): string {
  const ordered = [
    ...result.results.filter((r) => !r.consistent),
    ...result.results.filter((r) => r.consistent),
  ];
  const rows = ordered.map((r) => [
    r.dirCheck,
    formatCount(r.counts.total),
    formatCount(r.counts.different),
    formatCount(r.counts.missing),
    formatCount(r.counts.extra),
    formatCount(r.unreadable),
    verdict(r),
  ]);
  const header = ['DIRECTORY', 'TOTAL', 'DIFFERENT', 'MISSING', 'EXTRA', 'UNREADABLE', 'VERDICT'];
  const last = header.length - 1;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 || i === last ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const sum = (key: keyof DirectoryResult['counts']) =>
    result.results.reduce((acc, r) => acc + r.counts[key], 0);
  const inconsistent = result.results.filter((r) => !r.consistent).length;
  const unreadable = result.results.reduce((acc, r) => acc + r.unreadable, 0);
  const transient = result.results.reduce((acc, r) => acc + r.transient, 0);
  const summary =
    `${plural(result.results.length, 'directory', 'directories')} verified (${result.mode}) in ${(result.durationMs / 1000).toFixed(2)} s: ` +
    `${result.results.length - inconsistent} consistent, ${inconsistent} inconsistent; ` +
    `${plural(sum('total'), 'file')}, ${formatCount(sum('different'))} different, ${formatCount(sum('missing'))} missing, ${formatCount(sum('extra'))} extra` +
    (unreadable > 0 ? `; ${formatCount(unreadable)} could not be read` : '') +
    (transient > 0 ? `; ${formatCount(transient)} transient (equal on the recheck, not counted)` : '');
  return [line(header), ...rows.map(line), '', summary].join('\n');
}

/**
 * The `--json` document: `consistency_result` is exactly the upload body's
 * array; the rest says how the verification went.
 */
export function toJsonDocument(result: VerifyResult, extra: Record<string, unknown> = {}) {
  return {
    consistency_result: result.results.map(toConsistencyResult) satisfies ConsistencyResult[],
    consistent: result.results.every((r) => r.consistent),
    mode: result.mode,
    directories: result.results.map((r) => ({
      dir_check: r.dirCheck,
      source: r.source,
      target: r.target,
      verdict: verdict(r),
      unreadable: r.unreadable,
      transient: r.transient,
      ...(r.notUploadable ? { not_uploadable: r.notUploadable } : {}),
    })),
    notices: result.notices,
    warnings: result.warnings,
    duration_ms: Math.round(result.durationMs),
    entries_seen: result.entriesSeen,
    bytes_compared: result.bytesCompared,
    ...extra,
  };
}

/** One line of the report, and one finding of the upload: the entry with its directory and its path's bytes. */
export function findingOf(entry: ReportEntry, dirChecks: readonly string[]) {
  return {
    dir_check: dirChecks[entry.root]!,
    category: entry.category,
    // the verified directory itself (its own mode or owner, or not listable): `.`, as the API names
    // it (the domain's DIR_CHECK_ITSELF, not imported here: the domain loads valibot, which verify
    // does not need to start; a test holds the two equal)
    path: entry.path.length === 0 ? '.' : displayPath(entry.path),
    ...(isUtf8(entry.path) ? {} : { path_base64: entry.path.toString('base64') }),
    // as the API keeps it (the domain's FindingLimits.reasonMaxLength; a test holds the two equal):
    // a report is a file of findings that resync-list reads, and a link's two long targets made more
    reason: cutReason(entry.reason),
  };
}

/** A reason cut to `REASON_MAX_LENGTH` UTF-16 units, never between the two halves of a character. */
export function cutReason(reason: string): string {
  if (reason.length <= REASON_MAX_LENGTH) return reason;
  const last = reason.charCodeAt(REASON_MAX_LENGTH - 1);
  return reason.slice(0, last >= 0xd800 && last <= 0xdbff ? REASON_MAX_LENGTH - 1 : REASON_MAX_LENGTH);
}

/** The longest reason a finding has (the domain's `FindingLimits.reasonMaxLength`). */
export const REASON_MAX_LENGTH = 1024;

/**
 * `--report FILE`: one NDJSON line per inconsistent path, written as they are
 * found: `dir_check`, `category` (different, missing, extra, error, transient), `path`
 * (relative; bytes that are not UTF-8 as `\xNN`), `path_base64` (the exact
 * bytes, only when they are not UTF-8) and `reason`.
 */
export class ReportWriter {
  private handle: number | undefined;
  lines = 0;

  /** The file is opened (and emptied) by `open`, once the run's arguments have been checked. */
  constructor(readonly file: string) {
    this.path = resolve(file);
  }

  /** Where it is opened: absolute, as it was given (a walk may have moved the working directory since, engine/cwd.ts). */
  private readonly path: string;

  open(): void {
    this.handle ??= this.io(() => openSync(this.path, 'w'));
  }

  /** A report that cannot be written ends the run with an error that names it (a full disk, say). */
  private io<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const fix =
        code === 'ENOSPC' || code === 'EDQUOT'
          ? 'free space there, or give --report a file on another filesystem'
          : 'give --report a file in a directory that exists and that this user can write to';
      throw new Error(`cannot write the report ${this.file}: ${describeError(error)}: ${fix}`);
    }
  }

  /** Writes to the report (opened first if it was not: its own error, said once). */
  private append(text: string): void {
    const fd = this.fd;
    this.io(() => writeSync(fd, text));
  }

  private get fd(): number {
    this.open();
    return this.handle!;
  }

  write(entries: readonly ReportEntry[], dirChecks: readonly string[]): void {
    if (entries.length === 0) return;
    const text = entries.map((e) => JSON.stringify(findingOf(e, dirChecks))).join('\n');
    this.append(`${text}\n`);
    this.lines += entries.length;
  }

  /**
   * Ends the report with a line saying it is incomplete, so that nobody reads
   * a report cut short by a signal as the whole list:
   * `{"incomplete":true,"reason":"interrupted by SIGINT …"}`.
   */
  markIncomplete(reason: string): void {
    this.append(`${JSON.stringify({ incomplete: true, reason })}\n`);
  }

  /**
   * Ends the report of a verification that ended with `{"complete":true,"paths":N}`, once what
   * it lists is on the disk: a report without an end line was cut by what no handler hears
   * (SIGKILL, the machine stopping, the out-of-memory killer) or is still being written, and
   * resync-list says so.
   */
  markComplete(): void {
    const fd = this.fd;
    this.io(() => {
      try {
        fsyncSync(fd);
      } catch (error) {
        // a report on a terminal or a pipe (`--report /dev/stderr`) cannot be synced: nothing to wait for
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EINVAL' && code !== 'ENOTSUP') throw error;
      }
    });
    this.append(`${JSON.stringify({ complete: true, paths: this.lines })}\n`);
  }

  /** Whether the run got as far as opening (and emptying) the file. */
  get opened(): boolean {
    return this.handle !== undefined;
  }

  /** Closes the file if it was opened: a run refused for its arguments leaves an earlier report as it was. */
  close(): void {
    if (this.handle !== undefined) closeSync(this.handle);
    this.handle = undefined;
  }
}

const bytesUnits = ['B', 'KB', 'MB', 'GB', 'TB'];
function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < bytesUnits.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${bytesUnits[unit]}`;
}

/** A one-line progress display on a terminal: entries/s, bytes/s and the directory being verified. */
export function createProgressLine(stream: NodeJS.WriteStream) {
  const started = Date.now();
  let shown = false;
  return {
    update(progress: Progress) {
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      const columns = stream.columns || 100;
      let text =
        `${formatCount(progress.entries)} entries (${formatCount(Math.round(progress.entries / seconds))}/s)` +
        (progress.bytes > 0
          ? `, ${formatBytes(progress.bytes)} compared (${formatBytes(progress.bytes / seconds)}/s)`
          : '') +
        (progress.current ? `  ${progress.current}` : '');
      if (text.length > columns - 1) text = `${text.slice(0, columns - 2)}…`;
      stream.write(`\r\x1b[K${text}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
