import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardBrowser } from '../test-support/dashboard.js';
import { type KeyPair, officialSignature } from '../test-support/sdk.js';
import { createTestApp, type TestApp } from '../testing/app.js';

let t: TestApp;
let projectId: string;
beforeAll(async () => {
  t = await createTestApp({ clock: 'running' });
  projectId = (await t.storage.accounts.findProject({ name: 'default' }))!.id;
  await t.userWithToken('agent-7', 'agent');
});
afterAll(() => t.close());

/** Whether a request signed with the key is accepted, as the SDKs send it. */
async function signs(key: KeyPair): Promise<number> {
  const signed = officialSignature({ url: 'http://127.0.0.1:8080/v3/tasks', method: 'GET', key });
  return (await t.request('/v3/tasks', signed.init)).status;
}

describe('dashboard: your access keys', () => {
  it('creates a key (the secret shown once), deactivates, activates and deletes it', async () => {
    const browser = dashboardBrowser(t);
    expect((await browser.signIn('agent-7', 'agent-7-password')).status).toBe(303);
    const empty = await browser.get('/ui/access-keys');
    expect(empty.status).toBe(200);
    expect(await empty.text()).toContain('You have no access key.');

    const created = await browser.post('/ui/access-keys', {
      csrf: browser.formToken(),
      description: 'web-01',
    });
    expect(created.status).toBe(200);
    const html = await created.text();
    const access = /data-field="access">([A-Z0-9]{20})</.exec(html)?.[1];
    const secret = /data-field="secret">([A-Za-z0-9]{40})</.exec(html)?.[1];
    expect(access && secret).toBeTruthy();
    expect(html).toContain('shown only this once');
    const key = { ak: access!, sk: secret!, projectId };
    expect(await signs(key)).toBe(200);

    const list = await (await browser.get('/ui/access-keys')).text();
    expect(list).toContain(access);
    expect(list).toContain('web-01');
    expect(list).not.toContain(secret);

    const off = await browser.post(`/ui/access-keys/${access}`, {
      csrf: browser.formToken(),
      action: 'deactivate',
    });
    expect(off.status).toBe(303);
    expect(off.headers.get('location')).toBe('/ui/access-keys?done=deactivate');
    expect(await (await browser.get('/ui/access-keys?done=deactivate')).text()).toContain('is inactive');
    expect(await signs(key)).toBe(403);
    await browser.post(`/ui/access-keys/${access}`, { csrf: browser.formToken(), action: 'activate' });
    expect(await signs(key)).toBe(200);

    await browser.get('/ui/access-keys');
    const deleted = await browser.post(`/ui/access-keys/${access}`, {
      csrf: browser.formToken(),
      action: 'delete',
    });
    expect(deleted.status).toBe(303);
    expect(await signs(key)).toBe(403);
    expect(await (await browser.get('/ui/access-keys')).text()).toContain('You have no access key.');
  });

  it('refuses a form without the session’s token, a third key, and an action on another user’s key', async () => {
    const browser = dashboardBrowser(t);
    expect((await browser.signIn('agent-7', 'agent-7-password')).status).toBe(303);
    expect((await browser.post('/ui/access-keys', { csrf: 'x'.repeat(43) })).status).toBe(403);
    expect(
      await t.storage.accessKeys.list({
        userId: (await t.storage.accounts.findUser({ name: 'agent-7' }))!.id,
      }),
    ).toEqual([]);
    await browser.get('/ui/access-keys');
    for (let i = 0; i < 2; i++) {
      expect((await browser.post('/ui/access-keys', { csrf: browser.formToken() })).status).toBe(200);
    }
    const third = await browser.post('/ui/access-keys', { csrf: browser.formToken() });
    expect(third.status).toBe(409);
    expect(await third.text()).toContain('already has 2 access keys');

    const adminKey = await t.services.accessKeys.createFor('admin');
    const other = await browser.post(`/ui/access-keys/${adminKey.credential.access}`, {
      csrf: browser.formToken(),
      action: 'delete',
    });
    expect(other.status).toBe(404);
    expect(await t.storage.accessKeys.find(adminKey.credential.access)).toBeDefined();
    const bad = await browser.post(`/ui/access-keys/${adminKey.credential.access}`, {
      csrf: browser.formToken(),
      action: 'toString',
    });
    expect(bad.status).toBe(400);
  });

  it('a reload of the answer (the same form posted again) creates no second key and says so', async () => {
    await t.userWithToken('agent-8', 'agent');
    const browser = dashboardBrowser(t);
    await browser.signIn('agent-8', 'agent-8-password');
    await browser.get('/ui/access-keys');
    const form = { csrf: browser.formToken(), once: browser.hidden('once'), description: 'db-02' };
    expect((await browser.post('/ui/access-keys', form)).status).toBe(200);
    const again = await browser.post('/ui/access-keys', form);
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe('/ui/access-keys?done=resent');
    const user = (await t.storage.accounts.findUser({ name: 'agent-8' }))!;
    expect(await t.storage.accessKeys.list({ userId: user.id })).toHaveLength(1);
    const page = await (await browser.get(again.headers.get('location')!)).text();
    expect(page).toContain('That form was already sent: the key it created is in the list below.');
    // `resent` is a message, never an action on a key
    const access = /data-field="access">([A-Z0-9]{20})</.exec(page)?.[1] ?? /([A-Z0-9]{20})/.exec(page)?.[1];
    const action = await browser.post(`/ui/access-keys/${access}`, {
      csrf: browser.formToken(),
      action: 'resent',
    });
    expect(action.status).toBe(400);
  });

  it('sends a visitor without a session to sign in', async () => {
    const res = await dashboardBrowser(t).get('/ui/access-keys');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/sign-in?next=%2Fui%2Faccess-keys');
  });
});
