/**
 * The database thread's side (see `sqlite-thread.ts`): opens the SQLite file
 * with the chosen binding, sets the pragmas, loads the procedures module it
 * was given, then answers each request in the order it came, synchronously,
 * one at a time: a query (rows, or what it changed) or a procedure call.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite, type SqliteDriverName, type SqliteHandle } from './sqlite-driver.js';
import type { Procedures, ThreadReply, ThreadRequest, ThreadStart } from './sqlite-thread.js';

function errorOf(error: unknown) {
  const e = (error ?? {}) as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    errcode?: unknown;
    stack?: unknown;
  };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(error),
    code: typeof e.code === 'string' ? e.code : undefined,
    errcode: typeof e.errcode === 'number' ? e.errcode : undefined,
    stack: typeof e.stack === 'string' ? e.stack : undefined,
  };
}

async function start(port: NonNullable<typeof parentPort>, options: ThreadStart): Promise<void> {
  let database: SqliteHandle;
  let procedures: Procedures = {};
  try {
    database = openSqlite(options.file, options.driver as SqliteDriverName);
    database.exec('PRAGMA journal_mode = WAL');
    database.exec('PRAGMA synchronous = FULL');
    database.exec('PRAGMA busy_timeout = 5000');
    database.exec('PRAGMA foreign_keys = ON');
    if (options.procedures) {
      const module = (await import(options.procedures)) as { procedures(db: SqliteHandle): Procedures };
      procedures = module.procedures(database);
    }
  } catch (error) {
    port.postMessage({ ready: false, error: errorOf(error) });
    return;
  }
  port.on('message', (request: ThreadRequest) => {
    let reply: ThreadReply;
    try {
      if (request.kind === 'query') {
        const statement = database.prepare(request.sql);
        if (statement.reader) {
          reply = { id: request.id, ok: true, value: { rows: statement.all(request.parameters) } };
        } else {
          const { changes, lastInsertRowid } = statement.run(request.parameters);
          reply = { id: request.id, ok: true, value: { changes, lastInsertRowid } };
        }
      } else if (request.kind === 'call') {
        const procedure = procedures[request.name];
        if (!procedure) throw new Error(`no database procedure named ${request.name}`);
        reply = {
          id: request.id,
          ok: true,
          value: (procedure as (argument: unknown) => unknown)(request.argument),
        };
      } else {
        // the thread ends whatever closing the database says: the main side waits for its exit
        try {
          database.close();
          port.postMessage({ id: request.id, ok: true, value: undefined } satisfies ThreadReply);
        } catch (error) {
          port.postMessage({ id: request.id, ok: false, error: errorOf(error) } satisfies ThreadReply);
        } finally {
          port.close();
        }
        return;
      }
    } catch (error) {
      reply = { id: request.id, ok: false, error: errorOf(error) };
    }
    try {
      port.postMessage(reply);
    } catch (error) {
      // an answer that cannot be copied to the main thread: its error instead, and the thread goes on
      port.postMessage({ id: request.id, ok: false, error: errorOf(error) } satisfies ThreadReply);
    }
  });
  port.postMessage({ ready: true });
}

if (parentPort) void start(parentPort, workerData as ThreadStart);
