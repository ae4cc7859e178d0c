import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  type ConsistencyResult,
  type ConsistencyResultSchema,
  RunIdSchema,
  TaskIdSchema,
  UpdateConsistencyResultRequestSchema,
} from '@sms/domain';
import * as v from 'valibot';
import { crypto } from '../builtins.js';
import { formatCount } from '../plural.js';

/**
 * An upload of counts: results of one task, with the key every attempt
 * carries and (from agents that make runs) the run they belong to; spool
 * files of older agents have no `run_id`, and are delivered without one.
 */
const CountsEntrySchema = v.object({
  version: v.literal(1),
  kind: v.optional(v.literal('counts')),
  task_id: TaskIdSchema,
  idempotency_key: v.string(),
  created_at: v.string(),
  run_id: v.optional(RunIdSchema),
  consistency_result: v.pipe(
    v.array(v.unknown()),
    v.check(
      (list) => v.is(UpdateConsistencyResultRequestSchema, { consistency_result: list }),
      'not a valid upload',
    ),
  ) as v.GenericSchema<unknown[], v.InferOutput<typeof ConsistencyResultSchema>[]>,
});

/**
 * An upload of the findings of a run: the lines wait beside the entry, in
 * `<entry>.ndjson`, one finding or truncation marker a line.
 */
const FindingsEntrySchema = v.object({
  version: v.literal(1),
  kind: v.literal('findings'),
  task_id: TaskIdSchema,
  idempotency_key: v.string(),
  created_at: v.string(),
  run_id: RunIdSchema,
  /** Lines in the file (findings and truncation markers). */
  lines: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** The directories the lines are of. */
  directories: v.array(v.string()),
});

const SpoolEntrySchema = v.union([FindingsEntrySchema, CountsEntrySchema]);

/** One upload waiting for the server. */
export type SpoolEntry = v.InferOutput<typeof SpoolEntrySchema>;
export type CountsEntry = v.InferOutput<typeof CountsEntrySchema>;
export type FindingsEntry = v.InferOutput<typeof FindingsEntrySchema>;

export const isFindingsEntry = (entry: SpoolEntry): entry is FindingsEntry => entry.kind === 'findings';

/** The file of a findings upload's lines, beside its entry. */
export const linesFileOf = (entryFile: string) => entryFile.replace(/\.json$/, '.ndjson');

function writeDurably(path: string, text: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  const fd = openSync(temporary, 'w');
  try {
    try {
      // writeFileSync writes until all is written: a single write(2) may write less on a nearly full disk
      writeFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    // a full disk, say: no half-written temporary file is left behind in the spool
    rmSync(temporary, { force: true });
    throw error;
  }
  const dir = openSync(join(path, '..'), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * The spool: uploads written to disk before they are sent, removed only once
 * the server has answered 200. Whatever happens to the network or the process,
 * a verified result is either delivered or still here.
 */
export class Spool {
  /** Absolute: uploads are read back on libuv's threads, perhaps while a walk has moved the working directory (engine/cwd.ts). */
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /**
   * Said where a spool holds nothing: the directory is made by the first upload spooled, so one
   * that does not exist most often means a mistyped --spool-dir or $SMS_SPOOL_DIR.
   */
  get absence(): string {
    return existsSync(this.dir)
      ? ''
      : ' (no such directory: no upload was ever spooled there; check --spool-dir or $SMS_SPOOL_DIR if you expected some)';
  }

  private get failedDir(): string {
    return join(this.dir, 'failed');
  }

  /** Writes an upload (fsynced) and returns its file. */
  add(taskId: string, results: ConsistencyResult[], runId?: string): { file: string; entry: SpoolEntry } {
    mkdirSync(this.dir, { recursive: true });
    const entry: CountsEntry = {
      version: 1,
      task_id: taskId,
      idempotency_key: crypto().randomUUID(),
      created_at: new Date().toISOString(),
      ...(runId === undefined ? {} : { run_id: runId }),
      consistency_result: results,
    };
    const file = join(this.dir, `${spoolStamp(this.dir)}-${entry.idempotency_key}.json`);
    writeDurably(file, `${JSON.stringify(entry)}\n`);
    return { file, entry };
  }

  /** The waiting uploads, oldest first; unreadable files are reported, not dropped. */
  list(): { entries: { file: string; entry: SpoolEntry }[]; broken: { file: string; reason: string }[] } {
    if (!this.swept) {
      this.swept = true;
      this.sweep();
    }
    return readUploads(this.dir);
  }

  private swept = false;

  /**
   * Removes what runs that ended without finishing left (once, at the first `list`): the findings
   * lines of a run that crashed or was killed (`*.ndjson.PID.partial`, perhaps hundreds of MB) and
   * half-written uploads (`*.tmp-PID`), whose process is gone; and lines files of older agents'
   * runs (`*.ndjson.partial`, no process id) untouched for a week; and a findings upload's lines
   * (`*.ndjson`) without the upload that names them, left by a stop between the two files'
   * writes (commit) or removals (remove), once an hour old (counted from the rename that named
   * them too: ctime). What a running process writes is never touched.
   */
  private sweep(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    const present = new Set(names);
    /** Untouched for `ms`: written (mtime), or also renamed (ctime) when `renamed` counts. */
    const olderThan = (file: string, ms: number, renamed = false) => {
      try {
        const stat = statSync(file);
        return Date.now() - (renamed ? Math.max(stat.mtimeMs, stat.ctimeMs) : stat.mtimeMs) > ms;
      } catch {
        return false;
      }
    };
    for (const name of names) {
      const pid = /\.ndjson\.(\d+)\.partial$/.exec(name)?.[1] ?? /\.json\.tmp-(\d+)$/.exec(name)?.[1];
      const file = join(this.dir, name);
      let abandoned = false;
      if (pid !== undefined) abandoned = !processRuns(Number(pid));
      else if (name.endsWith('.ndjson.partial')) abandoned = olderThan(file, 7 * 24 * 3600 * 1000);
      else if (name.endsWith('.ndjson')) {
        // its upload may be among the refused ones (a stop in the middle of `retry`, which moves the
        // lines first: `spool retry` finishes the move), or back here since the listing: both are
        // looked at last, as they are now
        const upload = name.replace(/\.ndjson$/, '.json');
        abandoned =
          !present.has(upload) &&
          olderThan(file, 3600 * 1000, true) &&
          !existsSync(join(this.failedDir, upload)) &&
          !existsSync(join(this.dir, upload));
      }
      if (!abandoned) continue;
      try {
        rmSync(file, { force: true });
      } catch {}
    }
  }

  /** The uploads the server refused for good, oldest first, each with the server's reason. */
  listFailed(): { entries: FailedUpload[]; broken: { file: string; reason: string }[] } {
    const { entries, broken } = readUploads(this.failedDir);
    return {
      entries: entries.map((e) => ({ ...e, reason: this.failedReason(e.file) ?? 'no reason was kept' })),
      broken,
    };
  }

  /**
   * The upload whose id (its idempotency key) is `id` or starts with it (at
   * least 8 characters), pending or failed; throws `SpoolError` naming what to
   * do when there is none or more than one.
   */
  find(id: string): { file: string; entry: SpoolEntry; failed: boolean } {
    if (id.length < 8)
      throw new SpoolError(
        `${id}: give at least 8 characters of an upload's id (sms-agent spool list shows them)`,
      );
    const pending = this.list().entries.map((e) => ({ ...e, failed: false }));
    const failed = this.listFailed().entries.map((e) => ({ file: e.file, entry: e.entry, failed: true }));
    const matches = [...pending, ...failed].filter((e) => e.entry.idempotency_key.startsWith(id));
    if (matches.length === 0)
      throw new SpoolError(`no upload ${id} in ${this.dir}: sms-agent spool list shows the uploads there`);
    if (matches.length > 1)
      throw new SpoolError(`${id} names ${matches.length} uploads in ${this.dir}: give more of the id`);
    return matches[0]!;
  }

  /**
   * Starts the findings upload of a run: its lines are written to the spool
   * as they come (`FindingsSpoolFile`), and it becomes an upload only once
   * `commit` has made it durable.
   */
  startFindings(taskId: string, runId: string): FindingsSpoolFile {
    return new FindingsSpoolFile(this.dir, taskId, runId);
  }

  /** Moves a refused upload back among the waiting ones (for example once its task exists); its key is kept. */
  retry(failedFile: string): string {
    const target = join(this.dir, basename(failedFile));
    moveLines(failedFile, target);
    renameSync(failedFile, target);
    rmSync(`${failedFile}.reason.txt`, { force: true });
    return target;
  }

  /** Deletes an upload for good, waiting or refused (and the reason kept beside a refused one). */
  drop(file: string): void {
    this.remove(file);
    rmSync(`${file}.reason.txt`, { force: true });
  }

  /** Removes a delivered upload (its entry first: an entry is never left without its lines). */
  remove(file: string): void {
    rmSync(file, { force: true });
    rmSync(linesFileOf(file), { force: true });
  }

  /** The reason written beside an upload in `failed/` (undefined: none, or not yet). */
  failedReason(failedFile: string): string | undefined {
    try {
      return readFileSync(`${failedFile}.reason.txt`, 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  /** Where `fail` moves an upload: `failed/` under the spool, by the same name. */
  failedPathOf(file: string): string {
    return join(this.failedDir, basename(file));
  }

  /** Moves an upload the server refused for good out of the way, with the reason beside it. */
  fail(file: string, reason: string): string {
    mkdirSync(this.failedDir, { recursive: true });
    const target = this.failedPathOf(file);
    moveLines(file, target);
    renameSync(file, target);
    writeDurably(`${target}.reason.txt`, `${reason}\n`);
    return target;
  }
}

/** Whether a process with this id runs on this machine (one of another user's counts: EPERM). */
function processRuns(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Moves the lines of a findings upload, if it has any, before its entry (an entry never points at nothing). */
function moveLines(from: string, to: string): void {
  try {
    renameSync(linesFileOf(from), linesFileOf(to));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * The findings of one run on their way into the spool: lines appended to a
 * `.partial` file as the verification finds them (never all in memory), then
 * on `commit` fsynced, renamed and described by an entry written last. A run
 * that does not end well is `abort`ed: nothing is left.
 */
export class FindingsSpoolFile {
  private readonly key = crypto().randomUUID();
  private readonly base: string;
  private handle: number | undefined;
  private pending = '';
  private lines = 0;
  private readonly directories = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly taskId: string,
    private readonly runId: string,
  ) {
    this.base = join(dir, `${spoolStamp(dir)}-${this.key}`);
  }

  /** The lines while the run goes on, named with this process's id (`Spool.sweep` knows whose). */
  private get partial(): string {
    return `${this.base}.ndjson.${process.pid}.partial`;
  }

  /** The file is made with the first lines: a run without findings, or whose spool cannot be written, leaves none. */
  private get fd(): number {
    if (this.handle === undefined) {
      mkdirSync(this.dir, { recursive: true });
      this.handle = openSync(this.partial, 'w');
    }
    return this.handle;
  }

  /** Appends lines (JSON objects), buffered in chunks of about 64 KiB. */
  append(line: { dir_check: string; [field: string]: unknown }): void {
    this.pending += `${JSON.stringify(line)}\n`;
    this.lines++;
    this.directories.add(line.dir_check);
    if (this.pending.length >= 64 * 1024) this.flush();
  }

  private flush(): void {
    if (this.pending !== '') writeFileSync(this.fd, this.pending);
    this.pending = '';
  }

  /** Makes the findings an upload of the spool (fsynced), or leaves nothing when there are none. */
  commit(): { file: string; entry: FindingsEntry } | undefined {
    if (this.lines === 0) return undefined;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.handle = undefined;
    renameSync(this.partial, `${this.base}.ndjson`);
    const entry: FindingsEntry = {
      version: 1,
      kind: 'findings',
      task_id: this.taskId,
      idempotency_key: this.key,
      created_at: new Date().toISOString(),
      run_id: this.runId,
      lines: this.lines,
      directories: [...this.directories],
    };
    const file = `${this.base}.json`;
    try {
      writeDurably(file, `${JSON.stringify(entry)}\n`);
    } catch (error) {
      // the entry could not be written (a full disk): its lines, perhaps hundreds of MB, go too
      // rather than wait an hour for a sweep that a long-running daemon does once
      rmSync(`${this.base}.ndjson`, { force: true });
      throw error;
    }
    return { file, entry };
  }

  /** Leaves nothing in the spool (an interrupted run uploads nothing). */
  abort(): void {
    try {
      if (this.handle !== undefined) closeSync(this.handle);
      rmSync(this.partial, { force: true });
    } catch {
      // a spool that cannot be written holds no partial file to remove
    }
    this.handle = undefined;
  }
}

/** An upload the server refused for good, with the reason it gave. */
export interface FailedUpload {
  file: string;
  entry: SpoolEntry;
  reason: string;
}

/** A spool command that cannot be done: the message says what to give instead. */
export class SpoolError extends Error {
  override name = 'SpoolError';
}

/**
 * The number a file spooled now is named with: the time, or one past the latest name there when
 * the clock was stepped back since (a host that booted an hour ahead, then NTP), so that the
 * names keep the order things were spooled in, which is the order they are delivered in (an older
 * run stored after a newer one would become its directories' state on the server).
 */
function spoolStamp(dir: string): number {
  let latest = 0;
  // and the refused ones, which `spool retry` moves back under their names
  for (const where of [dir, join(dir, 'failed')]) {
    try {
      for (const name of readdirSync(where)) latest = Math.max(latest, stampOf(name));
    } catch {
      // nothing spooled (or refused) there yet
    }
  }
  return Math.max(Date.now(), latest + 1);
}

/** The number a spooled file's name starts with (0 for none). */
function stampOf(name: string): number {
  return Number(/^(\d+)-/.exec(name)?.[1] ?? 0);
}

/** Names in the order they were spooled: by their numbers (9 before 10), then as text. */
function bySpoolOrder(a: string, b: string): number {
  return stampOf(a) - stampOf(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** The spooled uploads in one folder, oldest first; files that are not one are reported, not dropped. */
function readUploads(dir: string): {
  entries: { file: string; entry: SpoolEntry }[];
  broken: { file: string; reason: string }[];
} {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort(bySpoolOrder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], broken: [] };
    throw error;
  }
  const entries: { file: string; entry: SpoolEntry }[] = [];
  const broken: { file: string; reason: string }[] = [];
  for (const name of names) {
    const file = join(dir, name);
    try {
      const parsed = v.safeParse(SpoolEntrySchema, JSON.parse(readFileSync(file, 'utf8')));
      if (parsed.success) entries.push({ file, entry: parsed.output });
      else broken.push({ file, reason: 'not a spooled upload of this agent' });
    } catch (error) {
      // gone since the listing: delivered or moved by another agent sharing the spool (a daemon's
      // idle flush), not a broken file
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      broken.push({ file, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return { entries, broken };
}

/** What an upload holds, as `spool list` and `--json` show it. */
export function describeEntry(entry: SpoolEntry) {
  return isFindingsEntry(entry)
    ? {
        kind: 'findings' as const,
        directories: entry.directories.length,
        findings: entry.lines,
        run_id: entry.run_id,
      }
    : {
        kind: 'counts' as const,
        directories: entry.consistency_result.length,
        ...(entry.run_id === undefined ? {} : { run_id: entry.run_id }),
      };
}

/** The same in words: `2 directories`, or `findings: 1,234 lines of 2 directories`. */
export function entryInWords(entry: SpoolEntry): string {
  const d = describeEntry(entry);
  const dirs = `${d.directories} ${d.directories === 1 ? 'directory' : 'directories'}`;
  return d.kind === 'findings'
    ? `findings: ${formatCount(d.findings)} ${d.findings === 1 ? 'line' : 'lines'} of ${dirs}`
    : dirs;
}
