import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StorageError } from '@sms/domain';
import { Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isUniqueViolation } from '../storage/handle.js';
import { defaultSqliteDriver } from './sqlite-driver.js';
import { compiledFile, SqliteThread, SqliteThreadDialect } from './sqlite-thread.js';

let dir: string;
let procedures: URL;
const threads: SqliteThread[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sms-thread-'));
  const file = join(dir, 'procedures.mjs');
  writeFileSync(
    file,
    `export function procedures(db) {
      return {
        insertTwo: (value) => {
          db.prepare('begin').run([]);
          db.prepare('insert into t (v) values (?)').run([value]);
          db.prepare('insert into t (v) values (?)').run([value + 1]);
          db.prepare('commit').run([]);
          return db.prepare('select count(*) as n from t').all([])[0].n;
        },
        storageError: () => { const e = new Error('its key conflicted, then was gone'); e.name = 'StorageError'; throw e; },
        exit: () => process.exit(3),
      };
    }`,
  );
  procedures = pathToFileURL(file);
});

afterEach(async () => {
  for (const thread of threads.splice(0)) await thread.close();
  rmSync(dir, { recursive: true, force: true });
});

async function open(): Promise<SqliteThread> {
  const thread = await SqliteThread.open(join(dir, 'db.sqlite'), defaultSqliteDriver(), procedures);
  threads.push(thread);
  await thread.query('create table t (v integer primary key)', []);
  return thread;
}

describe('SqliteThread: the database on a thread of its own', () => {
  it('runs statements and procedures there, in the order they were sent', async () => {
    const thread = await open();
    const sent = [thread.query('insert into t (v) values (1)', []), thread.call<number>('insertTwo', 10)];
    const [inserted, count] = await Promise.all(sent);
    expect(inserted).toMatchObject({ changes: 1, lastInsertRowid: 1 });
    expect(count).toBe(3);
    expect(await thread.query('select v from t order by v', [])).toEqual({
      rows: [{ v: 1 }, { v: 10 }, { v: 11 }],
    });
    // the read-only connection sees what the thread committed
    expect(thread.reader.prepare('select count(*) as n from t').all([])).toEqual([{ n: 3 }]);
  });

  it('gives back the driver’s error with its code (a unique violation stays one), and a StorageError as one', async () => {
    const thread = await open();
    await thread.query('insert into t (v) values (1)', []);
    const refused = await thread.query('insert into t (v) values (1)', []).catch((error: unknown) => error);
    expect(isUniqueViolation(refused)).toBe(true);
    expect(String(refused)).toMatch(/UNIQUE constraint failed|constraint/i);
    const failed = await thread.call('storageError', undefined).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(StorageError);
    expect((failed as Error).message).toBe('its key conflicted, then was gone');
    await expect(thread.call('nothing', undefined)).rejects.toThrow(/no database procedure named nothing/);
    // and it goes on answering
    expect(await thread.query('select count(*) as n from t', [])).toEqual({ rows: [{ n: 1 }] });
  });

  it('a thread that stops fails what waits and what comes after, reads too, never hangs', async () => {
    const thread = await open();
    const db = new Kysely<{ t: { v: number } }>({ dialect: new SqliteThreadDialect(thread) });
    expect(await db.selectFrom('t').select('v').execute()).toEqual([]);
    const waiting = thread.call('exit', undefined);
    await expect(waiting).rejects.toThrow(/the database thread stopped \(exit code 3\)/);
    await expect(thread.query('select 1', [])).rejects.toThrow(/the database thread stopped/);
    // not from the read-only connection: a server whose writes all fail must not look ready
    await expect(db.selectFrom('t').select('v').execute()).rejects.toThrow(/the database thread stopped/);
    await thread.close(); // and closing it then is no error
  });

  it('a request that cannot be sent fails alone; the thread goes on', async () => {
    const thread = await open();
    await expect(thread.query('select ? as x', [Symbol('not copied')])).rejects.toThrow(
      /could not be cloned/,
    );
    expect(await thread.query('select 2 as x', [])).toEqual({ rows: [{ x: 2 }] });
  });

  it('a file it cannot open is the opening’s error', async () => {
    await expect(SqliteThread.open(join(dir, 'missing', 'db.sqlite'), defaultSqliteDriver())).rejects.toThrow(
      /unable to open|cannot open|directory does not exist/i,
    );
  });

  it('Kysely through it: reads inside a transaction see its writes; plain reads outside see commits', async () => {
    const thread = await open();
    const db = new Kysely<{ t: { v: number } }>({ dialect: new SqliteThreadDialect(thread) });
    const readHere = vi.spyOn(thread.reader, 'prepare');
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ v: 5 }).execute();
      // on the thread, inside the transaction: the read-only connection would not see it yet
      expect(await trx.selectFrom('t').select('v').execute()).toEqual([{ v: 5 }]);
      expect(readHere).not.toHaveBeenCalled();
      expect(thread.reader.prepare('select count(*) as n from t').all([])).toEqual([{ n: 0 }]);
    });
    readHere.mockClear();
    expect(await db.selectFrom('t').select('v').execute()).toEqual([{ v: 5 }]);
    expect(readHere).toHaveBeenCalledTimes(1); // a plain read, here
    await db.insertInto('t').values({ v: 7 }).execute();
    expect(readHere).toHaveBeenCalledTimes(1); // a write, on the thread
    await db.deleteFrom('t').where('v', '=', 7).execute();
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('t').values({ v: 6 }).execute();
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await sql<{ n: number }>`select count(*) as n from t`.execute(db)).toMatchObject({
      rows: [{ n: 1 }],
    });

    // a transaction whose begin fails (the thread is inside one already) leaves plain reads here
    await thread.query('begin', []);
    await expect(db.transaction().execute(async () => {})).rejects.toThrow(/within a transaction/);
    await thread.query('rollback', []);
    readHere.mockClear();
    expect(await db.selectFrom('t').select('v').execute()).toEqual([{ v: 5 }]);
    expect(readHere).toHaveBeenCalledTimes(1);
    await db.destroy();
    threads.pop();
  });

  it('an idle thread does not keep the process alive', () => {
    const script = `import(${JSON.stringify(compiledFile(new URL('./sqlite-thread.js', import.meta.url)).href)}).then(async ({ SqliteThread }) => {
      const thread = await SqliteThread.open(${JSON.stringify(join(dir, 'alive.sqlite'))}, ${JSON.stringify(defaultSqliteDriver())});
      await thread.query('select ? as x', [Symbol()]).catch(() => {}); // not sent: nothing waits for it
      console.log(JSON.stringify(await thread.query('select 41 + 1 as n', [])));
    });`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    // (node:sqlite before Node 24.15 warns that it is experimental)
    const stderr = run.stderr
      .split('\n')
      .filter((line) => line.trim() && !/ExperimentalWarning|--trace-warnings/.test(line));
    expect(stderr).toEqual([]);
    expect(run.stdout.trim()).toBe('{"rows":[{"n":42}]}');
    expect(run.status).toBe(0);
  });
});
