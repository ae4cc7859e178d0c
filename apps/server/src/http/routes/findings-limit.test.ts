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
