import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signedInBrowser, textOf } from '../test-support/dashboard.js';
import { ADMIN_PASSWORD, createTestApp, result, type TestApp } from '../testing/app.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

describe('dashboard: webhooks', () => {
  it('lets an admin add a webhook (its secret shown once), see its deliveries, and delete it', async () => {
    const browser = await signedInBrowser(t, 'admin', ADMIN_PASSWORD);
    expect(await (await browser.get('/ui/tasks')).text()).toContain('href="/ui/webhooks"');
    await browser.get('/ui/webhooks');
    const added = await browser.post('/ui/webhooks', {
      csrf: browser.formToken(),
      url: 'http://127.0.0.1:9/hook',
    });
    expect(added.status).toBe(200);
    const html = await added.text();
    expect(html).toMatch(/<code data-secret[^>]*>[A-Za-z0-9_-]{40,}<\/code>/);
    const taskId = await t.createTask(t.adminToken, 'watched');
    await t.upload(taskId, {
      consistency_result: [
        result('/d', { num_different_files: 1, num_target_miss_files: 0, num_target_more_files: 0 }),
      ],
    });
    const page = await (await browser.get('/ui/webhooks')).text();
    expect(page).not.toContain('data-secret');
    expect(textOf(page)).toContain('verdict.changed');
    expect(page).toMatch(/<tr data-event="[0-9a-f-]+" data-state="pending">/);
    const id = /data-webhook="([^"]+)"/.exec(page)![1]!;
    const deleted = await browser.post(`/ui/webhooks/${id}/delete`, { csrf: browser.formToken() });
    expect(deleted.headers.get('location')).toBe('/ui/webhooks?done=deleted');
    expect(await t.storage.webhooks.list()).toEqual([]);
  });

  it('a reload of the answer (the same form posted again) adds no second webhook and says so', async () => {
    const browser = await signedInBrowser(t, 'admin', ADMIN_PASSWORD);
    await browser.get('/ui/webhooks');
    const form = { csrf: browser.formToken(), once: browser.hidden('once'), url: 'http://127.0.0.1:9/hook' };
    expect((await browser.post('/ui/webhooks', form)).status).toBe(200);
    const again = await browser.post('/ui/webhooks', form);
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe('/ui/webhooks?done=resent');
    expect(await t.storage.webhooks.list()).toHaveLength(1);
    const page = await (await browser.get(again.headers.get('location')!)).text();
    expect(textOf(page)).toContain('That form was already sent: the webhook it added is in the list below.');
    expect(page).not.toContain('data-secret');
    // each rendering of the form has its own token: adding another is one more form away
    const next = browser.hidden('once');
    expect(next).not.toBe(form.once);
    await browser.post('/ui/webhooks', { ...form, once: next, url: 'http://127.0.0.1:9/other' });
    expect(await t.storage.webhooks.list()).toHaveLength(2);
  });

  it('a form refused (a bad URL) can be corrected and sent again with its token', async () => {
    const browser = await signedInBrowser(t, 'admin', ADMIN_PASSWORD);
    await browser.get('/ui/webhooks');
    const form = { csrf: browser.formToken(), once: browser.hidden('once'), url: 'ftp://example.com' };
    expect((await browser.post('/ui/webhooks', form)).status).toBe(400);
    expect((await browser.post('/ui/webhooks', { ...form, url: 'http://127.0.0.1:9/hook' })).status).toBe(
      200,
    );
    expect(await t.storage.webhooks.list()).toHaveLength(1);
  });

  it('refuses a URL that is not http(s), and the page to a role that is not admin', async () => {
    const browser = await signedInBrowser(t, 'admin', ADMIN_PASSWORD);
    await browser.get('/ui/webhooks');
    const bad = await browser.post('/ui/webhooks', { csrf: browser.formToken(), url: 'ftp://example.com' });
    expect(bad.status).toBe(400);
    expect(textOf(await bad.text())).toContain('expected an http:// or https:// URL');
    await t.userWithToken('look', 'viewer');
    const viewer = await signedInBrowser(t, 'look', 'look-password');
    expect((await viewer.get('/ui/webhooks')).status).toBe(403);
  });
});
