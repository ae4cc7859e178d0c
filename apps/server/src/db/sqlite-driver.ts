import { createRequire } from 'node:module';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

const require = createRequire(import.meta.url);

/** Which SQLite binding: better-sqlite3 12, or Node's own `node:sqlite`. */
export type SqliteDriverName = 'better-sqlite3' | 'node-sqlite';

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/**
 * `node:sqlite` on Node 24 and later, better-sqlite3 12 before. better-sqlite3
 * 12 builds on `node::ObjectWrap`, whose destructor on Node 24 can abort the
 * process when the garbage collector finalizes a statement (the fix,
 * better-sqlite3 13, does not run on Node 20); `node:sqlite` is not affected
 * and needs no native build.
 */
export function defaultSqliteDriver(): SqliteDriverName {
  return NODE_MAJOR >= 24 ? 'node-sqlite' : 'better-sqlite3';
}

/** A database with the statements Kysely's SQLite dialect uses, and `exec` for pragmas. */
export interface SqliteHandle extends SqliteDatabase {
  exec(sql: string): void;
}

interface NodeStatementSync {
  columns?(): unknown[];
  all(...parameters: unknown[]): unknown[];
  run(...parameters: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  iterate(...parameters: unknown[]): IterableIterator<unknown>;
}
interface NodeDatabaseSync {
  prepare(sql: string): NodeStatementSync;
  exec(sql: string): void;
  close(): void;
}

const READER = /^\s*(select|with|pragma|values|explain)\b|\breturning\b/i;

function openNodeSqlite(file: string, readonly: boolean): SqliteHandle {
  const { DatabaseSync } = require('node:sqlite') as {
    DatabaseSync: new (path: string, options?: { readOnly?: boolean }) => NodeDatabaseSync;
  };
  const db = new DatabaseSync(file, readonly ? { readOnly: true } : {});
  return {
    exec: (sql) => db.exec(sql),
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      const statement = db.prepare(sql);
      // node:sqlite takes the parameters one by one where better-sqlite3 takes an array
      return {
        reader: statement.columns ? statement.columns().length > 0 : READER.test(sql),
        all: (parameters) => statement.all(...parameters),
        run: (parameters) => statement.run(...parameters),
        iterate: (parameters) => statement.iterate(...parameters),
      };
    },
  };
}

function openBetterSqlite3(file: string, readonly: boolean): SqliteHandle {
  const Database = require('better-sqlite3') as new (
    path: string,
    options?: { readonly?: boolean },
  ) => SqliteHandle;
  return new Database(file, readonly ? { readonly: true } : {});
}

/** How many distinct statements stay prepared (the server has a few dozen; the rest are one-offs). */
const STATEMENT_CACHE_SIZE = 256;

/**
 * The handle with each statement prepared once and reused: Kysely asks to
 * prepare every query it runs, and preparing was a tenth of an upload's CPU
 * time. Safe because Kysely runs one query at a time on its one connection.
 */
function reusingStatements(database: SqliteHandle): SqliteHandle {
  const prepared = new Map<string, SqliteStatement>();
  return {
    exec: (sql) => database.exec(sql),
    close: () => database.close(),
    prepare(sql: string): SqliteStatement {
      let statement = prepared.get(sql);
      if (!statement) {
        statement = database.prepare(sql);
        if (prepared.size >= STATEMENT_CACHE_SIZE) prepared.delete(prepared.keys().next().value as string);
        prepared.set(sql, statement);
      }
      return statement;
    },
  };
}

/**
 * Opens the database file with the chosen binding, its statements prepared
 * once and reused; `readonly`: a connection that only reads (the file must exist).
 */
export function openSqlite(file: string, driver: SqliteDriverName, readonly = false): SqliteHandle {
  return reusingStatements(openSqliteBinding(file, driver, readonly));
}

function openSqliteBinding(file: string, driver: SqliteDriverName, readonly: boolean): SqliteHandle {
  if (driver === 'node-sqlite') {
    try {
      return openNodeSqlite(file, readonly);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_UNKNOWN_BUILTIN_MODULE') {
        throw new Error(
          `SMS_SQLITE_DRIVER=node-sqlite needs Node.js 22.13 or later (this is ${process.version})`,
        );
      }
      throw error;
    }
  }
  return openBetterSqlite3(file, readonly);
}
