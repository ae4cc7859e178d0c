import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmsClient } from '@sms/client';
import { type ServerProcess, startServerProcess } from '@sms/server/testing';
import { afterAll, beforeAll } from 'vitest';

export const ADMIN_PASSWORD = 'e2e-admin-password';
/** The agent's environment for the admin of the server below. */
export const ADMIN_ENV = { SMS_USERNAME: 'admin', SMS_PASSWORD: ADMIN_PASSWORD, SMS_PROJECT: 'default' };

/**
 * The built sms-server as a process on a data directory of its own, which
 * `restart` keeps (the same port, the same database) and `close` removes.
 */
export async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'sms-agent-e2e-'));
  const start = (port = 0): Promise<ServerProcess> =>
    startServerProcess({
      PORT: String(port),
      SMS_DATA_DIR: dataDir,
      SMS_ADMIN_PASSWORD: ADMIN_PASSWORD,
      SMS_LOG_LEVEL: 'warn',
    });
  let running = await start();
  return {
    dataDir,
    get url() {
      return running.url;
    },
    get process() {
      return running;
    },
    /** A client signed in as the admin. */
    admin: () =>
      new SmsClient({
        endpoint: running.url,
        credentials: { user: 'admin', password: ADMIN_PASSWORD, project: 'default' },
      }),
    stop: () => running.stop(),
    /** Starts it again on the same port and data. */
    restart: async () => {
      running = await start(running.port);
    },
    close: async () => {
      await running.stop().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type TestServer = Awaited<ReturnType<typeof startServer>>;

/** The server of a test file, started before its tests and removed after them; `admin` is its admin's client. */
export function serverForTests() {
  const held = {} as { server: TestServer; admin: SmsClient };
  beforeAll(async () => {
    held.server = await startServer();
    held.admin = held.server.admin();
  });
  afterAll(() => held.server.close());
  return held;
}
