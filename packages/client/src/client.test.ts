import { ShowConsistencyResultResponseSchema } from '@sms/domain';
import * as v from 'valibot';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SmsClient } from './client.js';
import {
  isSmsApiError,
  isSmsClientError,
  isSmsForbiddenError,
  isSmsNetworkError,
  SmsApiError,
  SmsForbiddenError,
  SmsNetworkError,
  SmsResponseError,
  SmsValidationError,
} from './errors.js';
import { ADMIN, AGENT, createTestServer, type TestServer, VIEWER } from './test-support/server.js';
import { CLIENT_VERSION } from './version.js';

const ENDPOINT = 'http://sms.test';
const fast = { limit: 3, delay: () => 5, jitter: false } as const;
const result = (dir: string, total = 10) => ({
  dir_check: dir,
  num_total_files: total,
  num_different_files: 1,
  num_target_miss_files: 1,
  num_target_more_files: 0,
});

let server: TestServer;
let admin: SmsClient;
let agent: SmsClient;
beforeAll(async () => {
  server = await createTestServer();
  admin = new SmsClient({ endpoint: ENDPOINT, credentials: ADMIN, fetch: server.fetch, retry: fast });
  agent = new SmsClient({ endpoint: ENDPOINT, credentials: AGENT, fetch: server.fetch, retry: fast });
});
afterAll(() => server.close());
beforeEach(() => server.reset());

describe('SmsClient methods', () => {
  it('creates, shows, lists and deletes tasks', async () => {
    const { id } = await admin.createTask({ name: 'web-01' });
    expect((await admin.showTask(id)).name).toBe('web-01');
    const { count, tasks } = await admin.listTasks({ name: 'web-01', limit: 10 });
    expect(count).toBe(1);
    expect(tasks[0]?.id).toBe(id);
    await admin.deleteTask(id);
    await expect(admin.showTask(id)).rejects.toMatchObject({
      name: 'SmsApiError',
      status: 404,
      errorCode: 'SMS.3001',
    });
  });

  it('uploads results and reads them back', async () => {
    const { id } = await admin.createTask({ name: 'upload' });
    await agent.updateConsistencyResult(id, [result('/root/data'), result('/var')]);
    const history = await admin.showConsistencyResult(id);
    expect(v.is(ShowConsistencyResultResponseSchema, history)).toBe(true);
    expect(history.result_list[0]?.consistency_result.map((r) => r.dir_check)).toEqual([
      '/root/data',
      '/var',
    ]);
    expect(history.result_list[0]?.check_result).toBe('INCONSISTENT');
  });

  it('sends a User-Agent naming the package and version, and an Idempotency-Key with the upload', async () => {
    const { id } = await admin.createTask({ name: 'headers' });
    server.reset();
    await agent.updateConsistencyResult(id, []);
    const upload = server.seen.find((r) => r.method === 'POST' && r.url.endsWith('/consistency-result'))!;
    expect(upload.headers.get('user-agent')).toBe(`@sms/client/${CLIENT_VERSION}`);
    expect(upload.headers.get('idempotency-key')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('validation before sending', () => {
  it('throws SmsValidationError naming the field and sends nothing', async () => {
    const cases: [() => Promise<unknown>, string][] = [
      [
        () => agent.updateConsistencyResult('t', [{ ...result('/a'), num_total_files: 1_000_001 }]),
        'invalid body: consistency_result[0].num_total_files: expected integer <= 1000000, received 1000001',
      ],
      [
        () =>
          agent.updateConsistencyResult(
            't',
            Array.from({ length: 31 }, (_, i) => result(`/d${i}`)),
          ),
        'invalid body: consistency_result: expected at most 30 items, received 31',
      ],
      [
        () => agent.updateConsistencyResult('x'.repeat(37), []),
        'invalid task_id: task_id: expected at most 36 characters, received 37',
      ],
      [
        () => agent.updateConsistencyResult('t', [], { idempotencyKey: 'a b' }),
        'invalid idempotencyKey: idempotencyKey: expected printable ASCII characters without spaces',
      ],
      [() => admin.listTasks({ limit: 101 }), 'invalid params: limit: expected integer <= 100, received 101'],
      [() => admin.createTask({ name: '' }), 'invalid body: name: must not be empty'],
    ];
    for (const [call, message] of cases) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SmsValidationError);
      expect((error as SmsValidationError).message).toBe(message);
      expect((error as SmsValidationError).issues.length).toBeGreaterThan(0);
    }
    expect(server.attempts).toHaveLength(0);
  });

  it('refuses bad options at construction', () => {
    expect(() => new SmsClient({ endpoint: 'not a url' })).toThrow(SmsValidationError);
    // a host and port without a scheme parse as a URL of scheme "localhost:"
    for (const endpoint of ['localhost:8080', 'sms.example.com:443/x', 'ftp://h/'])
      expect(() => new SmsClient({ endpoint })).toThrow(
        `invalid options: endpoint ${JSON.stringify(endpoint)} is not an http:// or https:// URL (give http://HOST:PORT)`,
      );
    expect(new SmsClient({ endpoint: 'https://sms.example.com:8443/' }).endpoint).toBe(
      'https://sms.example.com:8443',
    );
    expect(() => new SmsClient({ endpoint: ENDPOINT, token: 't', credentials: ADMIN })).toThrow(
      'give token or credentials, not both',
    ); // ky would time every attempt out at once on 0, and throw a RangeError past 2^31 - 1
    for (const timeout of [0, -1, 1.5, Number.NaN, 2_147_483_648])
      expect(() => new SmsClient({ endpoint: ENDPOINT, timeout })).toThrow(
        `invalid options: timeout ${String(timeout)} is not a whole number of milliseconds 1..2147483647`,
      );
    for (const timeout of [1, 2_147_483_647])
      expect(new SmsClient({ endpoint: ENDPOINT, timeout })).toBeTruthy();
    // a static token is checked as the API checks it, and as a header must carry it
    expect(() => new SmsClient({ endpoint: ENDPOINT, token: '' })).toThrow('invalid token:');
    expect(() => new SmsClient({ endpoint: ENDPOINT, token: 'x'.repeat(16_385) })).toThrow('invalid token:');
    expect(() => new SmsClient({ endpoint: ENDPOINT, token: 'bad\ntoken' })).toThrow(
      'invalid token: expected printable ASCII characters without spaces, as the X-Auth-Token header carries it',
    );
    expect(new SmsClient({ endpoint: ENDPOINT, token: 'x'.repeat(16_384) })).toBeTruthy();
    // as fetch does, the ends are trimmed: a token read from a file with its line end
    for (const token of ['tok\r\n', ' tok\n'])
      expect(new SmsClient({ endpoint: ENDPOINT, token })).toBeTruthy();
  });
});

describe('errors', () => {
  it('turns a 404 into SmsApiError with status, code, message, request id and body', async () => {
    const error = (await admin.showTask('missing').catch((e: unknown) => e)) as SmsApiError;
    expect(error).toBeInstanceOf(SmsApiError);
    expect(error).toMatchObject({
      name: 'SmsApiError',
      status: 404,
      errorCode: 'SMS.3001',
      errorMsg: 'The task "missing" was not found.',
    });
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.body).toEqual({ error_code: 'SMS.3001', error_msg: 'The task "missing" was not found.' });
    expect(isSmsApiError(error)).toBe(true);
    expect(isSmsForbiddenError(error)).toBe(false);
  });

  it('turns a 403 into SmsForbiddenError with the encoded message, params and details', async () => {
    const { id } = await admin.createTask({ name: 'forbidden' });
    const viewer = new SmsClient({
      endpoint: ENDPOINT,
      credentials: VIEWER,
      fetch: server.fetch,
      retry: fast,
    });
    const error = (await viewer
      .updateConsistencyResult(id, [])
      .catch((e: unknown) => e)) as SmsForbiddenError;
    expect(error).toBeInstanceOf(SmsForbiddenError);
    expect(error).toBeInstanceOf(SmsApiError);
    expect(error).toMatchObject({ name: 'SmsForbiddenError', status: 403, errorCode: 'SMS.9004' });
    expect(error.encodedAuthorizationMessage).toMatch(/^[\w-]+$/);
    expect(error.errorParam[0]).toContain('sms:server:updateConsistencyCheckResult');
    expect(error.details[0]?.error_code).toBe('SMS.9004');
  });

  it('turns an unreachable server into SmsNetworkError with the cause', async () => {
    const offline = new SmsClient({ endpoint: 'http://127.0.0.1:1', token: 't', retry: 0 });
    const error = (await offline.showTask('x').catch((e: unknown) => e)) as SmsNetworkError;
    expect(error).toBeInstanceOf(SmsNetworkError);
    expect(error.message).toMatch(/^could not reach http:\/\/127\.0\.0\.1:1/);
    expect(error.cause).toBeInstanceOf(Error);
    expect(isSmsNetworkError(error)).toBe(true);
  });

  it('turns a timeout into SmsNetworkError', async () => {
    const { token } = await admin.createToken();
    const slow = new SmsClient({ endpoint: ENDPOINT, token, fetch: server.fetch, retry: 0, timeout: 100 });
    server.inject({ kind: 'hang' });
    const error = await slow.showTask('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmsNetworkError);
    expect((error as Error).message).toContain(
      "timed out: no answer within 100 ms (the timeout is each attempt's",
    );
  });

  it("keeps the answer's Retry-After, in seconds or as a date, and none when it has none", async () => {
    const answering =
      (retryAfter: string | undefined): typeof fetch =>
      async () =>
        new Response(JSON.stringify({ error_code: 'SMS.2010', error_msg: 'busy' }), {
          status: 503,
          headers: {
            'content-type': 'application/json',
            ...(retryAfter ? { 'retry-after': retryAfter } : {}),
          },
        });
    const errorWith = async (retryAfter: string | undefined) => {
      const client = new SmsClient({
        endpoint: ENDPOINT,
        token: 't',
        fetch: answering(retryAfter),
        retry: 0,
      });
      return (await client.showTask('t1').catch((e: unknown) => e)) as SmsApiError;
    };
    expect(await errorWith('2')).toMatchObject({ status: 503, errorCode: 'SMS.2010', retryAfterMs: 2000 });
    expect((await errorWith(undefined)).retryAfterMs).toBeUndefined();
    // what Date.parse would read as some date, two values joined, and too long
    for (const odd of ['soon', '-1', '1.5', '+2', '2, 2', '9'.repeat(400)])
      expect((await errorWith(odd)).retryAfterMs, odd).toBeUndefined();
    expect((await errorWith('99999999')).retryAfterMs).toBe(24 * 3600 * 1000);
    expect((await errorWith('Thu, 01 Jan 1970 00:00:00 GMT')).retryAfterMs).toBe(0);
    const inTenSeconds = (await errorWith(new Date(Date.now() + 10_000).toUTCString())).retryAfterMs!;
    expect(inTenSeconds).toBeGreaterThan(8000);
    expect(inTenSeconds).toBeLessThanOrEqual(10_000);
  });

  it('throws SmsResponseError when the answer breaks the contract', async () => {
    const liar: typeof fetch = async () =>
      new Response(JSON.stringify({ id: 42 }), { headers: { 'content-type': 'application/json' } });
    const client = new SmsClient({ endpoint: ENDPOINT, token: 't', fetch: liar });
    const error = (await client.createTask({ name: 'x' }).catch((e: unknown) => e)) as SmsResponseError;
    expect(error).toBeInstanceOf(SmsResponseError);
    expect(error.message).toBe(
      "the server's answer (200) does not match the API: id: expected string, received 42",
    );
  });

  it('recognises its errors across realms by brand, not by class', () => {
    const foreign = { [Symbol.for('@sms/client/error')]: 'forbidden', status: 403 };
    expect(isSmsForbiddenError(foreign)).toBe(true);
    expect(isSmsApiError(foreign)).toBe(true);
    expect(isSmsClientError(foreign)).toBe(true);
    expect(isSmsApiError(new Error('x'))).toBe(false);
    expect(isSmsClientError(null)).toBe(false);
  });

  it('stops at once when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await admin.listTasks({}, { signal: controller.signal }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
  });

  it("rejects with the caller's own reason when it aborts during a call, not a network error", async () => {
    const { id } = await admin.createTask({ name: 'aborted' });
    for (const reason of [new Error('shutting down'), 'a string reason']) {
      server.reset();
      server.inject({ kind: 'hang' });
      const controller = new AbortController();
      setTimeout(() => controller.abort(reason), 100);
      const started = Date.now();
      const error = await agent
        .updateConsistencyResult(id, [result('/a')], { signal: controller.signal })
        .catch((e: unknown) => e);
      expect(error).toBe(reason);
      expect(Date.now() - started).toBeLessThan(5_000);
    }
  });
});

describe('retries', () => {
  it('retries an upload after injected 503s and 500s and stores it once', async () => {
    const { id } = await admin.createTask({ name: 'retry' });
    server.reset();
    server.inject({ kind: 'status', status: 503 }, { kind: 'status', status: 500 });
    await agent.updateConsistencyResult(id, [result('/retry')]);
    expect(server.attempts.filter((r) => r.url.endsWith('/consistency-result'))).toHaveLength(3);
    const keys = new Set(server.attempts.map((r) => r.headers.get('idempotency-key')));
    expect(keys.size).toBe(1);
    expect((await admin.showConsistencyResult(id)).result_list).toHaveLength(1);
  });

  it('honours Retry-After on 503 and 429', async () => {
    server.inject(
      { kind: 'status', status: 429, headers: { 'retry-after': '0' } },
      { kind: 'status', status: 503, headers: { 'retry-after': '0' } },
    );
    await expect(admin.listTasks()).resolves.toMatchObject({ count: expect.any(Number) });
    expect(server.attempts).toHaveLength(3);
  });

  it('answers at once when the server asks for a longer wait than it waits (a sign-in lockout), not after four retries', async () => {
    await admin.createToken();
    server.reset();
    server.inject({
      kind: 'status',
      status: 429,
      headers: { 'retry-after': '900', 'content-type': 'application/json' },
    });
    const started = Date.now();
    const error = (await admin.listTasks().catch((e: unknown) => e)) as SmsApiError;
    expect(error).toBeInstanceOf(SmsApiError);
    expect(error.status).toBe(429);
    expect(server.attempts).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    // where Retry-After is not honoured (a 500), the usual backoff goes on
    server.reset();
    server.inject({ kind: 'status', status: 500, headers: { 'retry-after': '900' } });
    await expect(admin.listTasks()).resolves.toMatchObject({ count: expect.any(Number) });
    expect(server.attempts).toHaveLength(2);
  });

  it('retries after a dropped answer without storing the upload twice', async () => {
    const { id } = await admin.createTask({ name: 'dropped' });
    server.reset();
    server.inject({ kind: 'drop-response' }, { kind: 'network' });
    await agent.updateConsistencyResult(id, [result('/once')]);
    // the server saw the upload twice (the first answer was lost) and stored it once
    expect(server.seen.filter((r) => r.url.endsWith('/consistency-result'))).toHaveLength(2);
    const history = await admin.showConsistencyResult(id);
    expect(history.result_list).toHaveLength(1);
  });

  it.each([400, 403, 404, 409])('does not retry a %i answer', async (status) => {
    await admin.createToken();
    server.reset();
    server.inject({ kind: 'status', status });
    const error = await admin.listTasks().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmsApiError);
    expect((error as SmsApiError).status).toBe(status);
    expect(server.attempts).toHaveLength(1);
  });

  it('does not retry a 403', async () => {
    const { id } = await admin.createTask({ name: 'no-retry-403' });
    const viewer = new SmsClient({
      endpoint: ENDPOINT,
      credentials: VIEWER,
      fetch: server.fetch,
      retry: fast,
    });
    await viewer.createToken();
    server.reset();
    await expect(viewer.updateConsistencyResult(id, [])).rejects.toBeInstanceOf(SmsForbiddenError);
    expect(server.attempts).toHaveLength(1);
  });

  it('does not retry createTask, which is not idempotent', async () => {
    await admin.createToken();
    server.reset();
    server.inject({ kind: 'status', status: 503 });
    await expect(admin.createTask({ name: 'once' })).rejects.toMatchObject({ status: 503 });
    expect(server.attempts).toHaveLength(1);
  });

  it('gives up after the retry limit with the last error', async () => {
    await admin.createToken();
    server.reset();
    server.inject(...Array.from({ length: 4 }, () => ({ kind: 'status' as const, status: 502 })));
    await expect(admin.listTasks()).rejects.toMatchObject({ name: 'SmsApiError', status: 502 });
    expect(server.attempts).toHaveLength(4);
  });
});

describe('tokens', () => {
  it('signs in once, caches the token, and shares one sign-in among concurrent calls', async () => {
    const client = new SmsClient({ endpoint: ENDPOINT, credentials: ADMIN, fetch: server.fetch });
    await Promise.all([client.listTasks(), client.listTasks(), client.listTasks()]);
    await client.listTasks();
    expect(server.seen.filter((r) => r.url.endsWith('/v3/auth/tokens'))).toHaveLength(1);
  });

  it('renews the token shortly before it expires, by its own clock', async () => {
    const shortLived = await createTestServer({ tokenTtlSeconds: 120 });
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const client = new SmsClient({ endpoint: ENDPOINT, credentials: ADMIN, fetch: shortLived.fetch });
      await client.listTasks();
      vi.setSystemTime(Date.now() + 59_000); // 61 s left: still more than half the lifetime
      await client.listTasks();
      expect(shortLived.seen.filter((r) => r.url.endsWith('/v3/auth/tokens'))).toHaveLength(1);
      vi.setSystemTime(Date.now() + 2_000); // 59 s left: renew before it runs out
      await client.listTasks();
      expect(shortLived.seen.filter((r) => r.url.endsWith('/v3/auth/tokens'))).toHaveLength(2);
    } finally {
      vi.useRealTimers();
      await shortLived.close();
    }
  });

  it('signs in again once when the server refuses the token (SMS.9001), not on SMS.9004', async () => {
    const client = new SmsClient({ endpoint: ENDPOINT, credentials: AGENT, fetch: server.fetch });
    const { id } = await admin.createTask({ name: 'renew' });
    await client.createToken();
    server.shiftServerClock(2 * 3600 * 1000); // the cached token has expired on the server
    try {
      await client.updateConsistencyResult(id, []);
      expect(server.seen.filter((r) => r.url.endsWith('/v3/auth/tokens'))).toHaveLength(2);
      server.reset();
      await expect(client.showConsistencyResult(id)).rejects.toMatchObject({ errorCode: 'SMS.9004' });
      expect(server.seen.filter((r) => r.url.endsWith('/v3/auth/tokens'))).toHaveLength(0);
    } finally {
      server.shiftServerClock(-2 * 3600 * 1000);
    }
  });

  it('reports wrong credentials as SmsApiError 401 without looping', async () => {
    const client = new SmsClient({
      endpoint: ENDPOINT,
      credentials: { ...ADMIN, password: 'wrong-password' },
      fetch: server.fetch,
    });
    await expect(client.listTasks()).rejects.toMatchObject({
      name: 'SmsApiError',
      status: 401,
      errorCode: 'SMS.9002',
    });
    expect(server.attempts).toHaveLength(1);
  });

  it('sends a static token as given', async () => {
    const { token } = await admin.createToken();
    const client = new SmsClient({ endpoint: ENDPOINT, token, fetch: server.fetch });
    server.reset();
    await client.listTasks();
    expect(server.seen[0]?.headers.get('x-auth-token')).toBe(token);
  });
});

describe('signing with an access key (AK/SK), as the official SDKs sign', () => {
  let key: { accessKey: string; secretKey: string; projectId: string };
  beforeAll(async () => {
    const created = await server.services.accessKeys.createFor(ADMIN.user, 'client tests');
    const project = await server.storage.accounts.findProject({ name: ADMIN.project });
    key = {
      accessKey: created.credential.access,
      secretKey: created.credential.secret,
      projectId: project!.id,
    };
  });
  const signer = (credentials: Partial<typeof key> = key) =>
    new SmsClient({
      endpoint: ENDPOINT,
      credentials: credentials as typeof key,
      fetch: server.fetch,
      retry: fast,
    });
  const wrongSecret = () => `${key.secretKey.slice(0, -1)}${key.secretKey.endsWith('X') ? 'Y' : 'X'}`;

  it('uploads, reads and lists as the key’s user, every request signed and none asking for a token', async () => {
    const { id } = await admin.createTask({ name: 'signed' });
    server.reset();
    const client = signer();
    await client.updateConsistencyResult(id, [result('/srv/signed')]);
    const history = await client.showConsistencyResult(id);
    expect(history.result_list[0]?.consistency_result[0]?.dir_check).toBe('/srv/signed');
    const { tasks } = await client.listTasks({ name: 'signed', limit: 5 });
    expect(tasks.map((task) => task.id)).toContain(id);
    expect(server.seen).toHaveLength(3);
    const upload = server.seen[0]!;
    expect(upload.headers.get('authorization')).toMatch(
      new RegExp(
        `^SDK-HMAC-SHA256 Access=${key.accessKey}, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=[0-9a-f]{64}$`,
      ),
    );
    expect(upload.headers.get('x-sdk-date')).toMatch(/^\d{8}T\d{6}Z$/);
    expect(upload.headers.get('x-project-id')).toBe(key.projectId);
    for (const request of server.seen) {
      expect(request.headers.get('x-auth-token')).toBeNull();
      expect(request.headers.get('authorization')).toMatch(/^SDK-HMAC-SHA256 /);
    }
    expect(server.seen[2]!.headers.get('authorization')).toContain(
      'SignedHeaders=host;x-project-id;x-sdk-date,',
    );
  });

  it('signs every attempt of a retried upload again', async () => {
    const { id } = await admin.createTask({ name: 'signed-retry' });
    server.reset();
    server.inject({ kind: 'status', status: 503 });
    await signer().updateConsistencyResult(id, [result('/srv/retried')]);
    expect(server.attempts).toHaveLength(2);
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]!.headers.get('authorization')).toMatch(/^SDK-HMAC-SHA256 /);
  });

  it('takes the user’s only project when no project id is given', async () => {
    const { projectId: _, ...withoutProject } = key;
    server.reset();
    await signer(withoutProject).listTasks();
    expect(server.seen[0]!.headers.get('x-project-id')).toBeNull();
  });

  it('is refused with the server’s code: a wrong secret (SMS.9007), an unknown key (SMS.9006), a project of no role (SMS.9010), a clock 20 minutes off (SMS.9008)', async () => {
    const refused = (credentials: Partial<typeof key>, code: string) =>
      expect(signer(credentials).listTasks()).rejects.toMatchObject({
        name: 'SmsForbiddenError',
        status: 403,
        errorCode: code,
      });
    server.reset();
    await refused({ ...key, secretKey: wrongSecret() }, 'SMS.9007');
    expect(server.attempts).toHaveLength(1);
    await refused({ ...key, accessKey: 'ABCDEFGHIJ0123456789' }, 'SMS.9006');
    await refused({ ...key, projectId: 'no-such-project' }, 'SMS.9010');
    server.shiftServerClock(20 * 60 * 1000);
    try {
      await refused(key, 'SMS.9008');
    } finally {
      server.shiftServerClock(-20 * 60 * 1000);
    }
    expect(server.seen.some((r) => r.url.endsWith('/v3/auth/tokens'))).toBe(false);
  });

  it('checks the key before sending anything, and gets no token with it', async () => {
    expect(() => signer({ ...key, accessKey: 'not-a-key' })).toThrow(SmsValidationError);
    expect(() => signer({ ...key, secretKey: '' })).toThrow(/secret key/);
    expect(
      () =>
        new SmsClient({
          endpoint: ENDPOINT,
          credentials: { ...key, ...ADMIN } as unknown as typeof key,
        }),
    ).toThrow(/not both/);
    await expect(signer().createToken()).rejects.toThrow(SmsValidationError);
  });
});
