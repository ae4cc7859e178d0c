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

/** PostgreSQL's SQLSTATEs (and their classes) that a client may be told about, in its words. */
const POSTGRES_REASONS: Record<string, string> = {
  '53100': "the database's disk is full",
  '53200': 'the database is out of memory',
  '53300': 'the database has too many connections',
  '57P01': 'the database is shutting down',
  '57P02': 'the database is shutting down',
  '57P03': 'the database is starting or shutting down',
  '40001': 'a conflicting write at the same moment',
  '40P01': 'a conflicting write at the same moment (a deadlock)',
  '25006': 'the database is read-only',
  '08': 'the connection to the database failed',
};

/** SQLite's result codes (extended ones by their primary code) that a client may be told about. */
const SQLITE_REASONS: Record<string, string> = {
  SQLITE_FULL: "the database's disk is full",
  SQLITE_READONLY:
    "the database cannot be written (its file's or directory's permissions, or a read-only mount)",
  SQLITE_BUSY: 'the database is busy',
  SQLITE_LOCKED: 'the database is busy',
  SQLITE_IOERR: "an I/O error on the database's disk",
  SQLITE_CORRUPT: 'the database file is damaged',
  SQLITE_NOTADB: 'the database file is damaged',
  SQLITE_CANTOPEN: 'the database file cannot be opened',
  SQLITE_NOMEM: 'out of memory',
};

/** Node's own error codes of a connection that could not be made or was cut. */
export const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/**
 * What kind of failure a driver's error is, in words a client may read: never the driver's own
 * message, which can name the database's host and port or its file's path (the log has it).
 */
export function failureKind(error: unknown): string {
  return knownFailureKind(error) ?? 'the database failed';
}

/**
 * The kind of a failure of the whole database (unreachable, its disk full or read-only, busy, …),
 * through what wraps it (a failed migration); undefined for one of a statement's own (a constraint).
 */
export function knownFailureKind(error: unknown): string | undefined {
  for (const e of causes(error)) {
    const kind = kindOf(e);
    if (kind !== undefined) return kind;
  }
  return undefined;
}

/** `error` and the errors in its chain of causes, outermost first (at most 5). */
export function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e !== undefined && chain.length < 5; e = (e as { cause?: unknown })?.cause)
    chain.push(e);
  return chain;
}

/** SQLite's primary result codes by number (node:sqlite gives the number, `errcode`; better-sqlite3 the name). */
const SQLITE_PRIMARY: Record<number, string> = {
  5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED',
  7: 'SQLITE_NOMEM',
  8: 'SQLITE_READONLY',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  19: 'SQLITE_CONSTRAINT',
  26: 'SQLITE_NOTADB',
};

/**
 * A SQLite error's code by name, whichever driver threw it: better-sqlite3's own
 * (`SQLITE_READONLY_DBMOVED`), or node:sqlite's extended number (`ERR_SQLITE_ERROR`, `errcode`) as
 * its primary code's name (`SQLITE_READONLY`); undefined for any other error.
 */
export function sqliteCode(error: unknown): string | undefined {
  const { code, errcode } = (error ?? {}) as { code?: unknown; errcode?: unknown };
  if (typeof code === 'string' && code.startsWith('SQLITE_')) return code;
  if (code === 'ERR_SQLITE_ERROR' && typeof errcode === 'number') return SQLITE_PRIMARY[errcode & 0xff];
  return undefined;
}

function kindOf(error: unknown): string | undefined {
  const { code: given, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const code = sqliteCode(error) ?? given;
  if (typeof code === 'string') {
    // Node's own codes first (EPIPE has five letters, as a SQLSTATE)
    if (UNREACHABLE.has(code)) return 'the database cannot be reached';
    if (code === 'ENOSPC') return "the database's disk is full";
    if (code.startsWith('SQLITE_')) {
      const kind = SQLITE_REASONS[code] ?? SQLITE_REASONS[code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1')];
      if (kind !== undefined) return kind;
    } else if (/^[0-9A-Z]{5}$/.test(code)) {
      const kind = POSTGRES_REASONS[code] ?? POSTGRES_REASONS[code.slice(0, 2)];
      if (kind !== undefined) return kind;
    }
  }
  if (typeof message !== 'string') return undefined;
  // pg-pool's words for a connection never made
  if (
    /timeout exceeded when trying to connect|connection terminated due to connection timeout/i.test(message)
  )
    return 'the database cannot be reached';
  if (/connection terminated|connection.*(closed|ended)/i.test(message))
    return 'the connection to the database was lost';
  return undefined;
}

/** What a storage failure's message tells a client after its kind (an operator's terminal drops it). */
export const CLIENT_ADVICE =
  "; nothing was stored: retry later (the server's log has the cause, under this request's X-Request-Id)";

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
        // the driver's own words (a database's address, its file's path) go to the log only, with
        // the request id: the client, perhaps not signed in, hears what kind of failure it was
        throw new StorageError(`Storage failed (${what}): ${failureKind(error)}${CLIENT_ADVICE}`, {
          cause: error,
        });
      }
    },
  };
}
