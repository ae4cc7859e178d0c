import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_PG_URL } from '../testing/postgres.js';
import { runServerCli, SERVER_BIN } from '../testing/process.js';

// What the operator reads when the server cannot start on its database: what failed, what the
// database said, and what to do
const root = mkdtempSync(join(tmpdir(), 'sms-startup-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A port of 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('a server that cannot start on its database', () => {
  it('says that nothing answers at the address of DATABASE_URL, and what to do', async () => {
    const port = await closedPort();
    const run = await runServerCli(['serve'], {
      DATABASE_URL: `postgres://sms:secret-pw@127.0.0.1:${port}/sms`,
      PORT: '0',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `nothing answers at 127.0.0.1:${port}/sms (DATABASE_URL): start PostgreSQL there, or correct the URL`,
    );
    expect(run.stderr).toContain('sms-server: Storage failed (migrate): the database cannot be reached\n');
    expect(run.stderr).toContain(
      'the database said: the database migrations could not run: connect ECONNREFUSED',
    );
    expect(run.stderr).not.toContain('secret-pw');
  });

  it('says that the database of DATABASE_URL does not exist', async () => {
    const url = new URL(TEST_PG_URL);
    url.pathname = '/sms_no_such_database';
    const run = await runServerCli(['serve'], { DATABASE_URL: url.toString(), PORT: '0' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the database of DATABASE_URL does not exist: create it (createdb)');
  });

  it('names the SQLite file this user cannot write, and what to do', async () => {
    expect(process.getuid?.()).toBe(0); // the tests run as root, to run the server as another user
    const dataDir = join(root, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    chmodSync(root, 0o755);
    chownSync(dataDir, 65534, 65534);
    const asNobody = (args: string[]) =>
      spawnSync(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, SERVER_BIN, ...args],
        {
          env: {
            PATH: process.env.PATH ?? '',
            SMS_DATA_DIR: dataDir,
            SMS_ADMIN_PASSWORD: 'startup-pw',
            PORT: '0',
          },
          encoding: 'utf8',
          timeout: 20_000,
        },
      );
    // made by its owner, then made read-only (a restore that kept the wrong mode)
    expect(asNobody(['project', 'add', 'p']).status).toBe(0);
    chmodSync(join(dataDir, 'sms.sqlite'), 0o400);
    const run = asNobody(['serve']);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('the database cannot be written');
    expect(run.stderr).toContain('the database said: attempt to write a readonly database');
    expect(run.stderr).toContain(
      `${join(dataDir, 'sms.sqlite')} (and its directory, for the journal) must be writable by this user (uid 65534)`,
    );
  });
});
