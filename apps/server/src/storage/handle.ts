import { StorageError } from '@sms/domain';
import type { Kysely } from 'kysely';
import type { Database, Dialect } from '../db/schema.js';
import type { SqliteThread } from '../db/sqlite-thread.js';

/** A store's answer that is not a database failure: `run` passes it on as it is. */
export class StoreRefusal extends Error {
  override name = 'StoreRefusal';
}

/** A unique constraint refused the write (the name is taken, the key is used). */
export class UniqueViolation extends StoreRefusal {
  override name = 'UniqueViolation';
}

/** PostgreSQL's 23505; better-sqlite3's code; node:sqlite's extended result code (2067 unique, 1555 primary key). */
export function isUniqueViolation(error: unknown): boolean {
  const { code, errcode } = (error ?? {}) as { code?: unknown; errcode?: unknown };
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    (code === 'ERR_SQLITE_ERROR' && (errcode === 2067 || errcode === 1555))
  );
}

/**
 * What every store shares: the one database handle, its dialect, and `run`,
 * which turns every driver error into a `StorageError` (500, `SMS.2008`), so
 * that a full disk or a lost database never looks like a client's mistake,
 * and a unique constraint's refusal into a `UniqueViolation`.
 */
export interface StoreHandle {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** SQLite only: the database thread under `db`, to run procedures on while holding Kysely's connection. */
  readonly sqlite: SqliteThread | undefined;
  readonly events: StorageEvents;
  run<T>(what: string, work: () => Promise<T>): Promise<T>;
}

/** What every store starts from: the one handle's database, dialect and `run`, held once here. */
export abstract class Store {
  protected readonly db: Kysely<Database>;
  protected readonly dialect: Dialect;
  protected readonly run: StoreHandle['run'];

  constructor(handle: StoreHandle) {
    this.db = handle.db;
    this.dialect = handle.dialect;
    this.run = handle.run;
  }
}

/** What the storage reports as it works, for the server's metrics; each a no-op unless given. */
export interface StorageEvents {
  /** A SQLite group commit committed `size` uploads in one transaction. */
  batchCommitted(size: number): void;
  /** A database operation failed (it becomes a `StorageError`). */
  databaseError(operation: string): void;
  /** A failed sign-in was counted. */
  signInFailure(): void;
}

export const NO_STORAGE_EVENTS: StorageEvents = {
  batchCommitted: () => {},
  databaseError: () => {},
  signInFailure: () => {},
};

export function storeHandle(
  db: Kysely<Database>,
  dialect: Dialect,
  events: StorageEvents = NO_STORAGE_EVENTS,
  sqlite?: SqliteThread,
): StoreHandle {
  return {
    db,
    dialect,
    sqlite,
    events,
    async run(what, work) {
      try {
        return await work();
      } catch (error) {
        if (error instanceof StorageError || error instanceof StoreRefusal) throw error;
        if (isUniqueViolation(error)) throw new UniqueViolation(`${what}: already exists`, { cause: error });
        events.databaseError(what);
        const detail = error instanceof Error ? error.message : String(error);
        throw new StorageError(`Storage failed (${what}): ${detail}`.slice(0, 900), { cause: error });
      }
    },
  };
}
