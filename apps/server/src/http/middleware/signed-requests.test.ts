import { ForbiddenErrorResponseSchema, ListTasksResponseSchema, passwordTokenRequest } from '@sms/domain';
import { formatSdkDate } from '@sms/domain/signature';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeyPair, officialSignature } from '../../test-support/sdk.js';
import { ADMIN_PASSWORD, createTestApp, result, type TestApp } from '../../testing/app.js';

let t: TestApp;
let key: KeyPair;

/** A wrong secret: the last character changed to one it is not (a random secret may end in X). */
const otherLast = (secret: string) => `${secret.slice(0, -1)}${secret.endsWith('X') ? 'Y' : 'X'}`;
let taskId: string;
let projectId: string;
const ORIGIN = 'http://127.0.0.1:8080';

beforeAll(async () => {
  t = await createTestApp({ clock: 'running' });
  projectId = (await t.storage.accounts.findProject({ name: 'default' }))!.id;
  const created = await t.services.accessKeys.createFor('admin', 'tests');
  key = { ak: created.credential.access, sk: created.credential.secret, projectId };
  taskId = await t.createTask();
});
afterAll(() => t.close());

/** Sends a request the official signer signed, in-process. */
function send(
  request: Omit<Parameters<typeof officialSignature>[0], 'url' | 'key'> & { path: string; key?: KeyPair },
) {
  const signed = officialSignature({ ...request, url: `${ORIGIN}${request.path}`, key: request.key ?? key });
  return t.request(signed.url.slice(ORIGIN.length), signed.init);
}
const upload = (extra: Partial<Parameters<typeof send>[0]> = {}) =>
  send({
    path: `/v3/tasks/${taskId}/consistency-result`,
    method: 'POST',
    body: { consistency_result: [result('/srv/signed')] },
    ...extra,
  });
async function refusal(res: Response) {
  expect(res.status).toBe(403);
  return v.parse(ForbiddenErrorResponseSchema, await res.json());
}

describe('requests signed with an access key (SDK-HMAC-SHA256)', () => {
  it('uploads, reads the history and lists tasks as the key’s user', async () => {
    expect((await upload()).status).toBe(200);
    const history = await send({ path: `/v3/tasks/${taskId}/consistency-result`, method: 'GET' });
    expect(history.status).toBe(200);
    expect(JSON.stringify(await history.json())).toContain('/srv/signed');
    const list = await send({ path: '/v3/tasks', method: 'GET', query: { limit: '10', name: 'web' } });
    expect(list.status).toBe(200);
    expect(v.parse(ListTasksResponseSchema, await list.json()).tasks.map((task) => task.id)).toContain(
      taskId,
    );
  });

  it('takes the user’s only project when X-Project-Id is absent', async () => {
    const { projectId: _, ...withoutProject } = key;
    expect((await upload({ key: withoutProject })).status).toBe(200);
  });

  it('refuses a wrong secret with SMS.9007', async () => {
    const body = await refusal(await upload({ key: { ...key, sk: otherLast(key.sk) } }));
    expect(body.error_code).toBe('SMS.9007');
    expect(body.error_msg).toContain('secret key');
  });

  it('refuses a body other than the one signed with SMS.9007', async () => {
    const signed = officialSignature({
      url: `${ORIGIN}/v3/tasks/${taskId}/consistency-result`,
      method: 'POST',
      key,
      body: { consistency_result: [] },
    });
    const res = await t.request(`/v3/tasks/${taskId}/consistency-result`, {
      ...signed.init,
      body: JSON.stringify({ consistency_result: [result('/forged')] }),
    });
    expect((await refusal(res)).error_code).toBe('SMS.9007');
  });

  it('refuses an unknown key, and an inactive one until it is active again, with SMS.9006', async () => {
    expect((await refusal(await upload({ key: { ...key, ak: 'AAAAAAAAAAAAAAAAAAAA' } }))).error_code).toBe(
      'SMS.9006',
    );
    await t.storage.accessKeys.update(key.ak, { status: 'inactive' });
    expect((await refusal(await upload())).error_code).toBe('SMS.9006');
    await t.storage.accessKeys.update(key.ak, { status: 'active' });
    expect((await upload()).status).toBe(200);
  });

  it('refuses a missing, malformed or stale X-Sdk-Date with SMS.9008, and accepts 14 minutes off', async () => {
    const now = Date.now();
    for (const date of [
      formatSdkDate(now - 16 * 60_000),
      formatSdkDate(now + 16 * 60_000),
      '2026-12-04T18:55:12Z',
    ]) {
      const body = await refusal(await upload({ date }));
      expect(body.error_code, date).toBe('SMS.9008');
    }
    expect((await upload({ date: formatSdkDate(now - 14 * 60_000) })).status).toBe(200);
    const signed = officialSignature({ url: `${ORIGIN}/v3/tasks`, method: 'GET', key });
    const headers = new Headers(signed.init.headers);
    headers.delete('x-sdk-date');
    headers.set('authorization', (headers.get('authorization') ?? '').replace(/;x-sdk-date/, ''));
    expect((await refusal(await t.request('/v3/tasks', { headers }))).error_code).toBe('SMS.9008');
  });

  it('refuses a malformed Authorization, a token beside a signature and an unsigned X-Project-Id with SMS.9009', async () => {
    const signed = officialSignature({ url: `${ORIGIN}/v3/tasks`, method: 'GET', key });
    const variants: ((h: Headers) => void)[] = [
      (h) => h.set('authorization', 'SDK-HMAC-SHA256 Access=x'),
      (h) => h.set('authorization', `${h.get('authorization')}, Extra=1`),
      (h) => h.set('x-auth-token', t.adminToken),
      (h) => h.set('authorization', (h.get('authorization') ?? '').replace(/;x-project-id/, '')),
      (h) =>
        h.set(
          'authorization',
          (h.get('authorization') ?? '').replace(/SignedHeaders=/, 'SignedHeaders=x-absent;'),
        ),
    ];
    for (const change of variants) {
      const headers = new Headers(signed.init.headers);
      change(headers);
      expect((await refusal(await t.request('/v3/tasks', { headers }))).error_code).toBe('SMS.9009');
    }
  });

  it('refuses another project’s id with SMS.9010, and lets the role decide in its own (SMS.9004)', async () => {
    const other = await t.services.users.addProject('other-project');
    expect((await refusal(await upload({ key: { ...key, projectId: other.id } }))).error_code).toBe(
      'SMS.9010',
    );
    await t.userWithToken('viewer-1', 'viewer');
    const viewerKey = await t.services.accessKeys.createFor('viewer-1');
    const viewer = { ak: viewerKey.credential.access, sk: viewerKey.credential.secret, projectId };
    expect((await refusal(await upload({ key: viewer }))).error_code).toBe('SMS.9004');
    expect(
      (await send({ path: `/v3/tasks/${taskId}/consistency-result`, method: 'GET', key: viewer })).status,
    ).toBe(200);
  });

  it('stops a deleted key, and the keys of a removed user, from the next request on', async () => {
    await t.userWithToken('agent-9', 'agent');
    const created = await t.services.accessKeys.createFor('agent-9');
    const agentKey = { ak: created.credential.access, sk: created.credential.secret, projectId };
    const spare = await t.services.accessKeys.createFor('agent-9');
    expect((await upload({ key: agentKey })).status).toBe(200);
    await t.services.accessKeys.deleteKey(agentKey.ak);
    expect((await refusal(await upload({ key: agentKey }))).error_code).toBe('SMS.9006');
    const spareKey = { ak: spare.credential.access, sk: spare.credential.secret, projectId };
    expect((await upload({ key: spareKey })).status).toBe(200);
    await t.services.users.removeUser('agent-9');
    expect((await refusal(await upload({ key: spareKey }))).error_code).toBe('SMS.9006');
  });

  it('leaves tokens as they were: another Authorization scheme beside a token changes nothing', async () => {
    const res = await t.upload(taskId, { consistency_result: [] }, { authorization: 'Bearer something' });
    expect(res.status).toBe(200);
    expect((await t.upload(taskId, {}, { authorization: 'Basic eDp5' }, null)).status).toBe(403);
  });
});

describe('failed signatures and the sign-in limits', () => {
  it('count for the key and the address: past the limit even a right signature, and a password, wait (429)', async () => {
    const limited = await createTestApp({
      clock: 'running',
      signInLimits: { perUser: 3, perAddress: 5, windowSeconds: 900 },
    });
    try {
      const pid = (await limited.storage.accounts.findProject({ name: 'default' }))!.id;
      const made = await limited.services.accessKeys.createFor('admin');
      const right = { ak: made.credential.access, sk: made.credential.secret, projectId: pid };
      const send = (k: KeyPair) => {
        const signed = officialSignature({ url: `${ORIGIN}/v3/tasks`, method: 'GET', key: k });
        return limited.request('/v3/tasks', signed.init, '198.51.100.7');
      };
      expect((await send(right)).status).toBe(200);
      for (let i = 0; i < 3; i++)
        expect((await send({ ...right, sk: otherLast(right.sk) })).status).toBe(403);
      const waiting = await send(right);
      expect(waiting.status).toBe(429);
      expect(waiting.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await waiting.json()) as { error_code: string }).error_code).toBe('SMS.9005');
      // two unknown keys from the same address reach its limit of 5: a password sign-in from there waits too
      for (let i = 0; i < 2; i++)
        expect((await send({ ...right, ak: `UNKNOWN0000000000${i}00` })).status).toBe(403);
      const token = await limited.request(
        '/v3/auth/tokens',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(passwordTokenRequest({ user: 'admin', password: ADMIN_PASSWORD })),
        },
        '198.51.100.7',
      );
      expect(token.status).toBe(429);
    } finally {
      await limited.close();
    }
  });
});

describe('the payload hash the SDKs may send (X-Sdk-Content-Sha256)', () => {
  it('accepts UNSIGNED-PAYLOAD without a body, and refuses it, or another hash, with one (SMS.9007)', async () => {
    const get = officialSignature({
      url: `${ORIGIN}/v3/tasks`,
      method: 'GET',
      key,
      headers: { 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' },
    });
    expect((await t.request('/v3/tasks', get.init)).status).toBe(200);
    for (const declared of ['UNSIGNED-PAYLOAD', 'a'.repeat(64)]) {
      const post = officialSignature({
        url: `${ORIGIN}/v3/tasks/${taskId}/consistency-result`,
        method: 'POST',
        key,
        body: { consistency_result: [] },
        headers: { 'X-Sdk-Content-Sha256': declared },
      });
      const res = await t.request(`/v3/tasks/${taskId}/consistency-result`, post.init);
      expect((await refusal(res)).error_code, declared).toBe('SMS.9007');
    }
  });
});
