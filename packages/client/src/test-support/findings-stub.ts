import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import {
  FindingLimits,
  type FindingsLine,
  FindingsLineSchema,
  formatIssues,
  isTruncationMarker,
  RESYNC_CATEGORIES,
  RunIdSchema,
  resyncEntry,
  type StoredFinding,
} from '@sms/domain';
import * as v from 'valibot';

/** One request the stub answered, as it arrived. */
export interface StubRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  /** The body's bytes as sent (gzip when the request said so). */
  raw: Buffer;
  /** The NDJSON lines of a findings upload, parsed. */
  lines: FindingsLine[];
}

/**
 * A stand-in for sms-server's findings endpoints (`…/consistency-result/files`)
 * on a real port of 127.0.0.1, answering as the contract of issue 13 says,
 * until the real server has them. It checks what the client sends (method,
 * path, headers, gzip, every line with the domain's schema) and records it.
 */
export async function startFindingsStub() {
  const requests: StubRequest[] = [];
  /** Directories with a result, per task (the counts upload makes them). */
  const results = new Map<string, Set<string>>();
  const stored: (StoredFinding & { task: string })[] = [];
  const truncated = new Set<string>();
  const replies = new Map<string, { hash: string; body: unknown }>();
  /** Statuses to answer the next requests with instead (503 to test retries). */
  const faults: number[] = [];

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const refuse = (res: ServerResponse, status: number, code: string, msg: string) =>
    send(res, status, { error_code: code, error_msg: msg });

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return; // the client cut the request off: nothing of it is stored
    }
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://stub');
    const record: StubRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      raw,
      lines: [],
    };
    requests.push(record);
    const fault = faults.shift();
    if (fault !== undefined) return refuse(res, fault, 'SMS.2009', 'injected');
    const match = /^\/v3\/tasks\/([^/]+)\/consistency-result(\/files)?$/.exec(url.pathname);
    if (!match) return refuse(res, 404, 'SMS.3002', `no route ${url.pathname}`);
    const task = decodeURIComponent(match[1]!);
    const runId = req.headers['x-sms-run-id'] as string | undefined;
    if (runId !== undefined && !v.is(RunIdSchema, runId))
      return refuse(res, 400, 'SMS.1001', 'X-Sms-Run-Id: expected a UUID');
    if (!match[2] && req.method === 'POST') {
      const body = JSON.parse(raw.toString('utf8')) as { consistency_result: { dir_check: string }[] };
      const dirs = results.get(task) ?? new Set();
      for (const r of body.consistency_result) dirs.add(r.dir_check);
      results.set(task, dirs);
      return send(res, 200, {});
    }
    if (match[2] && req.method === 'POST') {
      if (runId === undefined) return refuse(res, 400, 'SMS.1001', 'X-Sms-Run-Id is required');
      if (req.headers['content-type'] !== 'application/x-ndjson')
        return refuse(res, 400, 'SMS.1001', 'expected Content-Type: application/x-ndjson');
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      const key = req.headers['idempotency-key'] as string | undefined;
      const hash = createHash('sha256').update(text).digest('hex');
      const earlier = key === undefined ? undefined : replies.get(`${task} ${key}`);
      if (earlier && earlier.hash !== hash)
        return refuse(res, 409, 'SMS.1003', 'Idempotency-Key reused with another body');
      if (earlier) return send(res, 200, earlier.body);
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      for (const [i, line] of lines.entries()) {
        if (Buffer.byteLength(line) > FindingLimits.lineMaxBytes)
          return refuse(
            res,
            400,
            'SMS.1001',
            `line ${i + 1}: longer than ${FindingLimits.lineMaxBytes} bytes`,
          );
        const parsed = v.safeParse(FindingsLineSchema, JSON.parse(line));
        if (!parsed.success)
          return refuse(
            res,
            400,
            'SMS.1001',
            `line ${i + 1}: ${formatIssues(parsed.issues, { root: 'line' })}`,
          );
        record.lines.push(parsed.output as FindingsLine);
      }
      const without = record.lines.find((l) => !results.get(task)?.has(l.dir_check));
      if (without) return refuse(res, 409, 'SMS.1007', `${without.dir_check} has no result in task ${task}`);
      for (const line of record.lines) {
        if (isTruncationMarker(line)) truncated.add(line.dir_check);
        else stored.push({ ...line, run_id: runId, finished_time: 1_700_000_000_000, task });
      }
      const body = { run_id: runId, stored: record.lines.length, superseded_dirs: [] };
      if (key !== undefined) replies.set(`${task} ${key}`, { hash, body });
      return send(res, 200, body);
    }
    if (match[2] && req.method === 'GET') {
      const dir = url.searchParams.get('dir_check');
      const format = url.searchParams.get('format') ?? (req.headers.accept === 'text/csv' ? 'csv' : 'json');
      const categories =
        url.searchParams.get('category')?.split(',') ??
        (format === 'files-from' ? [...RESYNC_CATEGORIES] : undefined);
      const matching = stored.filter(
        (f) =>
          f.task === task &&
          (dir === null || f.dir_check === dir) &&
          (categories === undefined || categories.includes(f.category)),
      );
      if (format === 'csv') {
        res.writeHead(200, { 'content-type': 'text/csv' });
        return res.end(
          [
            'dir_check,category,path,reason',
            ...matching.map((f) => `${f.dir_check},${f.category},${f.path},${f.reason}`),
          ].join('\n'),
        );
      }
      if (format === 'files-from') {
        const nul = url.searchParams.get('null') === '1';
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end(Buffer.concat(matching.flatMap((f) => resyncEntry(f, nul) ?? [])));
      }
      const from = Number(url.searchParams.get('marker') ?? '0');
      const limit = Number(url.searchParams.get('limit') ?? FindingLimits.pageDefault);
      const page = matching.slice(from, from + limit).map(({ task: _, ...f }) => f);
      const dirs = [...new Set(page.map((f) => f.dir_check))];
      return send(res, 200, {
        task_id: task,
        findings: page,
        directories: dirs.map((d) => ({
          dir_check: d,
          run_id: page[0]!.run_id,
          finished_time: 1_700_000_000_000,
          truncated: truncated.has(d),
        })),
        ...(from + limit < matching.length ? { next_marker: String(from + limit) } : {}),
      });
    }
    return refuse(res, 405, 'SMS.1001', `${req.method} not allowed`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stored,
    /** Gives a task a result for these directories, as a counts upload would. */
    addResults: (task: string, ...dirs: string[]) =>
      results.set(task, new Set([...(results.get(task) ?? []), ...dirs])),
    /** Answers the next requests with these statuses. */
    inject: (...statuses: number[]) => faults.push(...statuses),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type FindingsStub = Awaited<ReturnType<typeof startFindingsStub>>;
