import { randomUUID } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { type ConsistencyResult, TaskIdSchema, UpdateConsistencyResultRequestSchema } from '@sms/domain';
import * as v from 'valibot';

/** One upload waiting for the server: results of one task, with the key every attempt carries. */
export interface SpoolEntry {
  version: 1;
  task_id: string;
  idempotency_key: string;
  created_at: string;
  consistency_result: ConsistencyResult[];
}

const SpoolEntrySchema = v.object({
  version: v.literal(1),
  task_id: TaskIdSchema,
  idempotency_key: v.string(),
  created_at: v.string(),
  consistency_result: v.pipe(
    v.array(v.unknown()),
    v.check(
      (list) => v.is(UpdateConsistencyResultRequestSchema, { consistency_result: list }),
      'not a valid upload',
    ),
  ),
});

function writeDurably(path: string, text: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
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
  constructor(readonly dir: string) {}

  private get failedDir(): string {
    return join(this.dir, 'failed');
  }

  /** Writes an upload (fsynced) and returns its file. */
  add(taskId: string, results: ConsistencyResult[]): { file: string; entry: SpoolEntry } {
    mkdirSync(this.dir, { recursive: true });
    const entry: SpoolEntry = {
      version: 1,
      task_id: taskId,
      idempotency_key: randomUUID(),
      created_at: new Date().toISOString(),
      consistency_result: results,
    };
    const file = join(this.dir, `${Date.now()}-${entry.idempotency_key}.json`);
    writeDurably(file, `${JSON.stringify(entry)}\n`);
    return { file, entry };
  }

  /** The waiting uploads, oldest first; unreadable files are reported, not dropped. */
  list(): { entries: { file: string; entry: SpoolEntry }[]; broken: { file: string; reason: string }[] } {
    return readUploads(this.dir);
  }

  /** The uploads the server refused for good, oldest first, each with the server's reason. */
  listFailed(): { entries: FailedUpload[]; broken: { file: string; reason: string }[] } {
    const { entries, broken } = readUploads(this.failedDir);
    return {
      entries: entries.map((e) => {
        let reason = 'no reason was kept';
        try {
          reason = readFileSync(`${e.file}.reason.txt`, 'utf8').trim();
        } catch {}
        return { ...e, reason };
      }),
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

  /** Moves a refused upload back among the waiting ones (for example once its task exists); its key is kept. */
  retry(failedFile: string): string {
    const target = join(this.dir, basename(failedFile));
    renameSync(failedFile, target);
    rmSync(`${failedFile}.reason.txt`, { force: true });
    return target;
  }

  /** Deletes an upload for good, waiting or refused (and the reason kept beside a refused one). */
  drop(file: string): void {
    rmSync(file, { force: true });
    rmSync(`${file}.reason.txt`, { force: true });
  }

  remove(file: string): void {
    rmSync(file, { force: true });
  }

  /** Moves an upload the server refused for good out of the way, with the reason beside it. */
  fail(file: string, reason: string): string {
    mkdirSync(this.failedDir, { recursive: true });
    const target = join(this.failedDir, file.split('/').pop()!);
    renameSync(file, target);
    writeDurably(`${target}.reason.txt`, `${reason}\n`);
    return target;
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

/** The spooled uploads in one folder, oldest first; files that are not one are reported, not dropped. */
function readUploads(dir: string): {
  entries: { file: string; entry: SpoolEntry }[];
  broken: { file: string; reason: string }[];
} {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort();
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
      if (parsed.success) entries.push({ file, entry: parsed.output as SpoolEntry });
      else broken.push({ file, reason: 'not a spooled upload of this agent' });
    } catch (error) {
      broken.push({ file, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return { entries, broken };
}
