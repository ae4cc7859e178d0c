import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { ErrorResponseSchema } from '@sms/domain';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../env.js';
import { createMemoryLogger } from '../logger.js';
import { type RunningServer, startServer } from '../server.js';
import { apiOf } from '../test-support/client.js';
import { createTestDatabase, TEST_PG_URL } from '../testing/postgres.js';

/** A TCP proxy in front of PostgreSQL: closing it is the outage, reopening it the recovery. */
class DatabaseProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = createConnection(this.targetPort, this.targetHost);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let proxy: DatabaseProxy;
const log = createMemoryLogger('error');
let server: RunningServer;
let token: string;
let taskId: string;
const PASSWORD = 'outage-admin-pw';

beforeAll(async () => {
  database = await createTestDatabase();
  const target = new URL(TEST_PG_URL);
  proxy = new DatabaseProxy(target.hostname, Number(target.port || 5432));
  await proxy.open();
  const url = new URL(database.url);
  url.port = String(proxy.port);
  server = await startServer(
    loadConfig({ PORT: '0', DATABASE_URL: url.toString(), SMS_ADMIN_PASSWORD: PASSWORD }),
    log,
  );
  const api = apiOf(server.url);
  token = await api.token('admin', PASSWORD);
  taskId = await api.createTask(token, 'outage');
});

afterAll(async () => {
  await server?.close().catch(() => {});
  await proxy?.cut().catch(() => {});
  await database?.drop();
});

const upload = (name: string) =>
  fetch(`${server.url}/v3/tasks/${taskId}/consistency-result`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-auth-token': token },
    body: JSON.stringify({
      consistency_result: [
        {
          dir_check: name,
          num_total_files: 1,
          num_different_files: 0,
          num_target_miss_files: 0,
          num_target_more_files: 0,
        },
      ],
    }),
  });

describe('PostgreSQL goes away and comes back', () => {
  it('answers 500 SMS.2008 and /readyz 503 while it is gone, and recovers without a restart', {
    timeout: 60_000,
  }, async () => {
    expect((await upload('/before')).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    await proxy.cut();
    for (const name of ['/during-1', '/during-2']) {
      const res = await upload(name);
      expect(res.status).toBe(500);
      const error = v.parse(ErrorResponseSchema, await res.json());
      expect(error.error_code).toBe('SMS.2008');
      // what kind of failure and what to do, not the driver's words, which name the database's address
      expect(error.error_msg).toMatch(
        /^Storage failed \(.+\): the (database cannot be reached|connection to the database (failed|was lost)); nothing was stored: retry later/,
      );
      expect(error.error_msg).not.toContain(String(proxy.port));
      expect(log.lines.join('\n')).toContain(res.headers.get('x-request-id')!);
    }
    const notReady = await fetch(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    const readiness = (await notReady.json()) as { status: string; reason: string };
    expect(readiness.status).toBe('not ready');
    expect(readiness.reason).toMatch(
      /^the (database cannot be reached|connection to the database (failed|was lost))$/,
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    await proxy.open(); // the same port: the database is back
    let recovered = false;
    for (let attempt = 0; attempt < 50 && !recovered; attempt++) {
      recovered = (await fetch(`${server.url}/readyz`)).status === 200;
      if (!recovered) await new Promise((r) => setTimeout(r, 100));
    }
    expect(recovered).toBe(true);
    expect((await upload('/after')).status).toBe(200);

    const history = await fetch(`${server.url}/v3/tasks/${taskId}/consistency-result`, {
      headers: { 'x-auth-token': token },
    });
    const names = (
      (await history.json()) as { result_list: { consistency_result: { dir_check: string }[] }[] }
    ).result_list.map((e) => e.consistency_result[0]!.dir_check);
    expect(names.sort()).toEqual(['/after', '/before']);
  });
});
