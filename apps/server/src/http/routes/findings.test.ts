import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  ErrorResponseSchema,
  type Finding,
  FindingLimits,
  type FindingsPage,
  FindingsPageSchema,
  UploadFindingsResponseSchema,
} from '@sms/domain';
import { sha256Hex, signRequest } from '@sms/domain/signature';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, result, type TestApp } from '../../testing/app.js';

let t: TestApp;

async function errorOf(res: Response) {
  return v.parse(ErrorResponseSchema, await res.json());
}

/** A task with the counts of run `runId` for each directory (one upload). */
async function taskWithRun(dirs: readonly string[], runId = randomUUID(), taskId?: string) {
  const id = taskId ?? (await t.createTask());
  const res = await t.upload(
    id,
    { consistency_result: dirs.map((d) => result(d)) },
    { 'x-sms-run-id': runId },
  );
  expect(res.status).toBe(200);
  expect(res.headers.get('x-sms-run-id')).toBe(runId);
  return { taskId: id, runId };
}

function finding(dir: string, path: string, patch: Partial<Finding> = {}): Finding {
  return { dir_check: dir, category: 'missing', path, reason: 'not at the target', ...patch };
}

async function page(taskId: string, query = '', token = t.adminToken): Promise<FindingsPage> {
  const res = await t.request(`/v3/tasks/${taskId}/consistency-result/files${query}`, {
    headers: { 'x-auth-token': token },
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return v.parse(FindingsPageSchema, await res.json());
}

async function all(taskId: string, query = ''): Promise<FindingsPage['findings']> {
  const out: FindingsPage['findings'] = [];
  let marker: string | undefined;
  do {
    const sep = query === '' ? '?' : '&';
    const p = await page(
      taskId,
      `${query}${marker === undefined ? '' : `${query === '' ? '?' : sep}marker=${marker}`}`,
    );
    out.push(...p.findings);
    marker = p.next_marker;
  } while (marker !== undefined);
  return out;
}

async function text(taskId: string, query: string, headers: Record<string, string> = {}) {
  const res = await t.request(`/v3/tasks/${taskId}/consistency-result/files${query}`, {
    headers: { 'x-auth-token': t.adminToken, ...headers },
  });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

describe.each(['sqlite', 'postgres'] as const)('findings on %s', (dialect) => {
  beforeAll(async () => {
    t = await createTestApp({ dialect });
  });
  afterAll(() => t.close());

  it('stores a run’s findings and gives them back with the run and its time', async () => {
    const { taskId, runId } = await taskWithRun(['/srv', '/var']);
    const lines = [
      finding('/srv', 'a.txt'),
      finding('/srv', 'b/c.txt', { category: 'different', reason: 'size 3 ≠ 4' }),
      finding('/var', 'x', { category: 'extra', reason: 'only at the target' }),
    ];
    const res = await t.uploadFindings(taskId, runId, lines);
    expect(res.status).toBe(200);
    expect(v.parse(UploadFindingsResponseSchema, await res.json())).toEqual({
      run_id: runId,
      stored: 3,
      superseded_dirs: [],
    });
    const got = await page(taskId);
    expect(got.findings.map((f) => [f.dir_check, f.category, f.path, f.reason])).toEqual(
      lines.map((l) => [l.dir_check, l.category, l.path, l.reason]),
    );
    expect(got.findings.every((f) => f.run_id === runId && f.finished_time > 0)).toBe(true);
    expect(got.directories.map((d) => [d.dir_check, d.run_id, d.truncated])).toEqual([
      ['/srv', runId, false],
      ['/var', runId, false],
    ]);
    expect(got.next_marker).toBeUndefined();
    expect((await page(taskId, '?dir_check=/var')).findings.map((f) => f.path)).toEqual(['x']);
    expect((await page(taskId, '?category=different,extra')).findings.map((f) => f.path)).toEqual([
      'b/c.txt',
      'x',
    ]);
  });

  it('reads a gzip body, and a body of lines without a last newline or with CRLF', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    const ndjson = [finding('/d', 'one'), finding('/d', 'two')].map((l) => JSON.stringify(l)).join('\n');
    const res = await t.uploadFindings(taskId, runId, gzipSync(ndjson), { 'content-encoding': 'gzip' });
    expect(res.status, await res.clone().text()).toBe(200);
    const crlf = await t.uploadFindings(taskId, runId, `${JSON.stringify(finding('/d', 'three'))}\r\n\r\n`);
    expect(crlf.status, await crlf.clone().text()).toBe(200);
    expect((await page(taskId)).findings.map((f) => f.path)).toEqual(['one', 'two', 'three']);
  });

  it('refuses a bad line with 400 naming its number and rule, and stores nothing of that request', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    const good = Array.from({ length: 2500 }, (_, i) => JSON.stringify(finding('/d', `f${i}`)));
    const cases: [string, string, RegExp][] = [
      [
        'a bad category',
        JSON.stringify(finding('/d', 'z', { category: 'gone' as never })),
        /line 2501: .*category/,
      ],
      ['not JSON', '{"dir_check":', /line 2501: not valid JSON/],
      ['a path that climbs out', JSON.stringify(finding('/d', '../etc/passwd')), /line 2501: .*\.\./],
      ['an unknown field', JSON.stringify({ ...finding('/d', 'z'), size: 1 }), /line 2501: .*size/],
      ['a line that is an array', '[]', /line 2501: /],
    ];
    for (const [what, bad, message] of cases) {
      const res = await t.uploadFindings(taskId, runId, `${[...good, bad, ...good].join('\n')}\n`);
      expect(res.status, what).toBe(400);
      const error = await errorOf(res);
      expect(error.error_code, what).toBe('SMS.1001');
      expect(error.error_msg, what).toMatch(message);
    }
    // the 2,000 lines written before each bad line were deleted again
    expect((await page(taskId)).findings).toEqual([]);
    expect(await t.storage.findings.rowCount(taskId)).toBe(0);
    const notUtf8 = Buffer.concat([
      Buffer.from(`${good[0]}\n{"x":"`),
      Buffer.from([0xff]),
      Buffer.from('"}\n'),
    ]);
    const res = await t.uploadFindings(taskId, runId, notUtf8);
    expect((await errorOf(res)).error_msg).toMatch(/line 2: not valid UTF-8/);
  });

  it('refuses a line longer than 16384 bytes, and one of exactly 16384 passes the length check', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    const base = JSON.stringify(finding('/d', 'p', { reason: '' }));
    const pad = (bytes: number) => `${base.slice(0, -1)},"x":"${'y'.repeat(bytes - base.length - 7)}"}`;
    expect(Buffer.byteLength(pad(FindingLimits.lineMaxBytes))).toBe(FindingLimits.lineMaxBytes);
    // exactly the limit: read, then refused by the schema for its unknown field, not for its length
    const at = await errorOf(await t.uploadFindings(taskId, runId, `${pad(FindingLimits.lineMaxBytes)}\n`));
    expect(at.error_msg).toMatch(/line 1: .*x/);
    expect(at.error_msg).not.toMatch(/longer than/);
    const over = await errorOf(
      await t.uploadFindings(taskId, runId, `${pad(FindingLimits.lineMaxBytes + 1)}\n`),
    );
    expect(over).toMatchObject({ error_code: 'SMS.1001' });
    expect(over.error_msg).toMatch(/line 1: longer than 16384 bytes/);
  });

  it('refuses a body that is not gzip, a wrong Content-Type or encoding, and a missing or bad run id', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    const line = `${JSON.stringify(finding('/d', 'a'))}\n`;
    const notGzip = await t.uploadFindings(taskId, runId, line, { 'content-encoding': 'gzip' });
    expect(notGzip.status).toBe(400);
    expect((await errorOf(notGzip)).error_msg).toMatch(/not valid gzip/);
    const cut = gzipSync(line.repeat(1000)).subarray(0, 200);
    const cutRes = await t.uploadFindings(taskId, runId, cut, { 'content-encoding': 'gzip' });
    expect(cutRes.status).toBe(400);
    const json = await t.uploadFindings(taskId, runId, line, { 'content-type': 'application/json' });
    expect(await errorOf(json)).toMatchObject({ error_code: 'SMS.2006' });
    const br = await t.uploadFindings(taskId, runId, line, { 'content-encoding': 'br' });
    expect((await errorOf(br)).error_msg).toMatch(/Content-Encoding/);
    const noRun = await t.request(`/v3/tasks/${taskId}/consistency-result/files`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'x-auth-token': t.adminToken },
      body: line,
    });
    expect((await errorOf(noRun)).error_msg).toMatch(/X-Sms-Run-Id: required/);
    const badRun = await t.uploadFindings(taskId, 'run-1', line);
    expect((await errorOf(badRun)).error_msg).toMatch(/X-Sms-Run-Id.*UUID/);
    const badCounts = await t.upload(taskId, {}, { 'x-sms-run-id': 'nope' });
    expect((await errorOf(badCounts)).error_msg).toMatch(/X-Sms-Run-Id/);
    expect((await page(taskId)).findings).toEqual([]);
  });

  it('answers 409 SMS.1007 for a run or a directory without counts, naming what to upload first', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    const unknownRun = await t.uploadFindings(taskId, randomUUID(), [finding('/d', 'a')]);
    expect(unknownRun.status).toBe(409);
    expect(await errorOf(unknownRun)).toMatchObject({ error_code: 'SMS.1007' });
    const unknownDir = await t.uploadFindings(taskId, runId, [
      finding('/d', 'a'),
      finding('/elsewhere', 'b'),
    ]);
    expect(unknownDir.status).toBe(409);
    const error = await errorOf(unknownDir);
    expect(error.error_msg).toMatch(/line 2: dir_check "\/elsewhere" has no result/);
    expect((await page(taskId)).findings).toEqual([]);
  });

  it('stores a replay with the same key once, and refuses the key with other findings', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    const key = { 'idempotency-key': randomUUID() };
    const lines = [finding('/d', 'a'), finding('/d', 'b')];
    const first = await t.uploadFindings(taskId, runId, lines, key);
    const again = await t.uploadFindings(
      taskId,
      runId,
      gzipSync(lines.map((l) => `${JSON.stringify(l)}\n`).join('')),
      {
        ...key,
        'content-encoding': 'gzip',
      },
    );
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    expect((await page(taskId)).findings).toHaveLength(2);
    const other = await t.uploadFindings(taskId, runId, [finding('/d', 'c')], key);
    expect(other.status).toBe(409);
    expect(await errorOf(other)).toMatchObject({ error_code: 'SMS.1003' });
    expect((await page(taskId)).findings).toHaveLength(2);
  });

  it('keeps only the findings of the run that made each directory’s newest result', async () => {
    const { taskId, runId: first } = await taskWithRun(['/a', '/b']);
    await t.uploadFindings(taskId, first, [finding('/a', 'old-a'), finding('/b', 'old-b')]);
    // a second run verifies /a again: /a's findings are the new run's, /b keeps the first run's
    const { runId: second } = await taskWithRun(['/a'], undefined, taskId);
    expect((await page(taskId)).findings.map((f) => f.path)).toEqual(['old-b']);
    await t.uploadFindings(taskId, second, [finding('/a', 'new-a')]);
    expect((await page(taskId)).findings.map((f) => [f.path, f.run_id])).toEqual([
      ['new-a', second],
      ['old-b', first],
    ]);
    // the first run's findings of /a, sent late, are not kept, and the answer says so
    const late = await t.uploadFindings(taskId, first, [finding('/a', 'late'), finding('/b', 'more-b')]);
    expect(await late.json()).toEqual({ run_id: first, stored: 1, superseded_dirs: ['/a'] });
    expect((await page(taskId)).findings.map((f) => f.path)).toEqual(['new-a', 'old-b', 'more-b']);
    // and the old rows are gone from the table, not only hidden
    await t.services.findings.swept();
    expect(await t.storage.findings.rowCount(taskId)).toBe(3);
  });

  it('pages by marker in a stable order, 1 to 1000 a page', async () => {
    const { taskId, runId } = await taskWithRun(['/b', '/a']);
    const lines = [
      ...Array.from({ length: 150 }, (_, i) => finding('/b', `b${i}`)),
      ...Array.from({ length: 120 }, (_, i) => finding('/a', `a${i}`)),
    ];
    await t.uploadFindings(taskId, runId, lines);
    const first = await page(taskId, '?limit=100');
    expect(first.findings).toHaveLength(100);
    expect(first.findings[0]?.path).toBe('a0');
    const paths = (await all(taskId, '?limit=100')).map((f) => f.path);
    expect(paths).toEqual([...lines.slice(150), ...lines.slice(0, 150)].map((l) => l.path));
    expect((await page(taskId, '?limit=1')).findings).toHaveLength(1);
    expect((await page(taskId, '?limit=1000')).findings).toHaveLength(270);
    expect((await page(taskId)).findings).toHaveLength(FindingLimits.pageDefault);
    for (const bad of [
      '?limit=0',
      '?limit=1001',
      '?limit=x',
      '?marker=nonsense',
      '?category=gone',
      '?sort=path',
    ]) {
      const res = await t.request(`/v3/tasks/${taskId}/consistency-result/files${bad}`, {
        headers: { 'x-auth-token': t.adminToken },
      });
      expect(res.status, bad).toBe(400);
      expect((await errorOf(res)).error_code, bad).toBe('SMS.1001');
    }
  });

  it('shows a directory whose list the agent cut', async () => {
    const { taskId, runId } = await taskWithRun(['/d', '/e']);
    await t.uploadFindings(taskId, runId, [
      finding('/d', 'a'),
      { dir_check: '/d', truncated: true },
      finding('/e', 'b'),
    ]);
    const got = await page(taskId);
    expect(got.directories.map((d) => [d.dir_check, d.truncated])).toEqual([
      ['/d', true],
      ['/e', false],
    ]);
    expect(got.findings).toHaveLength(2);
  });

  it('exports CSV with a header, quoting and formula cells neutralised', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    await t.uploadFindings(taskId, runId, [
      finding('/d', '=cmd|calc', { reason: '+1, "quoted"' }),
      finding('/d', '@x', { reason: '-2\nline' }),
      finding('/d', 'plain', { reason: 'ok' }),
      finding('/d', 'semi;colon', { reason: 'a;b' }),
      finding('/d', "x;=cmd|' /C calc'!A0;y", { reason: 'tab\t@SUM(1)' }),
    ]);
    const { res, body } = await text(taskId, '', { accept: 'text/csv' });
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = body.toString().split('\r\n');
    expect(lines[0]).toBe('dir_check,category,path,path_base64,reason,run_id,finished_time');
    expect(lines[1]).toMatch(/^\/d,missing,'=cmd\|calc,,"'\+1, ""quoted""",/);
    expect(body.toString()).toContain(`'@x,,"'-2\nline",${runId},`);
    expect(lines.at(-4)).toMatch(/^\/d,missing,plain,,ok,/);
    expect(lines.at(-3)).toMatch(/^\/d,missing,"semi;colon",,"a;b",/);
    // a spreadsheet that splits rows at ";" or tabs (and honours quotes only at a cell's start)
    // would make each part a cell: a part that would be a formula is neutralised too
    expect(lines.at(-2)).toMatch(/^\/d,missing,"x;'=cmd\|' \/C calc'!A0;y",,"tab\t'@SUM\(1\)",/);
    expect(lines.at(-1)).toBe('');
    // machine-made columns are never changed: base64 that starts with "+" stays decodable
    const plus = await taskWithRun(['/p']);
    const bytes = Buffer.from([0xf8, 0x41, 0x42]);
    await t.uploadFindings(plus.taskId, plus.runId, [
      finding('/p', '\\xf8AB', { path_base64: bytes.toString('base64') }),
    ]);
    const plusCsv = (await text(plus.taskId, '?format=csv')).body.toString().split('\r\n')[1]!;
    expect(bytes.toString('base64')).toMatch(/^\+/);
    expect(plusCsv).toContain(`,${bytes.toString('base64')},`);
    const viaFormat = await text(taskId, '?format=csv');
    expect(viaFormat.body.equals(body)).toBe(true);
    expect(body.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false);
  });

  it('starts the CSV with a UTF-8 byte order mark on request (bom=1), for Excel', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    await t.uploadFindings(taskId, runId, [finding('/d', '迁移/数据.txt')]);
    const plain = (await text(taskId, '?format=csv')).body;
    const marked = (await text(taskId, '?format=csv&bom=1')).body;
    expect(marked.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(marked.subarray(3).equals(plain)).toBe(true);
    expect(plain.toString()).toContain(',迁移/数据.txt,');
    expect((await text(taskId, '?format=csv&bom=0')).body.equals(plain)).toBe(true);
    const wrong = await t.request(`/v3/tasks/${taskId}/consistency-result/files?format=csv&bom=yes`, {
      headers: { 'x-auth-token': t.adminToken },
    });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error_msg: string }).error_msg).toBe(
      'bom: expected one of "0" | "1", received "yes"',
    );
  });

  it('exports the re-sync list: different and missing, raw bytes, NUL-separated on request', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    const raw = Buffer.from([0x61, 0xff, 0x62]);
    await t.uploadFindings(taskId, runId, [
      finding('/d', 'gone.txt'),
      finding('/d', 'sub/changed', { category: 'different' }),
      finding('/d', 'extra', { category: 'extra' }),
      finding('/d', 'unreadable', { category: 'error' }),
      finding('/d', 'a\\xffb', { path_base64: raw.toString('base64') }),
      finding('/d', 'new\nline'),
    ]);
    const lines = await text(taskId, '?format=files-from');
    expect(lines.res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(lines.body).toEqual(
      Buffer.concat([Buffer.from('gone.txt\nsub/changed\n'), raw, Buffer.from('\n')]),
    );
    const nul = await text(taskId, '?format=files-from&null=1');
    expect(nul.body).toEqual(
      Buffer.concat([Buffer.from('gone.txt\0sub/changed\0'), raw, Buffer.from('\0new\nline\0')]),
    );
    const errors = await text(taskId, '?format=files-from&category=error');
    expect(errors.body.toString()).toBe('unreadable\n');
    const two = await taskWithRun(['/x', '/y']);
    await t.uploadFindings(two.taskId, two.runId, [finding('/x', 'a'), finding('/y', 'b')]);
    const ambiguous = await text(two.taskId, '?format=files-from');
    expect(ambiguous.res.status).toBe(400);
    expect(ambiguous.body.toString()).toMatch(/name it with dir_check/);
    expect((await text(two.taskId, '?format=files-from&dir_check=/y')).body.toString()).toBe('b\n');
  });

  it('lets agents upload and viewers read, and neither the other', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    const agent = await t.userWithToken(`agent-${dialect}`, 'agent');
    const viewer = await t.userWithToken(`viewer-${dialect}`, 'viewer');
    expect((await t.uploadFindings(taskId, runId, [finding('/d', 'a')], {}, agent.token)).status).toBe(200);
    const denied = await t.uploadFindings(taskId, runId, [finding('/d', 'b')], {}, viewer.token);
    expect(denied.status).toBe(403);
    expect((await page(taskId, '', viewer.token)).findings).toHaveLength(1);
    const read = await t.request(`/v3/tasks/${taskId}/consistency-result/files`, {
      headers: { 'x-auth-token': agent.token },
    });
    expect(read.status).toBe(403);
    const csv = await t.request(`/v3/tasks/${taskId}/consistency-result/files?format=csv`, {
      headers: { 'x-auth-token': agent.token },
    });
    expect(csv.status).toBe(403);
    const noToken = await t.uploadFindings(taskId, runId, [finding('/d', 'c')], {}, null);
    expect(noToken.status).toBe(403);
    expect((await t.uploadFindings('no-such-task', runId, [finding('/d', 'c')])).status).toBe(404);
  });

  it('takes a signed upload whose body matches its declared hash, and keeps nothing of one that does not', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    const projectId = (await t.storage.accounts.findProject({ name: 'default' }))!.id;
    const created = await t.services.accessKeys.createFor('admin', `findings-${dialect}`);
    const key = { accessKey: created.credential.access, secretKey: created.credential.secret };
    const path = `/v3/tasks/${taskId}/consistency-result/files`;
    const signed = (body: Buffer, declared: string | undefined) => {
      const headers: Record<string, string> = {
        'content-type': 'application/x-ndjson',
        'content-encoding': 'gzip',
        'x-project-id': projectId,
        'x-sms-run-id': runId,
        ...(declared === undefined ? {} : { 'x-sdk-content-sha256': declared }),
      };
      const signature = signRequest(
        { method: 'POST', url: `http://localhost${path}`, headers, payloadHash: declared ?? sha256Hex(body) },
        key,
      );
      return t.request(path, {
        method: 'POST',
        headers: { ...headers, ...signature, host: 'localhost' },
        body,
      });
    };
    const body = gzipSync(`${JSON.stringify(finding('/d', 'signed'))}\n`);
    const good = await signed(body, sha256Hex(body));
    expect(good.status, await good.clone().text()).toBe(200);
    const other = gzipSync(`${JSON.stringify(finding('/d', 'swapped'))}\n`);
    const swapped = await signed(other, sha256Hex(body));
    expect(swapped.status).toBe(403);
    expect(await swapped.json()).toMatchObject({ error_code: 'SMS.9007' });
    const undeclared = await signed(body, undefined);
    expect(undeclared.status).toBe(403);
    expect(await undeclared.json()).toMatchObject({ error_code: 'SMS.9009' });
    expect((await page(taskId)).findings.map((f) => f.path)).toEqual(['signed']);
  });

  it('stores nothing of an upload whose stream breaks off mid-way', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    const line = new TextEncoder().encode(`${JSON.stringify(finding('/d', 'x'))}\n`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // 5,000 lines (two chunks written), then the connection is lost
        if (sent++ < 5000) controller.enqueue(line);
        else controller.error(new Error('connection reset'));
      },
    });
    const res = await t.request(`/v3/tasks/${taskId}/consistency-result/files`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-ndjson',
        'x-sms-run-id': runId,
        'x-auth-token': t.adminToken,
      },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).error_msg).toMatch(/cut off/);
    expect((await page(taskId)).findings).toEqual([]);
    // the rows written before the break were deleted, not only hidden
    expect(await t.storage.findings.rowCount(taskId)).toBe(0);
  });

  it('answers a counts retry with the run it was stored in, and refuses the key with another run', async () => {
    const taskId = await t.createTask();
    const key = { 'idempotency-key': randomUUID() };
    const body = { consistency_result: [result('/d')] };
    // a plain SMS client: no run id; the run the server made is answered, the same on the retry
    const first = await t.upload(taskId, body, key);
    const made = first.headers.get('x-sms-run-id');
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
    const again = await t.upload(taskId, body, key);
    expect(again.status).toBe(200);
    expect(again.headers.get('x-sms-run-id')).toBe(made);
    // so findings of that run are taken
    expect((await t.uploadFindings(taskId, made!, [finding('/d', 'a')])).status).toBe(200);
    const other = await t.upload(taskId, body, { ...key, 'x-sms-run-id': randomUUID() });
    expect(other.status).toBe(409);
    expect(await errorOf(other)).toMatchObject({ error_code: 'SMS.1003' });
  });

  it('answers 503 with Retry-After while another request holds the key, and takes the key over once that one looks dead', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    const key = randomUUID();
    // another request's upload with this key, that has written a chunk and then stopped writing
    const batch = await t.storage.findings.openBatch(taskId, runId, key, Date.now());
    await t.storage.findings.addFindings(
      taskId,
      runId,
      batch,
      [{ dir_check: '/d', category: 'missing', path: 'partial', path_base64: null, reason: 'r' }],
      t.services.clock!(),
    );
    const busy = await t.uploadFindings(taskId, runId, [finding('/d', 'a')], { 'idempotency-key': key });
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('2');
    expect(await errorOf(busy)).toMatchObject({ error_code: 'SMS.2010' });
    // it wrote nothing for over two minutes: the next request with its key deletes it and is stored
    t.advanceClock(2 * 60 * 1000 + 1000);
    const taken = await t.uploadFindings(taskId, runId, [finding('/d', 'a')], { 'idempotency-key': key });
    expect(taken.status, await taken.clone().text()).toBe(200);
    expect((await page(taskId)).findings.map((f) => f.path)).toEqual(['a']);
    expect(await t.storage.findings.rowCount(taskId)).toBe(1);
  });

  it('holds the per-directory limit across uploads of one run written at the same time', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    // the store: two uploads opened before either closed, each within the limit alone
    const row = (path: string) => ({
      dir_check: '/d',
      category: 'missing' as const,
      path,
      path_base64: null,
      reason: 'r',
    });
    const first = await t.storage.findings.openBatch(taskId, runId, undefined, Date.now());
    const second = await t.storage.findings.openBatch(taskId, runId, undefined, Date.now());
    await t.storage.findings.addFindings(taskId, runId, first, [row('a'), row('b')], Date.now());
    await t.storage.findings.addFindings(taskId, runId, second, [row('c'), row('d')], Date.now());
    const closing = (count: number) => ({
      runId,
      requestHash: 'h',
      stored: count,
      superseded: [],
      counts: new Map([['/d', count]]),
      truncated: new Set<string>(),
      limit: 3,
      now: Date.now(),
    });
    await t.storage.findings.closeBatch(taskId, first, closing(2));
    await expect(t.storage.findings.closeBatch(taskId, second, closing(2))).rejects.toMatchObject({
      name: 'FindingsOverLimit',
      dirCheck: '/d',
      total: 4,
    });
    await t.storage.findings.abandonBatch(taskId, runId, second, ['/d']);
    expect((await all(taskId)).map((f) => f.path).sort()).toEqual(['a', 'b']);
    expect(await t.storage.findings.storedCount(taskId, '/d', runId)).toBe(2);

    // through the API, with the limit lowered to 3: B stores 3 while A is still being sent
    const limits = FindingLimits as { perDirectoryPerRun: number };
    const saved = limits.perDirectoryPerRun;
    limits.perDirectoryPerRun = 3;
    const storedCount = t.storage.findings.storedCount.bind(t.storage.findings);
    let countedOnce!: () => void;
    const counted = new Promise<void>((resolve) => {
      countedOnce = resolve;
    });
    const spy = vi.spyOn(t.storage.findings, 'storedCount').mockImplementation(async (...args) => {
      const n = await storedCount(...args);
      countedOnce();
      return n;
    });
    try {
      const other = await taskWithRun(['/e']);
      const encoder = new TextEncoder();
      let send!: ReadableStreamDefaultController<Uint8Array>;
      const streamed = new ReadableStream<Uint8Array>({
        start(controller) {
          send = controller;
        },
      });
      const line = (path: string) => encoder.encode(`${JSON.stringify(finding('/e', path))}\n`);
      const a = t.uploadFindings(other.taskId, other.runId, streamed);
      send.enqueue(line('f1'));
      send.enqueue(line('f2'));
      // A has read what the run stored of /e before B closes (its 'before' count), whatever the machine's speed
      await counted;
      const b = await t.uploadFindings(other.taskId, other.runId, [
        finding('/e', 'g1'),
        finding('/e', 'g2'),
        finding('/e', 'g3'),
      ]);
      expect(b.status, await b.clone().text()).toBe(200);
      send.enqueue(line('f3'));
      send.close();
      const refused = await a;
      expect(refused.status).toBe(400);
      expect((await errorOf(refused)).error_msg).toMatch(
        /more than 3 findings of dir_check "\/e" in run .*, counting the uploads of this run stored while this one was sent \(6 in all\); nothing of this request was stored/,
      );
      expect((await all(other.taskId)).map((f) => f.path).sort()).toEqual(['g1', 'g2', 'g3']);
      expect(await t.storage.findings.rowCount(other.taskId)).toBe(3);
    } finally {
      limits.perDirectoryPerRun = saved;
      spy.mockRestore();
    }
  });

  it('never closes an upload that was abandoned while it was written, and deletes unfinished uploads at start', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    const row = { dir_check: '/d', category: 'missing' as const, path: 'x', path_base64: null, reason: 'r' };
    const batch = await t.storage.findings.openBatch(taskId, runId, undefined, Date.now());
    await t.storage.findings.addFindings(taskId, runId, batch, [row], Date.now());
    await t.storage.findings.abandonBatch(taskId, runId, batch, ['/d']);
    await expect(
      t.storage.findings.closeBatch(taskId, batch, {
        runId,
        requestHash: 'h',
        stored: 1,
        superseded: [],
        counts: new Map([['/d', 1]]),
        truncated: new Set(),
        limit: 1_000_000,
        now: Date.now(),
      }),
    ).rejects.toThrow(/abandoned/i);
    expect((await page(taskId)).directories).toEqual([]);
    // a server stopped mid-upload: at start, on the database's only server, every unfinished upload goes
    const left = await t.storage.findings.openBatch(taskId, runId, randomUUID(), Date.now());
    await t.storage.findings.addFindings(taskId, runId, left, [row, row], Date.now());
    expect(await t.storage.findings.rowCount(taskId)).toBe(2);
    expect(await t.services.findings.abandonStaleUploads(true)).toBe(1);
    expect(await t.storage.findings.rowCount(taskId)).toBe(0);
  });

  it('sweeps an older run’s rows but never those of the current run, also while its upload is still arriving', async () => {
    const { taskId, runId: first } = await taskWithRun(['/d']);
    await t.uploadFindings(taskId, first, [finding('/d', 'old-1'), finding('/d', 'old-2')]);
    const { runId: second } = await taskWithRun(['/d'], undefined, taskId);
    // the second run's findings: one upload done, one still arriving
    await t.uploadFindings(taskId, second, [finding('/d', 'new')]);
    const open = await t.storage.findings.openBatch(taskId, second, undefined, Date.now());
    await t.storage.findings.addFindings(
      taskId,
      second,
      open,
      [{ dir_check: '/d', category: 'missing', path: 'arriving', path_base64: null, reason: 'r' }],
      Date.now(),
    );
    await t.services.findings.swept();
    expect(await t.storage.findings.sweep(taskId, ['/d'])).toBe(0);
    expect(await t.storage.findings.rowCount(taskId)).toBe(2);
    expect((await page(taskId)).findings.map((f) => f.path)).toEqual(['new']);
  });

  it('deletes a task’s findings with the task', async () => {
    const { taskId, runId } = await taskWithRun(['/d']);
    await t.uploadFindings(taskId, runId, [finding('/d', 'a')]);
    const res = await t.request(`/v3/tasks/${taskId}`, {
      method: 'DELETE',
      headers: { 'x-auth-token': t.adminToken },
    });
    expect(res.status).toBeLessThan(300);
    expect(await t.storage.findings.rowCount(taskId)).toBe(0);
  });
});
