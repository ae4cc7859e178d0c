/**
 * `@sms/server/testing`: the server as tests of other packages use it, so
 * that none of them builds it again or imports another package's `src`.
 *
 * - `createTestApp`: the real app on real storage, in-process (`app.fetch`,
 *   `request`), with users, tokens, tasks and uploads at hand.
 * - `startServerProcess` / `runServerCli`: the built `sms-server` as a real
 *   process on a free port, for what only a process shows (signals, logs).
 * - `createTestDatabase`: a fresh PostgreSQL database on `SMS_TEST_PG_URL`.
 */
export {
  ADMIN_PASSWORD,
  createTestApp,
  openTestStorage,
  result,
  type TestApp,
  type TestAppOptions,
  type TestDialect,
  type TestUser,
} from './app.js';
export { createTestDatabase, TEST_PG_URL } from './postgres.js';
export { runServerCli, SERVER_BIN, type ServerProcess, startServerProcess } from './process.js';
