import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ErrorResponseSchema, ForbiddenErrorResponseSchema } from '@sms/domain';
import fc from 'fast-check';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../env.js';
import { createMemoryLogger } from '../logger.js';
import { type RunningServer, startServer } from '../server.js';
import { apiOf } from '../test-support/client.js';

/** Bounded: the number of cases per property (FUZZ_RUNS for a longer run) and a time limit each. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 60_000);
/** Each property stops itself after TIME_LIMIT_MS; the test allows that, plus the slowest case, on a loaded CI machine. */
const TEST_TIMEOUT = { timeout: TIME_LIMIT_MS * 3 };

let server: RunningServer;
let dir: string;
let token: string;
let taskId: string;
let cases = 0;
const RUN_ID = randomUUID();
let rssAtStart = 0;

/** Resident memory after a full collection when the test runs with --expose-gc (vitest's forks do not by default). */
function settledRss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

/** A raw HTTP request on loopback: what fetch would refuse to send (duplicate headers, any bytes). */
function raw(method: string, path: string, headers: [string, string][], body?: Buffer | string) {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    text: string;
  }>((resolve, reject) => {
    const url = new URL(server.url);
    // an array value is sent as several header lines: how duplicates reach the server
    const object: Record<string, string | string[]> = {};
    for (const [name, value] of headers) {
      const had = object[name];
      object[name] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
    }
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: object });
    req.on('response', (res) => {
      let text = '';
      res
        .setEncoding('utf8')
        .on('data', (c: string) => (text += c))
        .on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The oracle: a documented status, a body that validates, never a 500. */
function check(answer: { status: number; text: string }, allowed: number[]) {
  cases++;
  expect(allowed, `status ${answer.status}: ${answer.text.slice(0, 200)}`).toContain(answer.status);
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    throw new Error(
      `status ${answer.status} with a body that is not JSON: ${JSON.stringify(answer.text.slice(0, 200))}`,
    );
  }
  if (answer.status === 200) return;
  if (answer.status === 403)
    expect(v.is(ForbiddenErrorResponseSchema, body), answer.text.slice(0, 200)).toBe(true);
  else expect(v.is(ErrorResponseSchema, body), answer.text.slice(0, 200)).toBe(true);
}

const UPLOAD_STATUSES = [200, 400, 403, 404, 409];
const count = fc.oneof(
  fc.integer({ min: 0, max: 1_000_000 }),
  fc.constantFrom(-1, 1_000_001, 1.5, -0, 2 ** 53 + 1, 1e308, Number.MAX_SAFE_INTEGER),
  fc.constantFrom('12', null, true, [], {}),
);
const anyJson = fc.jsonValue({ maxDepth: 4 });
const result = fc.record(
  {
    dir_check: fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ minLength: 1020, maxLength: 1030 }),
      anyJson,
    ),
    num_total_files: count,
    num_different_files: count,
    num_target_miss_files: count,
    num_target_more_files: count,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.record({ consistency_result: fc.array(result, { maxLength: 35 }) }, { requiredKeys: [] }),
  fc.dictionary(fc.string({ maxLength: 20 }), anyJson, { maxKeys: 4 }),
  anyJson,
);
/** Text that JSON.parse may or may not accept: valid bodies cut short, duplicate keys, deep nesting, odd bytes. */
const text = fc.oneof(
  body.map((b) => JSON.stringify(b) ?? 'null'),
  body.chain((b) => {
    const s = JSON.stringify(b) ?? 'null';
    return fc.nat({ max: Math.max(0, s.length - 1) }).map((n) => s.slice(0, n));
  }),
  fc.constant('{"consistency_result":[],"consistency_result":5}'),
  fc.nat({ max: 200_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.nat({ max: 50_000 }).map((n) => `{"consistency_result":${'['.repeat(n)}`),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sms-fuzz-'));
  server = await startServer(
    loadConfig({ PORT: '0', SMS_DATA_DIR: dir, SMS_ADMIN_PASSWORD: 'fuzz-admin-password' }),
    createMemoryLogger('error'),
  );
  const api = apiOf(server.url);
  token = await api.token('admin', 'fuzz-admin-password');
  taskId = await api.createTask(token, 'fuzz');
  // a run with counts of two directories, for the findings endpoint to accept lines of
  const counts = await raw(
    'POST',
    `/v3/tasks/${taskId}/consistency-result`,
    [
      ['content-type', 'application/json'],
      ['x-auth-token', token],
      ['x-sms-run-id', RUN_ID],
    ],
    JSON.stringify({
      consistency_result: ['/srv', '/var'].map((dir_check) => ({
        dir_check,
        num_total_files: 10,
        num_different_files: 1,
        num_target_miss_files: 1,
        num_target_more_files: 1,
      })),
    }),
  );
  expect(counts.status).toBe(200);
  rssAtStart = settledRss();
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  const results = join(process.cwd(), '.test-results');
  mkdirSync(results, { recursive: true });
  writeFileSync(
    join(results, 'fuzz.json'),
    `${JSON.stringify({ cases, runs: RUNS, date: new Date().toISOString() })}\n`,
  );
  console.log(`fuzz: ${cases} cases against the running server`);
});

describe('fuzzing the running server (loopback, bounded)', () => {
  it(
    'answers every mutated upload body with a documented status and body, never 500',
    TEST_TIMEOUT,
    async () => {
      await fc.assert(
        fc.asyncProperty(text, async (payload) => {
          const answer = await raw(
            'POST',
            `/v3/tasks/${taskId}/consistency-result`,
            [
              ['content-type', 'application/json'],
              ['x-auth-token', token],
            ],
            payload,
          );
          check(answer, UPLOAD_STATUSES);
        }),
        { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
      );
    },
  );

  it(
    'answers odd headers (missing, duplicated, huge token; odd content types) as documented',
    TEST_TIMEOUT,
    async () => {
      const tokenHeader = fc.oneof(
        fc.constant<[string, string][]>([]),
        fc.constant<[string, string][]>([
          ['x-auth-token', token],
          ['x-auth-token', token],
        ]),
        fc.nat({ max: 40_000 }).map((n): [string, string][] => [['x-auth-token', 't'.repeat(n)]]),
        fc
          .string({ maxLength: 64 })
          .filter((s) => /^[\x21-\x7e]*$/.test(s))
          .map((s): [string, string][] => [['x-auth-token', s]]),
        fc.constant<[string, string][]>([['x-auth-token', token]]),
      );
      const contentType = fc.constantFrom(
        'application/json',
        'text/plain',
        'application/json; charset=latin1',
        'application/xml',
        '',
        'application/json;charset=UTF-8',
        'multipart/form-data; boundary=x',
      );
      await fc.assert(
        fc.asyncProperty(tokenHeader, contentType, fc.boolean(), async (auth, type, withId) => {
          const headers: [string, string][] = [
            ...auth,
            ...(type ? ([['content-type', type]] as [string, string][]) : []),
          ];
          if (withId) headers.push(['idempotency-key', 'k'.repeat(300)]);
          const answer = await raw('POST', `/v3/tasks/${taskId}/consistency-result`, headers, '{}');
          check(answer, UPLOAD_STATUSES);
        }),
        { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
      );
    },
  );

  it('answers odd paths (over-long, %-encoded, .., unicode) as documented', TEST_TIMEOUT, async () => {
    const segment = fc.oneof(
      fc.string({ maxLength: 60 }).map(encodeURIComponent),
      fc.constantFrom('..', '%2e%2e', '%ZZ', '%', '%00', '%C0%AF', '%FF%FE', '..%2F..%2Fetc', 'a%2Fb', ''),
      fc.nat({ max: 5000 }).map((n) => 'x'.repeat(n)),
      fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
    );
    const method = fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH');
    await fc.assert(
      fc.asyncProperty(segment, method, fc.boolean(), async (id, verb, results) => {
        const path = `/v3/tasks/${id}${results ? '/consistency-result' : ''}`;
        const answer = await raw(
          verb,
          path,
          [
            ['x-auth-token', token],
            ['content-type', 'application/json'],
          ],
          verb === 'GET' || verb === 'DELETE' ? undefined : '{}',
        );
        check(answer, [200, 400, 403, 404, 405, 409]);
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
  });

  it(
    'answers malformed Authorization headers and X-Sdk-Date values with a documented 4xx, never 500',
    TEST_TIMEOUT,
    async () => {
      const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
      const names = fc.array(
        fc.constantFrom('host', 'x-sdk-date', 'content-type', 'x-project-id', 'X-Sdk-Date', ''),
        {
          maxLength: 5,
        },
      );
      const authorization = fc.oneof(
        fc.string({ maxLength: 300 }).map((s) => `SDK-HMAC-SHA256 ${s}`),
        fc
          .tuple(fc.string({ maxLength: 30 }), names, fc.oneof(hex, fc.string({ maxLength: 70 })))
          .map(
            ([ak, signed, sig]) =>
              `SDK-HMAC-SHA256 Access=${ak}, SignedHeaders=${signed.join(';')}, Signature=${sig}`,
          ),
        fc
          .tuple(fc.stringMatching(/^[A-Z0-9]{20}$/), names, hex)
          .map(
            ([ak, signed, sig]) =>
              `SDK-HMAC-SHA256 Access=${ak}, SignedHeaders=${signed.join(';')}, Signature=${sig}`,
          ),
        fc.constantFrom(
          'sdk-hmac-sha256',
          'SDK-HMAC-SHA256',
          ' SDK-HMAC-SHA256 Access=',
          'Bearer x',
          'Basic eDp5',
        ),
      );
      const date = fc.oneof(
        fc.constant(undefined),
        fc.string({ maxLength: 30 }),
        fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) =>
          d
            .toISOString()
            .replace(/[-:]/g, '')
            .replace(/\.\d{3}/, ''),
        ),
        fc.stringMatching(/^\d{8}T\d{6}Z$/),
      );
      await fc.assert(
        fc.asyncProperty(
          authorization,
          date,
          fc.boolean(),
          fc.boolean(),
          async (auth, sdkDate, withToken, get) => {
            const headers: [string, string][] = [
              ['authorization', auth.replace(/[^\x20-\x7e]/g, '?')],
              ['content-type', 'application/json'],
            ];
            if (sdkDate !== undefined) headers.push(['x-sdk-date', sdkDate.replace(/[^\x20-\x7e]/g, '?')]);
            if (withToken) headers.push(['x-auth-token', token]);
            const answer = await raw(
              get ? 'GET' : 'POST',
              `/v3/tasks/${taskId}/consistency-result`,
              headers,
              get ? undefined : '{"consistency_result":[]}',
            );
            // failed signatures count toward the sign-in limits: past them, 429
            check(answer, [...UPLOAD_STATUSES, 429]);
          },
        ),
        { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
      );
    },
  );

  it(
    'answers findings uploads (bad lines, huge lines, bad gzip, wrong runs) with a documented status, never a 500',
    TEST_TIMEOUT,
    async () => {
      const validLine = fc
        .record({
          dir_check: fc.constantFrom('/srv', '/var', '/elsewhere'),
          category: fc.constantFrom('different', 'missing', 'extra', 'error', 'transient', 'gone'),
          path: fc.oneof(
            fc.string({ minLength: 1, maxLength: 40 }),
            fc.constantFrom('a/b', '../x', '/abs', 'a//b'),
          ),
          reason: fc.string({ maxLength: 60 }),
        })
        .map((f) => JSON.stringify(f));
      const line = fc.oneof(
        { weight: 5, arbitrary: validLine },
        { weight: 1, arbitrary: fc.constant(JSON.stringify({ dir_check: '/srv', truncated: true })) },
        { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
        {
          weight: 1,
          arbitrary: fc.nat({ max: 40_000 }).map((n) => `{"dir_check":"/srv","reason":"${'r'.repeat(n)}"}`),
        },
        { weight: 1, arbitrary: fc.jsonValue().map((j) => JSON.stringify(j) ?? 'null') },
      );
      const body = fc.oneof(
        fc.array(line, { maxLength: 30 }).map((lines) => Buffer.from(lines.join('\n'))),
        fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
      );
      const encoding = fc.constantFrom<'none' | 'gzip' | 'claims-gzip' | 'cut-gzip'>(
        'none',
        'gzip',
        'claims-gzip',
        'cut-gzip',
      );
      const runId = fc.constantFrom(RUN_ID, RUN_ID.toUpperCase(), randomUUID(), 'not-a-uuid', '');
      const type = fc.constantFrom(
        'application/x-ndjson',
        'application/json',
        '',
        'application/x-ndjson; charset=utf-8',
      );
      await fc.assert(
        fc.asyncProperty(
          body,
          encoding,
          runId,
          type,
          fc.boolean(),
          async (payload, enc, run, contentType, withKey) => {
            const gz = gzipSync(payload);
            const sent =
              enc === 'gzip' || enc === 'claims-gzip'
                ? enc === 'gzip'
                  ? gz
                  : payload
                : enc === 'cut-gzip'
                  ? gz.subarray(0, gz.length >> 1)
                  : payload;
            const headers: [string, string][] = [['x-auth-token', token]];
            if (contentType) headers.push(['content-type', contentType]);
            if (run) headers.push(['x-sms-run-id', run]);
            if (enc !== 'none') headers.push(['content-encoding', 'gzip']);
            if (withKey) headers.push(['idempotency-key', randomUUID()]);
            const answer = await raw('POST', `/v3/tasks/${taskId}/consistency-result/files`, headers, sent);
            check(answer, UPLOAD_STATUSES);
          },
        ),
        { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
      );
      // and the reads, with odd queries
      const query = fc.record({
        limit: fc.oneof(
          fc.constant(undefined),
          fc.string({ maxLength: 6 }),
          fc.integer({ min: -5, max: 2000 }).map(String),
        ),
        marker: fc.oneof(
          fc.constant(undefined),
          fc.string({ maxLength: 40 }),
          fc.base64String({ maxLength: 40 }),
        ),
        category: fc.oneof(
          fc.constant(undefined),
          fc.constantFrom('missing', 'different,missing', 'x', ',', ''),
        ),
        format: fc.oneof(fc.constant(undefined), fc.constantFrom('json', 'csv', 'files-from', 'xml')),
        dir_check: fc.oneof(fc.constant(undefined), fc.constantFrom('/srv', '', 'x'.repeat(1100))),
      });
      await fc.assert(
        fc.asyncProperty(query, async (q) => {
          const params = new URLSearchParams(
            Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined),
          );
          const answer = await raw('GET', `/v3/tasks/${taskId}/consistency-result/files?${params}`, [
            ['x-auth-token', token],
          ]);
          cases++;
          expect([200, 400], `${answer.status}: ${answer.text.slice(0, 200)}`).toContain(answer.status);
          if (answer.status === 400) expect(v.is(ErrorResponseSchema, JSON.parse(answer.text))).toBe(true);
        }),
        { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
      );
    },
  );

  it('reads a token of 16384 characters (the API maximum) instead of refusing its headers with 431', async () => {
    for (const length of [16_384, 16_385]) {
      const answer = await raw(
        'POST',
        `/v3/tasks/${taskId}/consistency-result`,
        [
          ['content-type', 'application/json'],
          ['x-auth-token', 'x'.repeat(length)],
          ['x-request-id', 'r'.repeat(100)],
        ],
        '{}',
      );
      expect(answer.status).toBe(403);
      expect(v.parse(ForbiddenErrorResponseSchema, JSON.parse(answer.text)).error_code).toBe('SMS.9001');
    }
  });

  it('is still healthy afterwards, with bounded memory', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    // the server runs in this process: after every case, it must not have grown without bound
    const growth = settledRss() - rssAtStart;
    console.log(`fuzz: resident memory grew by ${(growth / 2 ** 20).toFixed(0)} MiB over ${cases} cases`);
    expect(growth).toBeLessThan(256 * 1024 * 1024);
  });
});
