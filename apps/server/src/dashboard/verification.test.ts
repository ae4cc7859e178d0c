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

type Entry = { config_key: string; config_value: string };

/** Sets keys of a task's configuration through the API, as another admin or `sms-agent config` does. */
function setConfiguration(id: string, configurations: Entry[]) {
  return t.request(`/v3/tasks/${id}/configuration-setting`, {
    method: 'POST',
    headers: { 'x-auth-token': t.adminToken, 'content-type': 'application/json' },
    body: JSON.stringify({ configurations }),
  });
}

/** The task's configuration as the API reads it. */
async function storedConfiguration(id: string): Promise<Entry[]> {
  const res = await t.request(`/v3/tasks/${id}/configuration-setting`, {
    headers: { 'x-auth-token': t.adminToken },
  });
  return ((await res.json()) as { configurations: Entry[] }).configurations;
}

/** The configuration form as a page shows it: each of its inputs' names and values, as a browser sends them. */
function configurationForm(html: string): Record<string, string> {
  const form = html.slice(html.indexOf('action="/ui/tasks/'), html.indexOf('Save the configuration'));
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g))
    fields[m[1]!] = m[2]!.replaceAll('&quot;', '"').replaceAll('&amp;', '&');
  return fields;
}

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
    const api = await storedConfiguration(id);
    expect(api).toHaveLength(3);
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
    const api = await storedConfiguration(id);
    expect(api).toEqual([]);
    const forged = await browser.post(`/ui/tasks/${id}/verify-now`, { csrf: 'not-the-token' });
    expect(forged.status).toBe(403);
  });

  it('saves only the keys changed on the page: a page opened before another admin set a key does not undo it', async () => {
    const id = await t.createTask(t.adminToken, 'web-04');
    await setConfiguration(id, [{ config_key: 'CONSISTENCY_MODE', config_value: 'quick' }]);
    const browser = await signedIn();
    const html = await (await browser.get(`/ui/tasks/${id}`)).text();
    const fields = configurationForm(html);
    expect(fields['shown:CONSISTENCY_SCHEDULE']).toBeDefined();
    // meanwhile another admin (or `sms-agent config`) sets a schedule and a target
    await setConfiguration(id, [
      { config_key: 'CONSISTENCY_SCHEDULE', config_value: '0 3 * * *' },
      { config_key: 'CONSISTENCY_TARGET', config_value: 'root@web-05:/' },
    ]);
    // this page changes the mode only, its schedule and target fields still empty
    const saved = await browser.post(`/ui/tasks/${id}/configuration`, {
      ...fields,
      csrf: browser.formToken(),
      CONSISTENCY_MODE: 'content',
    });
    expect(saved.status).toBe(303);
    const api = await storedConfiguration(id);
    expect(api).toEqual([
      { config_key: 'CONSISTENCY_MODE', config_value: 'content' },
      { config_key: 'CONSISTENCY_TARGET', config_value: 'root@web-05:/' },
      { config_key: 'CONSISTENCY_SCHEDULE', config_value: '0 3 * * *' },
    ]);
    // a field emptied on the page still removes its key
    const again = await (await browser.get(`/ui/tasks/${id}`)).text();
    await browser.post(`/ui/tasks/${id}/configuration`, {
      ...configurationForm(again),
      csrf: browser.formToken(),
      CONSISTENCY_SCHEDULE: '',
    });
    const after = await storedConfiguration(id);
    expect(after.map((e) => e.config_key)).toEqual(['CONSISTENCY_MODE', 'CONSISTENCY_TARGET']);
  });

  it('keeps what a stale page showed across a refused save: the corrected save still leaves keys set meanwhile', async () => {
    const id = await t.createTask(t.adminToken, 'web-06');
    const browser = await signedIn();
    const stale = configurationForm(await (await browser.get(`/ui/tasks/${id}`)).text());
    await setConfiguration(id, [
      { config_key: 'CONSISTENCY_SCHEDULE', config_value: '0 3 * * *' },
      { config_key: 'CONSISTENCY_AGENT', config_value: 'web-09' },
    ]);
    const refused = await browser.post(`/ui/tasks/${id}/configuration`, {
      ...stale,
      csrf: browser.formToken(),
      CONSISTENCY_MODE: 'fast',
    });
    expect(refused.status).toBe(400);
    // the page drawn again, corrected, saved
    const saved = await browser.post(`/ui/tasks/${id}/configuration`, {
      ...configurationForm(await refused.text()),
      csrf: browser.formToken(),
      CONSISTENCY_MODE: 'content',
    });
    expect(saved.status).toBe(303);
    const api = await storedConfiguration(id);
    expect(api.map((e) => e.config_key)).toEqual([
      'CONSISTENCY_MODE',
      'CONSISTENCY_SCHEDULE',
      'CONSISTENCY_AGENT',
    ]);
    // a request waits for the agent the task names, and the page says which
    await browser.post(`/ui/tasks/${id}/verify-now`, { csrf: browser.formToken() });
    expect(textOf(await (await browser.get(`/ui/tasks/${id}`)).text())).toContain(
      'Waiting for the agent web-09',
    );
  });

  it('shows a viewer the configuration without forms', async () => {
    const id = await t.createTask(t.adminToken, 'web-03');
    await setConfiguration(id, [{ config_key: 'CONSISTENCY_MODE', config_value: 'content' }]);
    await t.userWithToken('watch', 'viewer');
    const browser = await signedIn('watch', 'watch-password');
    const html = await (await browser.get(`/ui/tasks/${id}`)).text();
    expect(textOf(html)).toContain('CONSISTENCY_MODE content');
    expect(html).not.toContain('/verify-now');
    expect(html).not.toContain('Save the configuration');
    const denied = await browser.post(`/ui/tasks/${id}/verify-now`, { csrf: browser.formToken() });
    expect(denied.status).toBe(403);
    // a write refused for the role: who can do it, not that the role cannot read results
    expect(textOf(await denied.text())).toContain(
      'Your role viewer may not do this; ask an admin of the project to do it, or for the admin role.',
    );
    // the configuration form sent with nothing changed is refused too, never "saved"
    const unchanged = await browser.post(`/ui/tasks/${id}/configuration`, { csrf: browser.formToken() });
    expect(unchanged.status).toBe(403);
    expect(textOf(await unchanged.text())).toContain('Your role viewer may not do this');
  });

  it('says nothing was changed when an admin saves the configuration as it was', async () => {
    const id = await t.createTask(t.adminToken, 'web-05');
    const browser = await signedIn('admin', ADMIN_PASSWORD);
    await browser.get(`/ui/tasks/${id}`); // the page whose form is sent
    const saved = await browser.post(`/ui/tasks/${id}/configuration`, { csrf: browser.formToken() });
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe(`/ui/tasks/${id}?done=unchanged#verification`);
    expect(textOf(await (await browser.get(saved.headers.get('location')!)).text())).toContain(
      'Nothing was changed: the configuration is as it was.',
    );
  });

  it("answers an admin of another project's forms on this project's task as a task not found (404), as its pages", async () => {
    const id = await t.createTask(t.adminToken, 'web-04');
    await t.userWithToken('other-admin', 'admin', 'other');
    const browser = await signedIn('other-admin', 'other-admin-password');
    await browser.get('/ui/tasks'); // a page of its own, whose forms carry the session's form token
    for (const form of ['verify-now', 'configuration']) {
      const res = await browser.post(`/ui/tasks/${id}/${form}`, { csrf: browser.formToken() });
      expect([form, res.status]).toEqual([form, 404]);
      expect(textOf(await res.text())).toContain('Not found');
    }
    expect((await browser.get(`/ui/tasks/${id}`)).status).toBe(404);
    expect(await storedConfiguration(id)).toEqual([]);
  });
});
