import { ErrorResponseSchema } from '@sms/domain';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createTestApp, result, type TestApp } from '../../testing/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('health, documents and the edges of the app', () => {
  it('answers /healthz and /readyz', async () => {
    expect(await (await t.request('/healthz')).json()).toEqual({ status: 'ok' });
    expect(await (await t.request('/readyz')).json()).toEqual({ status: 'ready', storage: 'sqlite' });
  });

  it('serves an OpenAPI document derived from the domain schemas', async () => {
    const res = await t.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { operationId?: string }>>;
      components: { schemas: Record<string, { properties?: Record<string, { maxItems?: number }> }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/v3/tasks/{task_id}/consistency-result']?.post?.operationId).toBe(
      'UpdateConsistencyResult',
    );
    expect(
      doc.components.schemas.UpdateConsistencyResultRequest?.properties?.consistency_result?.maxItems,
    ).toBe(30);
    expect(Object.keys(doc.components.schemas)).toContain('ForbiddenErrorResponse');
  });

  it('describes both ways to authenticate, and the access keys’ routes', async () => {
    const doc = (await (await t.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { operationId?: string; security?: object[] }>>;
      components: { securitySchemes: Record<string, { description: string }> };
    };
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['token', 'accessKey']);
    expect(doc.components.securitySchemes.accessKey?.description).toContain('SDK-HMAC-SHA256');
    expect(doc.paths['/v3/tasks/{task_id}/consistency-result']?.post?.security).toEqual([
      { token: [] },
      { accessKey: [] },
    ]);
    expect(doc.paths['/v3.0/OS-CREDENTIAL/credentials']?.post?.operationId).toBe('CreatePermanentAccessKey');
    expect(doc.paths['/v3.0/OS-CREDENTIAL/credentials/{access_key}']?.delete?.operationId).toBe(
      'DeletePermanentAccessKey',
    );
  });

  it("lists each route's own answers: the upload's 429 and 503, and only the 409 codes it can give", async () => {
    type Operation = { description?: string; responses: Record<string, { description: string }> };
    const doc = (await (await t.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    const upload = doc.paths['/v3/tasks/{task_id}/consistency-result']!.post!;
    expect(Object.keys(upload.responses)).toEqual(
      expect.arrayContaining(['200', '400', '403', '404', '409', '429', '500', '503']),
    );
    expect(upload.responses['429']!.description).toContain('SMS.9005');
    expect(upload.responses['503']!.description).toContain('SMS.2009');
    expect(upload.responses['409']!.description).toMatch(/^`SMS\.1003` /);
    for (const other of ['SMS.1005', 'SMS.1006', 'SMS.1007', 'SMS.1008'])
      expect(upload.responses['409']!.description).not.toContain(other);
    expect(upload.description).toContain('no NUL character and no lone UTF-16 surrogate');
    const claim = doc.paths['/v3/consistency-checks/{id}/claim']!.post!;
    expect(claim.responses['409']!.description).toMatch(/^`SMS\.1008` [^`]*$/);
  });

  it('serves a readable API reference page', async () => {
    const res = await t.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('/v3/tasks/{task_id}/consistency-result');
    expect(html).toContain('href="/openapi.json"');
  });

  it('answers an unknown path with 404 SMS.3002 and a known path with the wrong method with 405', async () => {
    const missing = await t.request('/v3/nothing');
    expect(missing.status).toBe(404);
    expect(v.parse(ErrorResponseSchema, await missing.json()).error_code).toBe('SMS.3002');
    const wrong = await t.request('/v3/tasks/abc/consistency-result', { method: 'PUT' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST, GET');
    expect(v.parse(ErrorResponseSchema, await wrong.json()).error_code).toBe('SMS.1004');
  });

  it('sets the usual security headers and no CORS header', async () => {
    const res = await t.request('/v3/tasks', {
      headers: { origin: 'https://evil.example', 'x-auth-token': t.adminToken },
    });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('decodes strangely encoded task ids and judges them by length only', async () => {
    const cases: [string, number][] = [
      ['%E4%BB%BB%E5%8A%A1', 404],
      ['..', 404],
      ['%2e%2e', 404],
      ['%ZZ', 404],
      [encodeURIComponent('ü'.repeat(37)), 400],
    ];
    for (const [id, status] of cases) {
      const res = await t.upload(id, { consistency_result: [result('/a')] });
      expect(res.status, id).toBe(status);
      v.parse(ErrorResponseSchema, await res.json());
    }
  });

  it('writes one JSON log line per request with id, method, path, status and duration, and never a token or password', async () => {
    t.logger.lines.length = 0;
    const token = await t.tokenFor('admin', ADMIN_PASSWORD, 'default');
    await t.request('/v3/tasks', { headers: { 'x-auth-token': token, 'x-request-id': 'log-check-1' } });
    const lines = t.logger.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const entry = lines.find((l) => l.request_id === 'log-check-1');
    expect(entry).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'GET',
      path: '/v3/tasks',
      status: 200,
      user: 'admin',
    });
    expect(typeof entry?.duration_ms).toBe('number');
    const all = t.logger.lines.join('\n');
    expect(all).not.toContain(token);
    expect(all).not.toContain(ADMIN_PASSWORD);
  });

  it('answers 500 SMS.2008 with the documented body when the storage fails, and /readyz says not ready', async () => {
    const broken = await createTestApp();
    const taskId = await broken.createTask();
    const token = broken.adminToken;
    // Break the storage under a valid token: the token check itself needs the database, so
    // it must fail as a storage failure (500), not as an authentication failure.
    await broken.storage.close();
    const res = await broken.upload(taskId, { consistency_result: [result('/a')] }, {}, token);
    expect(res.status).toBe(500);
    const body = v.parse(ErrorResponseSchema, await res.json());
    expect(body.error_code).toBe('SMS.2008');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.js:\d+/);
    const ready = await broken.request('/readyz');
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { status: string }).status).toBe('not ready');
    await broken.close();
  });
});
