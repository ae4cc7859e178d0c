import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signedInBrowser, textOf } from '../test-support/dashboard.js';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../testing/app.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

const signedIn = (user = 'admin', password = ADMIN_PASSWORD) => signedInBrowser(t, user, password);

describe('dashboard: verification on the task page', () => {
  it('lets an admin set the configuration and ask for a verification, and shows both', async () => {
    const id = await t.createTask(t.adminToken, 'web-01');
    const browser = await signedIn();
    await browser.get(`/ui/tasks/${id}`);
    const saved = await browser.post(`/ui/tasks/${id}/configuration`, {
      csrf: browser.formToken(),
      CONSISTENCY_DIR: '["/root/data"]',
      CONSISTENCY_TARGET: 'root@web-02:/',
      CONSISTENCY_SCHEDULE: '0 3 * * *',
    });
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe(`/ui/tasks/${id}?done=configuration#verification`);
    const page = await (await browser.get(`/ui/tasks/${id}?done=configuration`)).text();
    expect(textOf(page)).toContain('The configuration is saved');
    expect(page).toContain('value="[&quot;/root/data&quot;]"');
    expect(textOf(page)).toMatch(/Next scheduled verification: \d{4}-\d\d-\d\d 03:00/);
    // the API reads what the form set
    const api = await t.request(`/v3/tasks/${id}/configuration-setting`, {
      headers: { 'x-auth-token': t.adminToken },
    });
    expect(((await api.json()) as { configurations: unknown[] }).configurations).toHaveLength(3);
    const asked = await browser.post(`/ui/tasks/${id}/verify-now`, { csrf: browser.formToken() });
    expect(asked.headers.get('location')).toBe(`/ui/tasks/${id}?done=requested#verification`);
    const after = await (await browser.get(`/ui/tasks/${id}`)).text();
    expect(after).toMatch(/<tr data-request="[0-9a-f-]+" data-state="pending">/);
    expect(textOf(after)).toContain('admin Waiting for an agent');
    const twice = await browser.post(`/ui/tasks/${id}/verify-now`, { csrf: browser.formToken() });
    expect(twice.headers.get('location')).toContain('done=open');
  });

  it('keeps what the admin typed and says which key is wrong, saving nothing', async () => {
    const id = await t.createTask(t.adminToken, 'web-02');
    const browser = await signedIn();
    await browser.get(`/ui/tasks/${id}`);
    const refused = await browser.post(`/ui/tasks/${id}/configuration`, {
      csrf: browser.formToken(),
      CONSISTENCY_DIR: '/root/data',
      CONSISTENCY_MODE: 'quick',
    });
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(textOf(html)).toContain('Nothing was saved');
    expect(textOf(html)).toContain('CONSISTENCY_DIR: expected a JSON array');
    expect(html).toContain('value="/root/data"');
    const api = await t.request(`/v3/tasks/${id}/configuration-setting`, {
      headers: { 'x-auth-token': t.adminToken },
    });
    expect(((await api.json()) as { configurations: unknown[] }).configurations).toEqual([]);
    const forged = await browser.post(`/ui/tasks/${id}/verify-now`, { csrf: 'not-the-token' });
    expect(forged.status).toBe(403);
  });

  it('shows a viewer the configuration without forms', async () => {
    const id = await t.createTask(t.adminToken, 'web-03');
    await t.request(`/v3/tasks/${id}/configuration-setting`, {
      method: 'POST',
      headers: { 'x-auth-token': t.adminToken, 'content-type': 'application/json' },
      body: JSON.stringify({ configurations: [{ config_key: 'CONSISTENCY_MODE', config_value: 'content' }] }),
    });
    await t.userWithToken('watch', 'viewer');
    const browser = await signedIn('watch', 'watch-password');
    const html = await (await browser.get(`/ui/tasks/${id}`)).text();
    expect(textOf(html)).toContain('CONSISTENCY_MODE content');
    expect(html).not.toContain('/verify-now');
    expect(html).not.toContain('Save the configuration');
    const denied = await browser.post(`/ui/tasks/${id}/verify-now`, { csrf: browser.formToken() });
    expect(denied.status).toBe(403);
  });
});
