import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StorageError } from '@sms/domain';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { openSqlite, type SqliteDriverName, type SqliteHandle } from './sqlite-driver.js';

/** What the database thread is started with. */
export interface ThreadStart {
  file: string;
  driver: SqliteDriverName;
  /** The URL of a module whose `procedures(handle)` gives the procedures `call` runs. */
  procedures: string | undefined;
}

/** Work run on the database thread, synchronously, with the handle its module was given. */
export type Procedures = Record<string, (argument: never) => unknown>;

export type ThreadRequest =
  | { id: number; kind: 'query'; sql: string; parameters: readonly unknown[] }
  | { id: number; kind: 'call'; name: string; argument: unknown }
  | { id: number; kind: 'close' };

interface ThreadError {
  name: string;
  message: string;
  code: string | undefined;
  errcode: number | undefined;
  stack: string | undefined;
}

export type ThreadReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: ThreadError };

type Started = { ready: true } | { ready: false; error: ThreadError };

/** The error the thread threw, as the driver would have thrown it here (its code, for `isUniqueViolation`). */
function rebuilt(error: ThreadError): Error {
  // the storage's own refusal (an upload's key conflicted, then was gone): still itself
  if (error.name === 'StorageError') return new StorageError(error.message);
  const made = Object.assign(new Error(error.message), {
    ...(error.code === undefined ? {} : { code: error.code }),
    ...(error.errcode === undefined ? {} : { errcode: error.errcode }),
  });
  made.name = error.name;
  if (error.stack) made.stack = error.stack;
  return made;
}

/**
 * A file of this package as compiled: beside this module when it runs from
 * `dist`; under a test runner, which runs the TypeScript sources, the same
 * file in `dist` (built before the tests: `turbo test` builds first).
 */
export function compiledFile(url: URL): URL {
  if (existsSync(url)) return url;
  const path = fileURLToPath(url);
  const at = path.lastIndexOf('/src/');
  const built = at < 0 ? path : `${path.slice(0, at)}/dist/${path.slice(at + 5)}`;
  if (!existsSync(built)) {
    throw new Error(`${built} is missing: build the server first (pnpm --filter @sms/server build)`);
  }
  return pathToFileURL(built);
}

/**
 * The SQLite database's writes on a thread of their own (a worker thread):
 * every write, its fsync on commit included, runs there, so the event loop
 * that answers HTTP never waits for the disk. Requests are answered in the
 * order they were sent, one at a time, as on one connection. Plain reads
 * outside a transaction run here on `reader`, a read-only connection (WAL:
 * it sees every commit the thread has answered, and neither waits for the
 * other), so that a point look-up does not queue behind a commit.
 */
export class SqliteThread {
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private nextId = 0;
  private stopped: Error | undefined;
  private closed = false;

  /** False once the thread has stopped (crashed or closed): nothing is read or written any more. */
  get running(): boolean {
    return this.stopped === undefined && !this.closed;
  }

  private constructor(
    private readonly worker: Worker,
    readonly reader: SqliteHandle,
  ) {
    worker.on('message', (reply: ThreadReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.ok) waiting.resolve(reply.value);
      else waiting.reject(rebuilt(reply.error));
    });
    const stop = (error: Error) => {
      this.stopped ??= error;
      for (const waiting of this.pending.values()) waiting.reject(this.stopped);
      this.pending.clear();
    };
    worker.on('error', (error) =>
      stop(
        new Error(`the database thread failed: ${error instanceof Error ? error.message : String(error)}`),
      ),
    );
    worker.on('exit', (code) => stop(new Error(`the database thread stopped (exit code ${code})`)));
  }

  /** Starts the thread and opens `file` there; rejects with the opening's error. */
  static async open(file: string, driver: SqliteDriverName, procedures?: URL): Promise<SqliteThread> {
    const start: ThreadStart = { file, driver, procedures: procedures && compiledFile(procedures).href };
    const worker = new Worker(compiledFile(new URL('./sqlite-worker.js', import.meta.url)), {
      workerData: start,
    });
    let onMessage!: (started: Started) => void;
    let onError!: (error: Error) => void;
    let onExit!: (code: number) => void;
    const started = await new Promise<Started>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`the database thread stopped (exit code ${code})`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    }).finally(() => {
      // only these: the worker's own listeners (which keep its port referenced) stay
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    });
    if (!started.ready) {
      await worker.terminate();
      throw rebuilt(started.error);
    }
    let reader: SqliteHandle;
    try {
      reader = openSqlite(file, driver, true);
      reader.exec('PRAGMA busy_timeout = 5000');
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    // kept alive only while a request waits: an idle database does not hold the process open
    worker.unref();
    return new SqliteThread(worker, reader);
  }

  private request<T>(
    request: ThreadRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never,
  ): Promise<T> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      try {
        this.worker.postMessage({ ...request, id });
      } catch (error) {
        // not sent (its parameters cannot be copied to the thread): nothing waits for it
        reject(error);
        return;
      }
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /** One statement: its rows, or what it changed. */
  query(
    sql: string,
    parameters: readonly unknown[],
  ): Promise<{ rows?: unknown[]; changes?: number | bigint; lastInsertRowid?: number | bigint }> {
    return this.request({ kind: 'query', sql, parameters });
  }

  /** Runs the procedure `name` on the database thread (synchronously there) and answers what it returns. */
  call<T>(name: string, argument: unknown): Promise<T> {
    return this.request({ kind: 'call', name, argument });
  }

  /** Closes the database and ends the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reader.close();
    if (this.stopped) return;
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    await this.request({ kind: 'close' }).catch(() => undefined);
    this.worker.ref(); // until it has exited
    await exited;
  }
}

/** Kysely's SQLite dialect with its queries run on the database thread. */
export class SqliteThreadDialect implements Dialect {
  constructor(private readonly thread: SqliteThread) {}
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }
  createDriver(): Driver {
    return new SqliteThreadDriver(this.thread);
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

/** A plain read: run on the read-only connection when no transaction is open. */
const READ = /^\s*select\b/i;

/**
 * Kysely's `SqliteDriver`, one connection behind a mutex, its statements sent
 * to the thread, but for plain reads outside a transaction (`SqliteThread.reader`).
 */
class SqliteThreadDriver implements Driver {
  private readonly connection: DatabaseConnection;
  private held: Promise<void> | undefined;
  private release: (() => void) | undefined;
  /** Between Kysely's begin and its commit or rollback: every statement goes to the thread. */
  private inTransaction = false;

  constructor(private readonly thread: SqliteThread) {
    const driver = this;
    this.connection = {
      async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
        // a stopped thread fails reads too (the request below says so): /readyz must not look ready
        if (!driver.inTransaction && READ.test(compiled.sql) && thread.running) {
          return { rows: thread.reader.prepare(compiled.sql).all(compiled.parameters) as R[] };
        }
        const result = await thread.query(compiled.sql, compiled.parameters);
        if (result.rows) return { rows: result.rows as R[] };
        const { changes, lastInsertRowid } = result;
        return {
          ...(changes === undefined || changes === null ? {} : { numAffectedRows: BigInt(changes) }),
          ...(lastInsertRowid === undefined || lastInsertRowid === null
            ? {}
            : { insertId: BigInt(lastInsertRowid) }),
          rows: [],
        };
      },
      streamQuery(): AsyncIterableIterator<QueryResult<never>> {
        throw new Error('the SQLite thread does not stream query results');
      },
    };
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    while (this.held) await this.held;
    this.held = new Promise((resolve) => {
      this.release = resolve;
    });
    return this.connection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    this.inTransaction = true;
    try {
      // the write lock from the start (this connection is the only writer here): a transaction that
      // read first could not take it once another process (the CLI) had written meanwhile
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    } catch (error) {
      // Kysely rolls back only a transaction that began
      this.inTransaction = false;
      throw error;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('commit'));
    } finally {
      this.inTransaction = false;
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('rollback'));
    } finally {
      this.inTransaction = false;
    }
  }

  async releaseConnection(): Promise<void> {
    const release = this.release;
    this.held = undefined;
    this.release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    await this.thread.close();
  }
}
