import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { FindingsLineSchema, isTruncationMarker, RunIdSchema } from '@sms/domain';
import * as v from 'valibot';

/** What the stand-in stored: counts and findings uploads, with the run and key each came with. */
export interface Received {
  kind: 'counts' | 'findings';
  runId: string | undefined;
  key: string | undefined;
  dirs: string[];
  lines: v.InferOutput<typeof FindingsLineSchema>[];
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A stand-in for sms-server's two upload endpoints of a run, on a port of
 * 127.0.0.1, until the real server has the findings one: counts
 * (`POST …/consistency-result`) and findings (`POST …/consistency-result/files`,
 * gzip NDJSON, each line checked with the domain's schema, 409 SMS.1007 for a
 * directory without a result, replays with the same key stored once). It
 * records every upload it stored, in order.
 */
export async function startRunServer(port = 0, options: { countsStatus?: number } = {}) {
  const stored: Received[] = [];
  const keys = new Set<string>();
  const server = createServer(async (req, res) => {
    const answer = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    let raw: Buffer;
    try {
      raw = await bodyOf(req);
    } catch {
      return; // cut off: nothing stored
    }
    const match = /^\/v3\/tasks\/([^/]+)\/consistency-result(\/files)?$/.exec(req.url ?? '');
    if (!match || req.method !== 'POST')
      return answer(404, { error_code: 'SMS.3002', error_msg: 'no such path' });
    const runId = req.headers['x-sms-run-id'] as string | undefined;
    if (runId !== undefined && !v.is(RunIdSchema, runId))
      return answer(400, { error_code: 'SMS.1001', error_msg: 'X-Sms-Run-Id: expected a UUID' });
    const key = req.headers['idempotency-key'] as string | undefined;
    if (key !== undefined && keys.has(key))
      return answer(200, { run_id: runId, stored: 0, superseded_dirs: [] });
    if (!match[2]) {
      if (options.countsStatus !== undefined)
        return answer(options.countsStatus, { error_code: 'SMS.2009', error_msg: 'the database is busy' });
      const { consistency_result } = JSON.parse(raw.toString('utf8')) as {
        consistency_result: { dir_check: string }[];
      };
      stored.push({
        kind: 'counts',
        runId,
        key,
        dirs: consistency_result.map((r) => r.dir_check),
        lines: [],
      });
      if (key) keys.add(key);
      return answer(200, {});
    }
    if (runId === undefined || req.headers['content-encoding'] !== 'gzip')
      return answer(400, { error_code: 'SMS.1001', error_msg: 'expected X-Sms-Run-Id and gzip' });
    const lines = gunzipSync(raw)
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '');
    const parsed: Received['lines'] = [];
    for (const [i, line] of lines.entries()) {
      const result = v.safeParse(FindingsLineSchema, JSON.parse(line));
      if (!result.success)
        return answer(400, {
          error_code: 'SMS.1001',
          error_msg: `line ${i + 1}: ${result.issues[0].message}`,
        });
      parsed.push(result.output);
    }
    const counted = new Set(
      stored.filter((s) => s.kind === 'counts' && s.runId === runId).flatMap((s) => s.dirs),
    );
    const without = parsed.find((l) => !counted.has(l.dir_check));
    if (without)
      return answer(409, {
        error_code: 'SMS.1007',
        error_msg: `${without.dir_check} has no result of this run`,
      });
    const dirs = [...new Set(parsed.map((l) => l.dir_check))];
    stored.push({ kind: 'findings', runId, key, dirs, lines: parsed });
    if (key) keys.add(key);
    return answer(200, {
      run_id: runId,
      stored: parsed.filter((l) => !isTruncationMarker(l)).length,
      superseded_dirs: [],
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    port: (server.address() as AddressInfo).port,
    stored,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
