import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dashboardBrowser, parseSetCookies, textOf } from '../test-support/dashboard.js';
import { ADMIN_PASSWORD, createTestApp, result, type TestApp } from '../testing/app.js';
import { SESSION_COOKIE, SIGN_IN_COOKIE } from './routes.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp({ tokenTtlSeconds: 3600 });
});
afterEach(async () => {
  await t.close();
});

/** The `<tr>` of a task in the list. */
const rowOf = (html: string, taskId: string) => {
  const match = new RegExp(`<tr data-task-id="${taskId}">([\\s\\S]*?)</tr>`).exec(html);
  if (!match?.[1]) throw new Error(`no row for task ${taskId}`);
  return textOf(match[1]).trim();
};

async function signedIn(user = 'admin', password = ADMIN_PASSWORD, project?: string) {
  const browser = dashboardBrowser(t);
  const res = await browser.signIn(user, password, project);
  expect(res.status, await res.text()).toBe(303);
  return browser;
}

describe('dashboard: signing in and out', () => {
  it('sends a visitor without a session to the sign-in page, and back where they were going afterwards', async () => {
    const browser = dashboardBrowser(t);
    expect((await browser.get('/')).headers.get('location')).toBe('/ui/tasks');
    const res = await browser.get('/ui/tasks?verdict=never');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/sign-in?next=%2Fui%2Ftasks%3Fverdict%3Dnever');
    await browser.get(res.headers.get('location') as string);
    const signIn = await browser.post('/ui/sign-in', {
      csrf: browser.formToken(),
      user: 'admin',
      password: ADMIN_PASSWORD,
      next: '/ui/tasks?verdict=never',
    });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get('location')).toBe('/ui/tasks?verdict=never');
  });

  it('never redirects off the dashboard after sign-in, whatever next says', async () => {
    for (const next of [
      'https://evil.example/',
      '//evil.example/ui/',
      '/ui//evil.example',
      '/\\evil',
      '/v3/tasks',
    ]) {
      const browser = dashboardBrowser(t);
      await browser.get('/ui/sign-in');
      const res = await browser.post('/ui/sign-in', {
        csrf: browser.formToken(),
        user: 'admin',
        password: ADMIN_PASSWORD,
        next,
      });
      expect(res.headers.get('location'), next).toBe('/ui/tasks');
    }
  });

  it('sets an HttpOnly, SameSite=Strict session cookie for the token lifetime; Secure only over HTTPS', async () => {
    const browser = dashboardBrowser(t);
    const page = await browser.get('/ui/sign-in');
    const [formCookie] = parseSetCookies(page);
    expect(formCookie).toMatchObject({
      name: SIGN_IN_COOKIE,
      attributes: { httponly: true, samesite: 'Strict', path: '/ui' },
    });
    expect(formCookie?.attributes.secure).toBeUndefined();
    const res = await browser.post('/ui/sign-in', {
      csrf: browser.formToken(),
      user: 'admin',
      password: ADMIN_PASSWORD,
    });
    const session = parseSetCookies(res).find((c) => c.name === SESSION_COOKIE);
    expect(session?.attributes).toMatchObject({
      httponly: true,
      samesite: 'Strict',
      path: '/ui',
      'max-age': '3600',
    });
    expect(session?.attributes.secure).toBeUndefined();
    // the sign-in form's cookie is spent
    expect(parseSetCookies(res).find((c) => c.name === SIGN_IN_COOKIE)?.attributes['max-age']).toBe('0');

    const https = dashboardBrowser(t, { 'x-forwarded-proto': 'https' });
    const httpsRes = await https.signIn('admin', ADMIN_PASSWORD);
    expect(parseSetCookies(httpsRes).find((c) => c.name === SESSION_COOKIE)?.attributes.secure).toBe(true);
  });

  it('keeps only a hash of the session id: the cookie value is not in the database', async () => {
    const browser = await signedIn();
    const id = browser.jar.get(SESSION_COOKIE) as string;
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await expect(t.services.auth.session(id)).resolves.toMatchObject({ principal: { userName: 'admin' } });
    const { createHash } = await import('node:crypto');
    expect(await t.storage.signIn.findSession(id)).toBeUndefined();
    expect(
      await t.storage.signIn.findSession(createHash('sha256').update(id).digest('base64url')),
    ).toBeDefined();
  });

  it('refuses a sign-in form that did not come from its page (login CSRF): no session', async () => {
    const forged = dashboardBrowser(t);
    const res = await forged.post('/ui/sign-in', {
      csrf: 'A'.repeat(43),
      user: 'admin',
      password: ADMIN_PASSWORD,
    });
    expect(res.status).toBe(403);
    expect(textOf(await res.text())).toContain('This sign-in form expired or was not sent from this page');
    expect(forged.jar.has(SESSION_COOKIE)).toBe(false);
    // a token from another browser's form does not match this browser's cookie either
    const other = dashboardBrowser(t);
    await other.get('/ui/sign-in');
    await forged.get('/ui/sign-in');
    const mixed = await forged.post('/ui/sign-in', {
      csrf: other.formToken(),
      user: 'admin',
      password: ADMIN_PASSWORD,
    });
    expect(mixed.status).toBe(403);
  });

  it('lets either of two open sign-in tabs sign in', async () => {
    const browser = dashboardBrowser(t);
    await browser.get('/ui/sign-in');
    const firstTab = browser.formToken();
    await browser.get('/ui/sign-in');
    expect(browser.formToken()).toBe(firstTab);
    const res = await browser.post('/ui/sign-in', {
      csrf: firstTab,
      user: 'admin',
      password: ADMIN_PASSWORD,
    });
    expect(res.status).toBe(303);
  });

  it('says what was wrong: missing fields, a bad name, a wrong password', async () => {
    const browser = dashboardBrowser(t);
    await browser.get('/ui/sign-in');
    const empty = await browser.post('/ui/sign-in', { csrf: browser.formToken(), user: '', password: '' });
    expect(empty.status).toBe(400);
    expect(textOf(await empty.text())).toContain('Enter your user name and your password.');
    const badName = await browser.post('/ui/sign-in', {
      csrf: browser.formToken(),
      user: 'no spaces allowed',
      password: 'x',
    });
    expect(badName.status).toBe(400);
    expect(textOf(await badName.text())).toMatch(/User name: expected letters, digits/);
    const wrong = await browser.post('/ui/sign-in', {
      csrf: browser.formToken(),
      user: 'admin',
      password: 'nope',
    });
    expect(wrong.status).toBe(401);
    const html = await wrong.text();
    expect(textOf(html)).toContain('The user name, password or project is wrong.');
    // the user name is kept, the password is not
    expect(html).toContain('value="admin"');
    expect(html).not.toContain('value="nope"');
  });

  it('shares the API sign-in limit: failures through either count, then 429 with Retry-After', async () => {
    await t.close();
    t = await createTestApp({ signInLimits: { perUser: 3, perAddress: 100, windowSeconds: 60 } });
    await t.tokenFor('admin', 'wrong-1').catch(() => {});
    await t.tokenFor('admin', 'wrong-2').catch(() => {});
    const browser = dashboardBrowser(t);
    expect((await browser.signIn('admin', 'wrong-3')).status).toBe(401);
    const limited = await browser.signIn('admin', ADMIN_PASSWORD);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(textOf(await limited.text())).toMatch(
      /Too many failed sign-ins for this user; try again in \d+ s\./,
    );
  });

  it('offers the projects of a user of several, and signs in to the one chosen', async () => {
    await t.userWithToken('olga', 'viewer', 'alpha');
    await t.services.users.grant('olga', 'beta', 'viewer').catch(async () => {
      await t.services.users.addProject('beta');
      await t.services.users.grant('olga', 'beta', 'viewer');
    });
    const browser = dashboardBrowser(t);
    const res = await browser.signIn('olga', 'olga-password');
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(textOf(html)).toContain('olga belongs to 2 projects: choose one');
    expect(html).toMatch(
      /<select id="project" name="project" required="">\s*<option value="alpha">alpha<\/option>\s*<option value="beta">beta<\/option>/,
    );
    const chosen = await browser.post('/ui/sign-in', {
      csrf: browser.formToken(),
      user: 'olga',
      password: 'olga-password',
      project: 'beta',
    });
    expect(chosen.status).toBe(303);
    expect(textOf(await (await browser.get('/ui/tasks')).text())).toContain('Tasks in project beta');
  });

  it('signs out only through its own form: a forged sign-out changes nothing; the real one ends the session', async () => {
    const browser = await signedIn();
    const list = await browser.get('/ui/tasks');
    expect(list.status).toBe(200);
    const token = browser.formToken();
    const id = browser.jar.get(SESSION_COOKIE);

    const forged = await browser.post('/ui/sign-out', { csrf: 'B'.repeat(43) });
    expect(forged.status).toBe(403);
    expect((await browser.get('/ui/tasks')).status).toBe(200);
    // from another site the form comes without the cookie (SameSite=Strict): its answer must not
    // clear the browser's cookie either
    const crossSite = await dashboardBrowser(t).post('/ui/sign-out', { csrf: 'B'.repeat(43) });
    expect(crossSite.status).toBe(303);
    expect(crossSite.headers.get('set-cookie')).toBeNull();

    const out = await browser.post('/ui/sign-out', { csrf: token });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/ui/sign-in?signed_out=1');
    expect(browser.jar.has(SESSION_COOKIE)).toBe(false);
    expect(textOf(await (await browser.get('/ui/sign-in?signed_out=1')).text())).toContain(
      'You are signed out.',
    );
    // the old cookie, replayed, is dead
    const replay = dashboardBrowser(t);
    replay.jar.set(SESSION_COOKIE, id as string);
    const res = await replay.get('/ui/tasks');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toContain('ended=1');
    expect(replay.jar.has(SESSION_COOKIE)).toBe(false);
  });

  it('ends sessions on expiry and on a password change', async () => {
    const browser = await signedIn();
    t.advanceClock(3600 * 1000);
    expect((await browser.get('/ui/tasks')).status).toBe(303);

    const again = await signedIn();
    expect((await again.get('/ui/tasks')).status).toBe(200);
    await t.services.users.setPassword('admin', 'a-new-password-2');
    const res = await again.get('/ui/tasks');
    expect(res.status).toBe(303);
    expect(textOf(await (await again.get(res.headers.get('location') as string)).text())).toContain(
      'Your session ended',
    );
  });

  it('serves pages with no script, no caching, a strict CSP and no frames', async () => {
    const browser = await signedIn();
    const res = await browser.get('/ui/tasks');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('href="/docs"');
    expect(html).toContain('href="/openapi.json"');
  });

  it('answers a method a dashboard path does not take, or a path with no page, with a page (405 with Allow, 404), never JSON', async () => {
    const id = await t.createTask(t.adminToken, 'methods');
    for (const [method, path, status, allow] of [
      ['POST', '/ui/tasks', 405, 'GET'],
      ['DELETE', `/ui/tasks/${id}`, 405, 'GET'],
      ['PUT', '/ui/access-keys', 405, 'GET, POST'],
      ['POST', '/ui/nothing', 404, null],
    ] as const) {
      const res = await t.request(path, { method });
      expect([method, path, res.status, res.headers.get('allow')]).toEqual([method, path, status, allow]);
      expect(res.headers.get('content-type')).toContain('text/html');
      const text = textOf(await res.text());
      expect(text).toContain(
        status === 405 ? `${method} is not allowed on ${path}; it takes` : `There is no page at ${path}.`,
      );
    }
    // the API's own paths still answer JSON
    const api = await t.request('/v3/tasks', { method: 'PUT' });
    expect([api.status, api.headers.get('content-type')]).toEqual([405, 'application/json']);
  });
});

describe('dashboard: the task list', () => {
  it('shows each task with its latest verdict and totals, and never-verified tasks as such', async () => {
    const web = await t.createTask(t.adminToken, 'web-01');
    const db = await t.createTask(t.adminToken, 'db-01');
    const fresh = await t.createTask(t.adminToken, 'fresh-01');
    await t.upload(web, { consistency_result: [result('/srv', { num_total_files: 1235 })] });
    t.advanceClock(60_000);
    // the latest upload is what counts: web-01 was inconsistent, then consistent
    await t.upload(web, {
      consistency_result: [
        result('/srv', {
          num_total_files: 1235,
          num_different_files: 0,
          num_target_miss_files: 0,
          num_target_more_files: 0,
        }),
      ],
    });
    await t.upload(db, {
      consistency_result: [
        result('/var/lib/db', {
          num_total_files: 1_000_000,
          num_different_files: 12,
          num_target_miss_files: 13,
          num_target_more_files: 14,
        }),
        result('/etc', {
          num_total_files: 5,
          num_different_files: 0,
          num_target_miss_files: 0,
          num_target_more_files: 0,
        }),
      ],
    });
    t.advanceClock(5 * 60_000);
    const browser = await signedIn();
    const html = await (await browser.get('/ui/tasks')).text();
    expect(rowOf(html, web)).toBe('web-01 READY Consistent 1,235 0 0 0 5 min ago');
    expect(rowOf(html, db)).toBe('db-01 READY Inconsistent 1,000,005 12 13 14 5 min ago');
    expect(rowOf(html, fresh)).toBe('fresh-01 READY Never verified — — — — never');
    // worst first by default
    expect(html.indexOf(db)).toBeLessThan(html.indexOf(fresh));
    expect(html.indexOf(fresh)).toBeLessThan(html.indexOf(web));
    expect(textOf(html)).toContain('All 3 Inconsistent 1 No result 0 Never verified 1 Consistent 1');
  });

  it('counts a verification the agent split over several uploads as one: the last upload alone would look clean', async () => {
    const id = await t.createTask(t.adminToken, 'big-host');
    const clean = { num_different_files: 0, num_target_miss_files: 0, num_target_more_files: 0 };
    const missing4 = { num_different_files: 0, num_target_miss_files: 4, num_target_more_files: 0 };
    // 35 directories: 30 in the first upload (one of them with 4 missing files), 5 in the second, all clean
    await t.upload(id, {
      consistency_result: Array.from({ length: 30 }, (_, i) =>
        result(`/srv/${i}`, { num_total_files: 100, ...(i === 7 ? missing4 : clean) }),
      ),
    });
    await t.upload(id, {
      consistency_result: Array.from({ length: 5 }, (_, i) =>
        result(`/srv/${30 + i}`, { num_total_files: 100, ...clean }),
      ),
    });
    const browser = await signedIn();
    expect(rowOf(await (await browser.get('/ui/tasks')).text(), id)).toBe(
      'big-host READY Inconsistent 3,500 0 4 0 just now',
    );
    const page = await (await browser.get(`/ui/tasks/${id}`)).text();
    expect([...page.matchAll(/<li class="dir" /g)]).toHaveLength(35);
    expect(page).not.toContain('Pages of directories'); // one page: no pager
    expect(page.indexOf('data-dir="/srv/7"')).toBeLessThan(page.indexOf('data-dir="/srv/0"'));
  });

  it('escapes what users typed: a task name is text, never markup', async () => {
    await t.createTask(t.adminToken, '<img src=x onerror=alert(1)>&');
    const html = await (await (await signedIn()).get('/ui/tasks')).text();
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&amp;');
  });

  it('filters by verdict and by part of the name (case-insensitive), and sorts by any column', async () => {
    const ids: Record<string, string> = {};
    for (const [name, different] of [
      ['web-a', 5],
      ['web-b', 50],
      ['DB-c', 500],
      ['web-clean', 0],
    ] as const) {
      ids[name] = await t.createTask(t.adminToken, name);
      await t.upload(ids[name], {
        consistency_result: [
          result('/d', {
            num_total_files: 1000,
            num_different_files: different,
            num_target_miss_files: 0,
            num_target_more_files: 0,
          }),
        ],
      });
    }
    ids.never = await t.createTask(t.adminToken, 'web-never');
    const browser = await signedIn();
    const order = (html: string) =>
      [...html.matchAll(/<tr data-task-id="([^"]+)">/g)].map((m) =>
        Object.keys(ids).find((k) => ids[k] === m[1]),
      );

    expect(
      order(await (await browser.get('/ui/tasks?verdict=inconsistent&sort=different&order=desc')).text()),
    ).toEqual(['DB-c', 'web-b', 'web-a']);
    expect(order(await (await browser.get('/ui/tasks?verdict=consistent')).text())).toEqual(['web-clean']);
    expect(order(await (await browser.get('/ui/tasks?verdict=never')).text())).toEqual(['never']);
    expect(order(await (await browser.get('/ui/tasks?q=db')).text())).toEqual(['DB-c']);
    expect(order(await (await browser.get('/ui/tasks?q=WEB&sort=name&order=desc')).text())).toEqual([
      'never',
      'web-clean',
      'web-b',
      'web-a',
    ]);
    // never-verified tasks sort after the others in both directions of a number
    expect(order(await (await browser.get('/ui/tasks?sort=different&order=asc')).text()).at(-1)).toBe(
      'never',
    );
    expect(order(await (await browser.get('/ui/tasks?sort=different&order=desc')).text()).at(-1)).toBe(
      'never',
    );
    // the % and _ of a name filter are themselves
    expect(order(await (await browser.get('/ui/tasks?q=%25')).text())).toEqual([]);
    // the sorted column says so, for screen readers too
    const sorted = await (await browser.get('/ui/tasks?sort=different&order=desc')).text();
    expect(sorted).toMatch(
      /<th scope="col" class="num" aria-sort="descending"><a href="\/ui\/tasks\?sort=different&amp;order=asc">Different/,
    );
  });

  it('pages through thousands of tasks: counts, page links, and a page past the end shows the last', async () => {
    const project = await t.storage.accounts.findProject({ name: 'default' });
    await Promise.all(
      Array.from({ length: 2_345 }, (_, i) =>
        t.storage.tasks.createTask(
          { projectId: project!.id, name: `host-${String(i).padStart(4, '0')}`, type: 'MIGRATE_FILE' },
          i,
        ),
      ),
    );
    const browser = await signedIn();
    const first = await (await browser.get('/ui/tasks?sort=name')).text();
    expect(textOf(first)).toContain('Page 1 of 47 · 2,345 tasks');
    expect([...first.matchAll(/<tr data-task-id=/g)]).toHaveLength(50);
    expect(first).toContain('href="/ui/tasks?sort=name&amp;order=asc&amp;page=2" rel="next"');
    const page2 = await (await browser.get('/ui/tasks?sort=name&order=asc&page=2')).text();
    expect(textOf(page2)).toMatch(/host-0050 .*host-0099/);
    expect(textOf(page2)).not.toContain('host-0049 ');
    const last = await (await browser.get('/ui/tasks?sort=name&order=asc&page=47&per_page=50')).text();
    expect([...last.matchAll(/<tr data-task-id=/g)]).toHaveLength(45);
    const past = await (await browser.get('/ui/tasks?sort=name&order=asc&page=9999')).text();
    expect(textOf(past)).toContain('Page 47 of 47');
    const hundred = await (await browser.get('/ui/tasks?per_page=100')).text();
    expect([...hundred.matchAll(/<tr data-task-id=/g)]).toHaveLength(100);
  });

  it('explains a query it cannot show, and an empty project', async () => {
    const browser = await signedIn();
    const empty = await (await browser.get('/ui/tasks')).text();
    expect(textOf(empty)).toContain('No tasks in this project yet.');
    for (const [query, message] of [
      ['per_page=101', 'per_page: expected integer <= 100, received 101'],
      ['page=0', 'page: expected integer >= 1, received 0'],
      ['verdict=green', 'verdict: expected one of'],
      [`q=${'n'.repeat(256)}`, 'q: expected at most 255 characters, received 256'],
      ['colour=red', 'colour: is not a field of this object; remove it'],
    ]) {
      const res = await browser.get(`/ui/tasks?${query}`);
      expect(res.status, query).toBe(400);
      expect(textOf(await res.text())).toContain(message);
    }
  });

  it('shows a user only the tasks of the project signed in to', async () => {
    const mine = await t.createTask(t.adminToken, 'alpha-web');
    const other = await t.userWithToken('bob', 'admin', 'other');
    const theirs = await t.createTask(other.token, 'other-web');
    const bob = await signedIn('bob', 'bob-password');
    const html = await (await bob.get('/ui/tasks')).text();
    expect(html).toContain(theirs);
    expect(html).not.toContain(mine);
    expect(html).not.toContain('alpha-web');
    const page = await bob.get(`/ui/tasks/${mine}`);
    expect(page.status).toBe(404);
    expect(textOf(await page.text())).not.toContain('alpha-web');
  });

  it('tells an agent-role user that its role cannot read results', async () => {
    await t.userWithToken('agent-7', 'agent');
    const browser = await signedIn('agent-7', 'agent-7-password');
    const res = await browser.get('/ui/tasks');
    expect(res.status).toBe(403);
    expect(textOf(await res.text())).toContain(
      'Your role agent cannot read results; ask an admin of the project for the viewer role.',
    );
    // the page still lets the user sign out (and sign in as someone else)
    const out = await browser.post('/ui/sign-out', { csrf: browser.formToken() });
    expect(out.headers.get('location')).toBe('/ui/sign-in?signed_out=1');
  });

  it('lets a viewer read everything it shows', async () => {
    const id = await t.createTask(t.adminToken, 'seen-by-viewer');
    await t.userWithToken('vera', 'viewer');
    const browser = await signedIn('vera', 'vera-password');
    expect((await browser.get('/ui/tasks')).status).toBe(200);
    expect((await browser.get(`/ui/tasks/${id}`)).status).toBe(200);
  });
});

describe('dashboard: the task page', () => {
  it('draws a proportional bar per directory with its numbers, from its latest result', async () => {
    const id = await t.createTask(t.adminToken, 'file-01');
    await t.upload(id, {
      consistency_result: [
        result('/old', {
          num_total_files: 10,
          num_different_files: 0,
          num_target_miss_files: 0,
          num_target_more_files: 0,
        }),
        result('/data', {
          num_total_files: 100,
          num_different_files: 50,
          num_target_miss_files: 0,
          num_target_more_files: 0,
        }),
      ],
    });
    t.advanceClock(60_000);
    await t.upload(id, {
      consistency_result: [
        result('/data', {
          num_total_files: 600,
          num_different_files: 100,
          num_target_miss_files: 200,
          num_target_more_files: 200,
        }),
      ],
    });
    const browser = await signedIn();
    const html = await (await browser.get(`/ui/tasks/${id}`)).text();
    const dir = (name: string) => {
      const match = new RegExp(
        `<li class="dir" data-dir="${name}">([\\s\\S]*?<p class="when">[\\s\\S]*?</p>)`,
      ).exec(html);
      if (!match?.[1]) throw new Error(`no directory ${name}`);
      return match[1];
    };
    // /data: its newest result (600 verified + 200 extra = 800 files): 300 matching, 100, 200, 200
    const data = dir('/data');
    expect(data).toContain(
      'aria-label="/data: 300 matching, 100 different, 200 missing at target, 200 extra at target, of 800 files"',
    );
    expect(data).toContain(
      '<span class="seg matching" data-part="matching" data-count="300" style="width:37.5000%">',
    );
    expect(data).toContain('data-count="100" style="width:12.5000%"');
    expect(data).toContain(
      '<span class="seg missing" data-part="missing" data-count="200" style="width:25.0000%">',
    );
    expect(data).toContain(
      '<span class="seg extra" data-part="extra" data-count="200" style="width:25.0000%">',
    );
    expect(textOf(data)).toContain(
      'Verified 600 Matching 300 Different 100 Missing at target 200 Extra at target 200',
    );
    // /old is only in the older upload: shown with its own result, and said to be older
    const old = dir('/old');
    expect(old).toContain('data-count="10" style="width:100.0000%"');
    expect(old).not.toContain('data-part="different"');
    expect(textOf(old)).toContain('not verified by the latest run');
    // the task's totals add up the newest result of every directory
    expect(textOf(html)).toContain(
      'Totals 610 verified, 100 different, 200 missing, 200 extra in 2 directories (the newest result of each)',
    );
    expect(textOf(html)).toContain('Inconsistent 1 of 2 directories differ');
    // the directories that differ come first
    expect(html.indexOf('data-dir="/data"')).toBeLessThan(html.indexOf('data-dir="/old"'));
    expect(html).toContain('href="/ui/tasks"');
  });

  it('charts the history oldest first, one stacked bar per run (here an upload each), and lists it', async () => {
    const id = await t.createTask(t.adminToken, 'closing');
    for (const gap of [40, 10, 0]) {
      await t.upload(id, {
        consistency_result: [
          result('/d', {
            num_total_files: 100,
            num_different_files: gap,
            num_target_miss_files: 0,
            num_target_more_files: 0,
          }),
        ],
      });
      t.advanceClock(600_000);
    }
    const html = await (await (await signedIn()).get(`/ui/tasks/${id}`)).text();
    const bars = [...html.matchAll(/<g data-run="(\d)"><title>[^<]*: (\d+) different/g)].map((m) =>
      Number(m[2]),
    );
    expect(bars).toEqual([40, 10, 0]);
    expect(textOf(html)).toContain("the task's gap went from 40 to 0 files");
    // the first bar is the tallest: its height spans the plot
    expect(html).toMatch(
      /<g data-run="0">[\s\S]*?<rect class="different" x="[\d.]+" width="[\d.]+" y="12" height="134"/,
    );
    expect(html).toMatch(/<g data-run="2">[\s\S]*?<rect class="ok"/);
    expect(textOf(html)).toContain('All 3 runs.');
    expect(
      [...html.matchAll(/<table class="history">[\s\S]*?<\/table>/g)][0]?.[0].match(/<tr[ >]/g),
    ).toHaveLength(4);
  });

  it("charts the task's gap, not the upload's: fixing one directory of two leaves the other's gap", async () => {
    const id = await t.createTask(t.adminToken, 'half-fixed');
    const bad = (n: number) => ({
      num_total_files: 100,
      num_different_files: n,
      num_target_miss_files: 0,
      num_target_more_files: 0,
    });
    await t.upload(id, { consistency_result: [result('/a', bad(10)), result('/b', bad(5))] });
    t.advanceClock(60_000);
    // only /a, now fixed: the upload itself is consistent, the task still has /b's 5
    await t.upload(id, { consistency_result: [result('/a', bad(0))] });
    const html = await (await (await signedIn()).get(`/ui/tasks/${id}`)).text();
    const bars = [...html.matchAll(/<g data-run="(\d)"><title>[^<]*: (\d+) different/g)].map((m) =>
      Number(m[2]),
    );
    expect(bars).toEqual([15, 5]);
    expect(textOf(html)).toContain("the task's gap went from 15 to 5 files");
    // the table: the second upload held 0 different files, and left the task with 5
    const rows = [
      ...(/<table class="history">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '').matchAll(
        /<tr[^>]*>([\s\S]*?)<\/tr>/g,
      ),
    ]
      .slice(1)
      .map((m) => textOf(m[1] ?? '').trim());
    expect(rows[0]).toMatch(/ 1 Consistent 1 100 0 0 0 5$/);
    expect(rows[1]).toMatch(/ 1 Inconsistent 2 200 15 0 0 15$/);
  });

  it('pages the directories of a big task, 100 to a page, those that differ first', async () => {
    const id = await t.createTask(t.adminToken, 'home-dirs');
    const name = (i: number) => `/home/u${String(i).padStart(3, '0')}`;
    // 250 directories in uploads of 30; every 50th has a different file
    for (let start = 0; start < 250; start += 30) {
      await t.upload(id, {
        consistency_result: Array.from({ length: Math.min(30, 250 - start) }, (_, k) =>
          result(name(start + k), {
            num_total_files: 10,
            num_different_files: (start + k) % 50 === 0 ? 1 : 0,
            num_target_miss_files: 0,
            num_target_more_files: 0,
          }),
        ),
      });
    }
    const browser = await signedIn();
    const dirsOf = (html: string) =>
      [...html.matchAll(/<li class="dir" data-dir="([^"]+)"/g)].map((m) => m[1]);
    const first = await (await browser.get(`/ui/tasks/${id}`)).text();
    const shown = dirsOf(first);
    expect(shown).toHaveLength(100);
    expect(shown.slice(0, 6)).toEqual([name(0), name(50), name(100), name(150), name(200), name(1)]);
    expect(textOf(first)).toContain('Directories 1 to 100 of 250, 100 to a page.');
    expect(textOf(first)).toContain('Page 1 of 3 · 250 directories');
    expect(first).toContain(`href="/ui/tasks/${id}?dirs_page=2#directories" rel="next"`);
    expect(textOf(first)).toContain('Inconsistent 5 of 250 directories differ');

    const second = dirsOf(await (await browser.get(`/ui/tasks/${id}?dirs_page=2`)).text());
    // page 1: the 5 that differ, then 95 clean ones (u001..u049, u051..u096)
    expect(shown.at(-1)).toBe(name(96));
    expect(second[0]).toBe(name(97));
    expect(new Set([...shown, ...second]).size).toBe(200);
    const last = await (await browser.get(`/ui/tasks/${id}?dirs_page=3`)).text();
    expect(dirsOf(last)).toHaveLength(50);
    expect(textOf(last)).toContain('Directories 201 to 250 of 250');
    expect(last).toContain(`href="/ui/tasks/${id}#directories">« First</a>`);
    const past = await (await browser.get(`/ui/tasks/${id}?dirs_page=99`)).text();
    expect(textOf(past)).toContain('Page 3 of 3 · 250 directories');

    for (const [query, message] of [
      ['dirs_page=0', 'dirs_page: expected integer >= 1, received 0'],
      ['dirs_page=last', 'dirs_page: expected a positive integer'],
      ['page=2', 'page: is not a field of this object; remove it'],
    ]) {
      const res = await browser.get(`/ui/tasks/${id}?${query}`);
      expect(res.status, query).toBe(400);
      expect(textOf(await res.text())).toContain(message);
    }
  });

  it('keeps to the newest 50 runs in the chart and says how many there are', async () => {
    const id = await t.createTask(t.adminToken, 'busy');
    for (let i = 0; i < 55; i++) {
      await t.upload(id, { consistency_result: [result('/d')] });
      t.advanceClock(1000);
    }
    const html = await (await (await signedIn()).get(`/ui/tasks/${id}`)).text();
    expect([...html.matchAll(/<g data-run=/g)]).toHaveLength(50);
    expect(textOf(html)).toContain('The newest 50 of 55 runs.');
  });

  it('handles a task with no uploads, an upload with no directories, and a directory of no files', async () => {
    const none = await t.createTask(t.adminToken, 'none');
    const browser = await signedIn();
    const page = textOf(await (await browser.get(`/ui/tasks/${none}`)).text());
    expect(page).toContain('Never verified');
    expect(page).toContain('No directory has been verified yet.');
    const emptyUpload = await t.createTask(t.adminToken, 'empty-upload');
    await t.upload(emptyUpload, { consistency_result: [] });
    expect(textOf(await (await browser.get(`/ui/tasks/${emptyUpload}`)).text())).toContain('No result');
    const zero = await t.createTask(t.adminToken, 'zero');
    await t.upload(zero, {
      consistency_result: [
        result('', {
          num_total_files: 0,
          num_different_files: 0,
          num_target_miss_files: 0,
          num_target_more_files: 0,
        }),
      ],
    });
    const html = await (await browser.get(`/ui/tasks/${zero}`)).text();
    expect(html).toContain(
      'aria-label="(empty path): 0 matching, 0 different, 0 missing at target, 0 extra at target, of 0 files"',
    );
    expect(html).not.toContain('class="seg');
  });

  it('answers an unknown or malformed task id with a page, not JSON', async () => {
    const browser = await signedIn();
    for (const id of ['00000000-0000-0000-0000-000000000000', 'x'.repeat(37)]) {
      const res = await browser.get(`/ui/tasks/${id}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    }
    const nowhere = await browser.get('/ui/nowhere');
    expect(nowhere.status).toBe(404);
    expect(textOf(await nowhere.text())).toContain('There is no page at /ui/nowhere.');
  });

  it('shows a server fault as a page with the request id, and logs it', async () => {
    const browser = await signedIn();
    await t.storage.close();
    const res = await browser.get('/ui/tasks');
    expect(res.status).toBe(500);
    const requestId = res.headers.get('x-request-id');
    expect(textOf(await res.text())).toContain(`quote request id ${requestId}`);
    const logged = t.logger.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged.some((line) => line.msg === 'request failed' && line.request_id === requestId)).toBe(true);
  });
});
