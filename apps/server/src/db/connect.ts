import { join, resolve } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { type ModeWarning, secureDataFiles } from './file-modes.js';
import type { Database, Dialect } from './schema.js';
import { defaultSqliteDriver, type SqliteDriverName } from './sqlite-driver.js';
import { SqliteThread, SqliteThreadDialect } from './sqlite-thread.js';

// int8 (bigint) columns hold ms timestamps and counts, all far below 2^53: read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface Connection {
  db: Kysely<Database>;
  dialect: Dialect;
  /**
   * SQLite only: the database thread under Kysely, whose procedures (the
   * upload's statements, a findings chunk) run there synchronously in one
   * transaction while Kysely's connection is held.
   */
  sqlite?: SqliteThread;
  /** Where the data lives, for the start-up log line (never with a password). */
  location: string;
  /** Files or directories that were readable by other users and were tightened, for a warning. */
  tightened: ModeWarning[];
}

/** The file of the embedded SQLite database inside a data directory. */
export function sqliteFile(dataDir: string): string {
  return join(resolve(dataDir), 'sms.sqlite');
}

/**
 * Opens PostgreSQL when `databaseUrl` is set, else the embedded SQLite database
 * in `dataDir` (created if needed, readable by its owner only) in WAL mode with full fsync on commit, so a
 * 200 is never sent for an upload a crash could lose. SQLite's writes run on a
 * thread of their own, its plain reads on a read-only connection here (`SqliteThread`).
 */
export async function connect(options: {
  databaseUrl?: string | undefined;
  dataDir: string;
  poolSize?: number;
  sqliteDriver?: SqliteDriverName | undefined;
  /** SQLite: the module of the procedures its thread runs (see `SqliteThread.call`). */
  procedures?: URL;
}): Promise<Connection> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    });
    // A connection that dies (database restarted, network cut) must not take the process down:
    // the pool reports idle clients' errors here, and every client gets its own listener, since
    // pg emits 'error' on a client whose socket closes between queries, and an unheard 'error'
    // is an uncaught exception. Queries still get their errors (500 SMS.2008); the next ones reconnect.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    const url = new URL(options.databaseUrl);
    return {
      db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
      dialect: 'postgres',
      location: `postgres://${url.hostname}:${url.port || 5432}${url.pathname}`,
      tightened: [],
    };
  }
  const file = sqliteFile(options.dataDir);
  const tightened = secureDataFiles(resolve(options.dataDir), file);
  const driver = options.sqliteDriver ?? defaultSqliteDriver();
  // on a thread of its own, with WAL, synchronous = FULL, busy_timeout and foreign keys (sqlite-worker.ts)
  const thread = await SqliteThread.open(file, driver, options.procedures);
  return {
    db: new Kysely<Database>({ dialect: new SqliteThreadDialect(thread) }),
    dialect: 'sqlite',
    sqlite: thread,
    location: `${file} (${driver})`,
    tightened,
  };
}
