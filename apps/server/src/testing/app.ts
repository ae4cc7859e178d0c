import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConsistencyResult, passwordTokenRequest, type Role } from '@sms/domain';
import { createApp } from '../http/app.js';
import { trustedProxies } from '../http/client-address.js';
import { createMemoryLogger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { createServices } from '../server.js';
import type { SignInLimits } from '../services/auth-service.js';
import { Storage, type StorageEvents } from '../storage/storage.js';
import { createTestDatabase } from './postgres.js';

export type TestDialect = 'sqlite' | 'postgres';

export const ADMIN_PASSWORD = 'admin-password-1';

/** A result with every count valid; patch what a test needs. */
export function result(dirCheck: string, patch: Partial<ConsistencyResult> = {}): ConsistencyResult {
  return {
    dir_check: dirCheck,
    num_total_files: 100,
    num_different_files: 1,
    num_target_miss_files: 2,
    num_target_more_files: 3,
    ...patch,
  };
}

/** Opens a fresh storage of the given kind; `cleanup` closes and removes it. */
export async function openTestStorage(
  dialect: TestDialect,
  events?: StorageEvents,
): Promise<{ storage: Storage; cleanup: () => Promise<void> }> {
  if (dialect === 'postgres') {
    const database = await createTestDatabase();
    const storage = await Storage.open({
      databaseUrl: database.url,
      dataDir: '',
      ...(events ? { events } : {}),
    });
    return {
      storage,
      cleanup: async () => {
        await storage.close().catch(() => {});
        await database.drop();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'sms-test-'));
  const storage = await Storage.open({ dataDir: dir, ...(events ? { events } : {}) });
  return {
    storage,
    cleanup: async () => {
      await storage.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A user `createTestApp` adds, with a role in a project (created if needed). */
export interface TestUser {
  name: string;
  password: string;
  role: Role;
  project?: string;
}

export interface TestAppOptions {
  /** `sqlite` (default: a fresh data directory) or `postgres` (a fresh database on `SMS_TEST_PG_URL`). */
  dialect?: TestDialect;
  tokenTtlSeconds?: number;
  signInLimits?: SignInLimits;
  /** `SMS_TRUSTED_PROXIES` */
  trustedProxies?: string[];
  /** Users besides `admin` (password `ADMIN_PASSWORD`, project `default`). */
  users?: readonly TestUser[];
  /**
   * `frozen` (default): the server's time stands still until `advanceClock`;
   * `running`: it follows the real time, `advanceClock` moving it ahead.
   */
  clock?: 'frozen' | 'running';
  /** As with `SMS_METRICS=1`: requests measured, `GET /metrics` served (`metrics` in the result). */
  metrics?: boolean;
}

/**
 * The real app on real storage, in-process: an admin in project `default`
 * (and `users`), a clock the test can move, and helpers for tokens, users,
 * tasks and uploads. `app.fetch` answers like the server on a port.
 */
export async function createTestApp(options: TestAppOptions = {}) {
  const metrics = options.metrics ? createMetrics() : undefined;
  const { storage, cleanup } = await openTestStorage(options.dialect ?? 'sqlite', metrics?.storage);
  const start = Date.now();
  let offset = 0;
  const running = options.clock === 'running';
  const clock = () => (running ? Date.now() : start) + offset;
  const services = await createServices(storage, {
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    clock,
    ...(options.signInLimits ? { signInLimits: options.signInLimits } : {}),
  });
  await services.users.addUser('admin', ADMIN_PASSWORD, 'default', 'admin', { createProject: true });
  for (const user of options.users ?? []) {
    const project = user.project ?? 'default';
    if (!(await storage.accounts.findProject({ name: project }))) await services.users.addProject(project);
    await services.users.addUser(user.name, user.password, project, user.role);
  }
  const logger = createMemoryLogger();
  const app = createApp({
    ...services,
    logger,
    trustedProxies: trustedProxies(options.trustedProxies ?? []),
    ...(metrics ? { metrics } : {}),
  });

  /** A request in-process; with `peer`, as if its connection came from that address. */
  const request = (path: string, init: RequestInit = {}, peer?: string) =>
    app.request(
      path,
      init,
      peer === undefined ? undefined : { incoming: { socket: { remoteAddress: peer } } },
    );

  async function tokenFor(user: string, password: string, project?: string): Promise<string> {
    const res = await request('/v3/auth/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(passwordTokenRequest({ user, password, ...(project ? { project } : {}) })),
    });
    const token = res.headers.get('x-subject-token');
    if (res.status !== 201 || !token)
      throw new Error(`no token for ${user}: ${res.status} ${await res.text()}`);
    return token;
  }

  /** A user with a role in a project (created if needed), and a token for it. */
  async function userWithToken(name: string, role: Role, project = 'default') {
    const password = `${name}-password`;
    if (!(await storage.accounts.findProject({ name: project }))) await services.users.addProject(project);
    await services.users.addUser(name, password, project, role);
    return { name, password, token: await tokenFor(name, password, project) };
  }

  const adminToken = await tokenFor('admin', ADMIN_PASSWORD, 'default');

  async function createTask(token = adminToken, name = 'web-01'): Promise<string> {
    const res = await request('/v3/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify({ name }),
    });
    if (res.status !== 200) throw new Error(`task not created: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  }

  function upload(
    taskId: string,
    body: unknown,
    headers: Record<string, string> = {},
    token: string | null = adminToken,
  ) {
    return request(`/v3/tasks/${taskId}/consistency-result`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === null ? {} : { 'x-auth-token': token }),
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  /** `POST …/consistency-result/files`: lines (objects, or NDJSON text as is) of run `runId`. */
  function uploadFindings(
    taskId: string,
    runId: string,
    lines: readonly unknown[] | string | Uint8Array | ReadableStream<Uint8Array>,
    headers: Record<string, string> = {},
    token: string | null = adminToken,
  ) {
    return request(`/v3/tasks/${taskId}/consistency-result/files`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-ndjson',
        'x-sms-run-id': runId,
        ...(token === null ? {} : { 'x-auth-token': token }),
        ...headers,
      },
      body:
        typeof lines === 'string' || lines instanceof Uint8Array || lines instanceof ReadableStream
          ? lines
          : lines.map((l) => `${JSON.stringify(l)}\n`).join(''),
      ...(lines instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
  }

  return {
    app,
    metrics,
    storage,
    services,
    logger,
    request,
    tokenFor,
    userWithToken,
    adminToken,
    createTask,
    upload,
    uploadFindings,
    /** Moves the server's time ahead (token issue and expiry, the dashboard's "ago"). */
    advanceClock: (ms: number) => {
      offset += ms;
    },
    close: async () => {
      await services.findings.swept();
      await cleanup();
    },
  };
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;
