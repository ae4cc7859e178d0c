import { describe, expect, it } from 'vitest';
import { failureKind } from './handle.js';

// What a client hears of a database failure: its kind, never the driver's message (which can name
// the database's host and port, or its file's path)
describe('failureKind', () => {
  it.each([
    [{ code: 'SQLITE_FULL', message: 'database or disk is full' }, "the database's disk is full"],
    [
      { code: 'SQLITE_READONLY_DBMOVED', message: '/srv/sms/sms.sqlite moved' },
      "the database cannot be written (its file's or directory's permissions, or a read-only mount)",
    ],
    [{ code: 'SQLITE_IOERR_FSYNC', message: 'disk I/O error' }, "an I/O error on the database's disk"],
    [{ code: 'SQLITE_BUSY', message: 'database is locked' }, 'the database is busy'],
    [{ code: '53100', message: 'could not extend file "base/16384/2619"' }, "the database's disk is full"],
    [{ code: '40P01', message: 'deadlock detected' }, 'a conflicting write at the same moment (a deadlock)'],
    [{ code: '08006', message: 'connection failure' }, 'the connection to the database failed'],
    [
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.5:5432' },
      'the database cannot be reached',
    ],
    [new Error('Connection terminated unexpectedly'), 'the connection to the database was lost'],
    [{ code: 'EPIPE', message: 'write EPIPE' }, 'the database cannot be reached'],
    // node:sqlite (Node.js 24): the extended result code as a number
    [
      { code: 'ERR_SQLITE_ERROR', errcode: 13, message: 'database or disk is full' },
      "the database's disk is full",
    ],
    [
      { code: 'ERR_SQLITE_ERROR', errcode: 1032, message: 'attempt to write a readonly database' },
      "the database cannot be written (its file's or directory's permissions, or a read-only mount)",
    ],
    [{ code: 'ERR_SQLITE_ERROR', errcode: 2067, message: 'UNIQUE constraint failed' }, 'the database failed'],
    [{ code: 'ENOSPC', message: 'no space left on device, write' }, "the database's disk is full"],
    [new Error('timeout exceeded when trying to connect'), 'the database cannot be reached'],
    [new Error('Connection terminated due to connection timeout'), 'the database cannot be reached'],
    // through what wraps it (a failed migration)
    [
      new Error('the database migrations could not run', { cause: { code: 'ECONNREFUSED' } }),
      'the database cannot be reached',
    ],
    [{ code: '22P02', message: 'invalid input syntax for type uuid: "secret"' }, 'the database failed'],
    [new Error('something else at /srv/sms'), 'the database failed'],
    ['a string', 'the database failed'],
    [undefined, 'the database failed'],
  ])('%j: %s', (error, kind) => {
    expect(failureKind(error)).toBe(kind);
  });
});
