import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { SqliteHandle } from '../db/sqlite-driver.js';
import { type FindingsWrite, writeFindings } from './finding-writes.js';
import type { NewUpload } from './upload-store.js';
import { UploadWrites } from './upload-writes.js';

/** An upload as sent to the database thread: its results as JSON only (one string to copy, not 30 objects). */
export type SentUpload = Omit<NewUpload, 'results'> & { resultsJson: string };

/** What an upload is sent as (`SqliteThread.call('storeBatch', …)`). */
export function sentUpload(upload: NewUpload): SentUpload {
  const { results, ...rest } = upload;
  return { ...rest, resultsJson: upload.resultsJson ?? JSON.stringify(results) };
}

/**
 * The work the SQLite database thread runs synchronously, each in one
 * transaction (`db/sqlite-worker.ts` loads this module): a group commit's
 * uploads, and a chunk of findings.
 */
export function procedures(sqlite: SqliteHandle) {
  const uploads = new UploadWrites(sqlite);
  return {
    storeBatch: (batch: readonly SentUpload[]) =>
      uploads.storeBatch(
        batch.map((upload) => ({
          ...upload,
          results: JSON.parse(upload.resultsJson) as NewUpload['results'],
        })),
      ),
    addFindings: (write: FindingsWrite) => writeFindings(sqlite, write),
  };
}

/**
 * Sends a procedure to the database thread while holding Kysely's one
 * connection, so that it does not land inside a transaction of Kysely's
 * (begin … commit, several requests), and lets go at once: the thread runs
 * requests in the order they came, so whatever is sent later runs after it.
 * Its answer is wrapped, for the hold not to wait for it.
 */
export async function sendHeld<T>(
  db: Kysely<Database>,
  send: () => Promise<T>,
): Promise<{ answer: Promise<T> }> {
  return db.connection().execute(async () => {
    const answer = send();
    // its failure is the caller's, who awaits it: not unhandled meanwhile
    answer.catch(() => {});
    return { answer };
  });
}

/** Where `procedures` is, for the thread to load. */
export const PROCEDURES = new URL('./sqlite-procedures.js', import.meta.url);
