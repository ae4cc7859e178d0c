import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { ErrorResponseSchema, FindingLimits } from '@sms/domain';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, result, type TestApp } from '../../testing/app.js';

let t: TestApp;

/** `count` findings of one directory, as a gzip NDJSON stream (never held whole). */
function gzipLines(dir: string, count: number, from = 0): ReadableStream<Uint8Array> {
  function* lines() {
    for (let i = from; i < from + count; i++)
      yield `{"dir_check":"${dir}","category":"missing","path":"f/${i}","reason":"not at the target"}\n`;
  }
  return Readable.toWeb(Readable.from(lines()).pipe(createGzip({ level: 1 }))) as ReadableStream<Uint8Array>;
}

describe.each(['sqlite', 'postgres'] as const)('the per-directory limit of findings on %s', (dialect) => {
  beforeAll(async () => {
    t = await createTestApp({ dialect });
  });
  afterAll(() => t.close());

  it(`takes ${FindingLimits.perDirectoryPerRun} findings of a directory in a run, and refuses one more with 400 naming it`, {
    timeout: 240_000,
  }, async () => {
    const taskId = await t.createTask();
    const runId = randomUUID();
    const counts = await t.upload(
      taskId,
      {
        consistency_result: [
          result('/big', {
            num_total_files: 1_000_000,
            num_different_files: 0,
            num_target_miss_files: 1_000_000,
          }),
        ],
      },
      { 'x-sms-run-id': runId },
    );
    expect(counts.status).toBe(200);
    const send = (body: ReadableStream<Uint8Array>) =>
      t.uploadFindings(taskId, runId, body, { 'content-encoding': 'gzip' }, t.adminToken);
    const max = await send(gzipLines('/big', FindingLimits.perDirectoryPerRun));
    expect(max.status, await max.clone().text()).toBe(200);
    expect(await max.json()).toMatchObject({ stored: FindingLimits.perDirectoryPerRun });
    // the same run, one finding more, in a second request: over the limit by one
    const over = await send(gzipLines('/big', 1, FindingLimits.perDirectoryPerRun));
    expect(over.status).toBe(400);
    const error = v.parse(ErrorResponseSchema, await over.json());
    expect(error.error_msg).toMatch(/line 1: more than 1000000 findings of dir_check "\/big"/);
    expect(error.error_msg).toMatch(/truncated/);
    // instead of the rest, a truncation marker: taken, and the list shows as cut
    const marker = await t.uploadFindings(taskId, runId, [{ dir_check: '/big', truncated: true }]);
    expect(marker.status).toBe(200);
    const res = await t.request(`/v3/tasks/${taskId}/consistency-result/files?limit=1`, {
      headers: { 'x-auth-token': t.adminToken },
    });
    const page = (await res.json()) as { directories: { truncated: boolean }[] };
    expect(page.directories).toEqual([expect.objectContaining({ dir_check: '/big', truncated: true })]);
    expect(await t.storage.findings.rowCount(taskId)).toBe(FindingLimits.perDirectoryPerRun);
  });
});

/** `bytes` of `text` repeated, as one gzip stream (never held whole). */
function gzipRepeated(text: string, bytes: number): ReadableStream<Uint8Array> {
  function* chunks() {
    const chunk = text.repeat(Math.ceil(65_536 / text.length));
    for (let sent = 0; sent < bytes; sent += chunk.length) yield chunk;
  }
  return Readable.toWeb(Readable.from(chunks()).pipe(createGzip({ level: 9 }))) as ReadableStream<Uint8Array>;
}

describe('a findings upload that would cost the server far more than it sends', () => {
  let app: TestApp;
  let taskId: string;
  let runId: string;
  beforeAll(async () => {
    app = await createTestApp();
    taskId = await app.createTask();
    runId = randomUUID();
    const counts = await app.upload(
      taskId,
      {
        consistency_result: [
          result('/d', { num_total_files: 10, num_different_files: 0, num_target_miss_files: 1 }),
        ],
      },
      { 'x-sms-run-id': runId },
    );
    expect(counts.status).toBe(200);
  });
  afterAll(() => app.close());

  const send = (body: ReadableStream<Uint8Array> | string, gzip = true) =>
    app.uploadFindings(taskId, runId, body, gzip ? { 'content-encoding': 'gzip' } : {}, app.adminToken);
  const messageOf = async (res: Response) => v.parse(ErrorResponseSchema, await res.json()).error_msg;

  it('takes 1000 empty lines and refuses the 1001st (a gzip of 200 MiB of newlines is some 200 KB)', async () => {
    const line = '{"dir_check":"/d","category":"missing","path":"a","reason":"not at the target"}\n';
    expect((await send(`${'\n'.repeat(1000)}${line}`, false)).status).toBe(200);
    const res = await send(gzipRepeated('\n', 200 * 1024 * 1024));
    expect(res.status).toBe(400);
    expect(await messageOf(res)).toBe(
      'line 1001: more than 1000 empty lines; one finding a line, and no empty ones',
    );
  });

  it('takes what the agent writes however well it compresses (long shared paths: over 100 times at gzip -9)', async () => {
    const prefix = Array.from({ length: 16 }, () => 'node_modules/@scope/package-name').join('/');
    function* lines() {
      for (let i = 0; i < 40_000; i++)
        yield `{"dir_check":"/d","category":"missing","path":"${prefix}/f${i}.js","reason":"not at the target"}\n`;
    }
    const body = Readable.toWeb(
      Readable.from(lines()).pipe(createGzip({ level: 9 })),
    ) as ReadableStream<Uint8Array>;
    const res = await send(body);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ stored: 40_000 });
  });
});
