import type { SqliteHandle } from '../db/sqlite-driver.js';
import type { FindingRow } from './finding-reads.js';

/** The columns of a finding's row, in the order of the inserts' values. */
export const INSERT_COLUMNS = [
  'task_id',
  'dir_check',
  'run_id',
  'batch_id',
  'category',
  'path',
  'path_base64',
  'reason',
] as const;

/** Rows a statement inserts at once: 8 values each, well within SQLite's and PostgreSQL's parameter limits. */
export const INSERT_CHUNK = 500;

/** A chunk of an open findings upload, to write with its heartbeat. */
export interface FindingsWrite {
  taskId: string;
  runId: string;
  batchId: number;
  rows: readonly FindingRow[];
  now: number;
}

/** SQLite's insert of `count` findings in one statement. */
function insertFindings(count: number): string {
  const row = `(${INSERT_COLUMNS.map(() => '?').join(', ')})`;
  return `insert into findings (${INSERT_COLUMNS.join(', ')}) values ${Array.from({ length: count }, () => row).join(', ')}`;
}
const INSERT_FULL_CHUNK = insertFindings(INSERT_CHUNK);
const INSERT_ONE = insertFindings(1);
const HEARTBEAT = 'update finding_batches set updated_at = ? where id = ?';

/**
 * On SQLite, a chunk of findings written synchronously on the one connection
 * (the caller holds it from Kysely's other queries): one short transaction of
 * statements prepared once (a full chunk, or one row for the rest), and the
 * upload's heartbeat.
 */
export function writeFindings(sqlite: SqliteHandle, write: FindingsWrite): void {
  const { taskId, runId, batchId, rows, now } = write;
  const valuesOf = (chunk: readonly FindingRow[]) => {
    const values: unknown[] = [];
    for (const r of chunk)
      values.push(taskId, r.dir_check, runId, batchId, r.category, r.path, r.path_base64, r.reason);
    return values;
  };
  sqlite.prepare('begin').run([]);
  try {
    let i = 0;
    for (; i + INSERT_CHUNK <= rows.length; i += INSERT_CHUNK)
      sqlite.prepare(INSERT_FULL_CHUNK).run(valuesOf(rows.slice(i, i + INSERT_CHUNK)));
    for (; i < rows.length; i++) sqlite.prepare(INSERT_ONE).run(valuesOf([rows[i]!]));
    sqlite.prepare(HEARTBEAT).run([now, batchId]);
    sqlite.prepare('commit').run([]);
  } catch (error) {
    try {
      sqlite.prepare('rollback').run([]);
    } catch {
      // the failed commit may have ended the transaction already
    }
    throw error;
  }
}
