import { FindingLimits, FindingSchema } from '@sms/domain';
import * as v from 'valibot';
import type { ReportEntry } from '../engine/types.js';
import { findingOf } from '../output.js';
import type { FindingsEntry, FindingsSpoolFile } from './spool.js';

/**
 * The findings of a run on their way to the spool: the `--report` lines, at
 * most `limit` per directory (beyond it, one truncation marker for that
 * directory instead of the rest), and only lines the server can take (a
 * finding the API cannot hold, such as a path of more than 4096 characters,
 * is counted and left out: `--report` keeps it).
 */
export class FindingsRecorder {
  private readonly perDirectory = new Map<string, number>();
  /** Directories with more findings than the limit: their list is cut. */
  readonly truncated = new Set<string>();
  /** Findings the API cannot hold, and the first one's problem. */
  left = { count: 0, first: '' };
  /** Why the findings could not be written to the spool (a full disk, a bad --spool-dir): then none are sent. */
  failure: string | undefined;

  constructor(
    private readonly file: FindingsSpoolFile,
    readonly limit: number = FindingLimits.perDirectoryPerRun,
  ) {}

  write(entries: readonly ReportEntry[], dirChecks: readonly string[]): void {
    // the verification goes on whatever happens to its findings: the counts are what the API keeps
    if (this.failure !== undefined) return;
    try {
      this.record(entries, dirChecks);
    } catch (error) {
      this.failure = error instanceof Error ? error.message : String(error);
      this.file.abort();
    }
  }

  private record(entries: readonly ReportEntry[], dirChecks: readonly string[]): void {
    for (const entry of entries) {
      const finding = findingOf(entry, dirChecks);
      const kept = this.perDirectory.get(finding.dir_check) ?? 0;
      if (kept >= this.limit) {
        this.truncated.add(finding.dir_check);
        continue;
      }
      // already cut by findingOf, as the report's lines are
      const problem = this.problemOf(finding);
      if (problem !== undefined) {
        if (this.left.count++ === 0) this.left.first = `${finding.dir_check}/${finding.path}: ${problem}`;
        continue;
      }
      this.file.append(finding);
      this.perDirectory.set(finding.dir_check, kept + 1);
    }
  }

  private problemOf(finding: ReturnType<typeof findingOf>): string | undefined {
    const parsed = v.safeParse(FindingSchema, finding);
    if (!parsed.success) return parsed.issues.map((i) => i.message).join('; ');
    const bytes = Buffer.byteLength(JSON.stringify(finding));
    return bytes > FindingLimits.lineMaxBytes
      ? `its line is ${bytes} bytes, the API takes ${FindingLimits.lineMaxBytes}`
      : undefined;
  }

  /** Ends the findings (a truncation marker for each cut directory) and makes them an upload of the spool. */
  commit(): { file: string; entry: FindingsEntry } | undefined {
    if (this.failure !== undefined) return undefined;
    try {
      for (const dir of this.truncated) this.file.append({ dir_check: dir, truncated: true });
      return this.file.commit();
    } catch (error) {
      this.failure = error instanceof Error ? error.message : String(error);
      this.file.abort();
      return undefined;
    }
  }

  abort(): void {
    this.file.abort();
  }
}
