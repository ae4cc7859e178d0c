import { gunzipSync } from 'node:zlib';
import type { FindingsLine } from '@sms/domain';
import { parseSdkDate, sha256Hex, signRequest } from '@sms/domain/signature';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SmsClient } from './client.js';
import { SmsApiError, SmsValidationError } from './errors.js';
import { type FindingsStub, startFindingsStub } from './test-support/findings-stub.js';

// The findings endpoints are not in sms-server yet: these tests talk to a
// stand-in on a real port that answers as the contract says (issue 13).
const RUN = '2f1c9c3e-5b7a-4d2e-9a41-0c8e6f1d2b3a';
const fast = { limit: 3, delay: () => 5, jitter: false } as const;
const finding = (path: string, category: 'different' | 'missing' | 'extra' = 'missing', dir = '/data') => ({
  dir_check: dir,
  category,
  path,
  reason: `${category} at the target`,
});

let stub: FindingsStub;
let client: SmsClient;
beforeAll(async () => {
  stub = await startFindingsStub();
  client = new SmsClient({ endpoint: stub.url, token: 'stub-token', retry: fast });
});
afterAll(() => stub.close());
beforeEach(() => {
  stub.requests.length = 0;
});

async function* generate(count: number, dir = '/data'): AsyncGenerator<FindingsLine> {
  for (let i = 0; i < count; i++) yield finding(`dir/file-${i}`, 'missing', dir);
}

describe('uploadFindings', () => {
  it('sends a list as gzip NDJSON with the run id, an idempotency key and the token, and returns the answer', async () => {
    stub.addResults('t-list', '/data');
    const lines = [finding('a'), finding('b', 'different'), { dir_check: '/data', truncated: true as const }];
    const answer = await client.uploadFindings('t-list', RUN, lines);
    expect(answer).toEqual({ run_id: RUN, stored: 3, superseded_dirs: [] });
    const [request] = stub.requests;
    expect(request).toMatchObject({ method: 'POST', url: '/v3/tasks/t-list/consistency-result/files' });
    expect(request!.headers).toMatchObject({
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
      'x-sms-run-id': RUN,
      'x-auth-token': 'stub-token',
    });
    expect(request!.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(gunzipSync(request!.raw).toString('utf8')).toBe(
      `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`,
    );
  });

  it('streams an async iterable of 20,000 findings in one request', async () => {
    stub.addResults('t-stream', '/data');
    const answer = await client.uploadFindings('t-stream', RUN, generate(20_000));
    expect(answer.stored).toBe(20_000);
    expect(stub.requests).toHaveLength(1);
    expect(stub.requests[0]!.lines.at(-1)).toEqual(finding('dir/file-19999'));
  });

  it('refuses a bad line of a list with SmsValidationError naming its index, and sends nothing', async () => {
    const error = await client
      .uploadFindings('t-list', RUN, [finding('a'), finding('../escape')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmsValidationError);
    expect((error as Error).message).toMatch(
      /^invalid findings\[1\]: path: expected a path relative to dir_check/,
    );
    expect(stub.requests).toHaveLength(0);
  });

  it('cuts off a streamed upload at a bad line with SmsValidationError naming its index: nothing is stored', async () => {
    stub.addResults('t-bad-stream', '/data');
    const before = stub.stored.length;
    async function* lines(): AsyncGenerator<FindingsLine> {
      yield* generate(70_000);
      yield { ...finding('x'), category: 'lost' } as unknown as FindingsLine;
    }
    const error = await client.uploadFindings('t-bad-stream', RUN, lines()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmsValidationError);
    expect((error as Error).message).toMatch(
      /^invalid findings\[70000\]: category: expected one of "different"/,
    );
    expect(stub.stored.length).toBe(before);
  });

  it('refuses a line longer than 16384 bytes before sending', async () => {
    // every field within its own limit, the line not: control characters are 6 bytes of JSON each
    const long = { ...finding('a'), path: '\u0001'.repeat(4096) };
    await expect(client.uploadFindings('t-list', RUN, [long])).rejects.toThrow(
      /findings\[0\]: the line is \d+ bytes of JSON, the API takes at most 16384/,
    );
    expect(stub.requests).toHaveLength(0);
  });

  it('refuses a run id that is not a UUID before sending', async () => {
    await expect(client.uploadFindings('t-list', 'run-1', [finding('a')])).rejects.toThrow(
      /^invalid runId: .*expected a UUID/,
    );
    expect(stub.requests).toHaveLength(0);
  });

  it('gives the 409 SMS.1007 of a directory without a result as SmsApiError', async () => {
    const error = await client
      .uploadFindings('t-none', RUN, [finding('a', 'missing', '/nowhere')])
      .catch((e) => e);
    expect(error).toBeInstanceOf(SmsApiError);
    expect(error).toMatchObject({ status: 409, errorCode: 'SMS.1007' });
  });

  it('retries a list after a 503 with the same key and body: stored once', async () => {
    stub.addResults('t-retry', '/data');
    const before = stub.stored.length;
    stub.inject(503);
    await client.uploadFindings('t-retry', RUN, [finding('a'), finding('b')]);
    expect(stub.requests).toHaveLength(2);
    const [first, second] = stub.requests;
    expect(second!.headers['idempotency-key']).toBe(first!.headers['idempotency-key']);
    expect(second!.raw.equals(first!.raw)).toBe(true);
    expect(stub.stored.length - before).toBe(2);
  });

  it('does not retry a streamed iterable: the 503 is the answer', async () => {
    stub.addResults('t-no-retry', '/data');
    stub.inject(503);
    await expect(client.uploadFindings('t-no-retry', RUN, generate(3))).rejects.toMatchObject({
      name: 'SmsApiError',
      status: 503,
    });
    expect(stub.requests).toHaveLength(1);
  });

  it('gives 409 SMS.1003 for a key used again with another body', async () => {
    stub.addResults('t-key', '/data');
    const idempotencyKey = crypto.randomUUID();
    await client.uploadFindings('t-key', RUN, [finding('a')], { idempotencyKey });
    async function* same(): AsyncGenerator<FindingsLine> {
      yield finding('a');
    }
    // the same lines streamed: a replay, answered 200 again
    await client.uploadFindings('t-key', RUN, same(), { idempotencyKey });
    expect(stub.stored.filter((f) => f.task === 't-key')).toHaveLength(1);
    await expect(
      client.uploadFindings('t-key', RUN, [finding('b')], { idempotencyKey }),
    ).rejects.toMatchObject({ status: 409, errorCode: 'SMS.1003' });
  });

  it('with an access key, buffers the gzip body and signs its hash', async () => {
    stub.addResults('t-signed', '/data');
    const key = { accessKey: 'ABCDEFGHIJ0123456789', secretKey: 'secret-key-of-the-test', projectId: 'p1' };
    const signing = new SmsClient({ endpoint: stub.url, credentials: key, retry: fast });
    await signing.uploadFindings('t-signed', RUN, generate(500));
    const [request] = stub.requests;
    const expected = signRequest(
      {
        method: 'POST',
        url: `${stub.url}${request!.url}`,
        headers: { 'content-type': 'application/x-ndjson', 'x-project-id': 'p1' },
        payloadHash: sha256Hex(request!.raw),
      },
      key,
      parseSdkDate(request!.headers['x-sdk-date'] as string)!,
    );
    expect(request!.headers.authorization).toBe(expected.Authorization);
    expect(request!.lines).toHaveLength(500);
  });
});

describe('updateConsistencyResult with a run id', () => {
  it('sends X-Sms-Run-Id, and refuses one that is not a UUID before sending', async () => {
    await client.updateConsistencyResult('t-run', [], { runId: RUN });
    expect(stub.requests[0]!.headers['x-sms-run-id']).toBe(RUN);
    await expect(client.updateConsistencyResult('t-run', [], { runId: 'nope' })).rejects.toThrow(
      /^invalid runId/,
    );
    expect(stub.requests).toHaveLength(1);
  });
});

describe('reading findings', () => {
  beforeAll(async () => {
    stub.addResults('t-read', '/data', '/var');
    await client.uploadFindings('t-read', RUN, [
      finding('m1'),
      finding('d1', 'different'),
      finding('e1', 'extra'),
      finding('v1', 'missing', '/var'),
      { dir_check: '/var', truncated: true },
    ]);
  });

  it('lists one page, and follows next_marker through every page', async () => {
    const page = await client.listFindings('t-read', { dirCheck: '/data', limit: 2 });
    expect(page.findings.map((f) => f.path)).toEqual(['m1', 'd1']);
    expect(page.next_marker).toBe('2');
    expect(stub.requests.at(-1)!.url).toBe(
      '/v3/tasks/t-read/consistency-result/files?dir_check=%2Fdata&limit=2',
    );
    const all: string[] = [];
    for await (const f of client.findings('t-read', { limit: 1, category: ['missing', 'different'] }))
      all.push(`${f.dir_check} ${f.path}`);
    expect(all).toEqual(['/data m1', '/data d1', '/var v1']);
  });

  it('refuses a bad query before sending', async () => {
    stub.requests.length = 0;
    await expect(client.listFindings('t-read', { limit: 1001 })).rejects.toThrow(
      /^invalid query: limit: expected integer <= 1000/,
    );
    await expect(client.listFindings('t-read', { category: 'lost' as 'missing' })).rejects.toThrow(
      /category\[0\]: expected one of "different"/,
    );
    expect(stub.requests).toHaveLength(0);
  });

  it('exports CSV and the re-sync list as streams', async () => {
    const csv = await new Response(
      await client.exportFindings('t-read', { format: 'csv', dirCheck: '/data' }),
    ).text();
    expect(csv.split('\n')[0]).toBe('dir_check,category,path,reason');
    expect(stub.requests.at(-1)!.headers.accept).toBe('text/csv');
    const list = await client.exportFindings('t-read', {
      format: 'files-from',
      dirCheck: '/data',
      null: true,
    });
    expect(Buffer.from(await new Response(list).arrayBuffer()).toString('latin1')).toBe('m1\0d1\0');
    expect(stub.requests.at(-1)!.url).toContain('format=files-from&null=1');
  });

  it('gives an error answer of an export as SmsApiError', async () => {
    stub.inject(400);
    await expect(client.exportFindings('t-read', { format: 'files-from' })).rejects.toMatchObject({
      name: 'SmsApiError',
      status: 400,
    });
  });
});
