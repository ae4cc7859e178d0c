import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SmsClient } from '@sms/client';
import { runServerCli, type ServerProcess, startServerProcess } from '@sms/server/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../../apps/agent/src/test-support/cli.js';
import { treePair } from '../../../apps/agent/src/test-support/tree.js';
import { accessibilityViolations, launchChromium } from './chromium.js';

/** Screenshots of this run: kept with the test results, never committed. */
const SCREENSHOTS = fileURLToPath(new URL('../.test-results/screenshots/', import.meta.url));
const ADMIN_PASSWORD = 'browser-admin-password';
const users = {
  vera: { password: 'vera-password-1', project: 'default', role: 'viewer' },
  bob: { password: 'bob-password-1', project: 'elsewhere', role: 'admin' },
} as const;

let dataDir: string;
let server: ServerProcess;
let browser: Browser;
let taskId: string;
let trees: ReturnType<typeof treePair>;
let splitTaskId: string;
let splitTrees: ReturnType<typeof treePair>;
const TASK_NAME = 'web-01 cutover';

/** Source and target of a migration: in data/, 2 files differ, 3 are missing and 4 extra; etc/ matches. */
function migratedTrees() {
  const data: Record<string, string> = {};
  for (let i = 0; i < 12; i++) data[`file-${i}.txt`] = `content ${i}`;
  const target: Record<string, string> = { ...data };
  target['file-0.txt'] = 'changed, longer content';
  target['file-1.txt'] = 'changed, longer content';
  delete target['file-2.txt'];
  delete target['file-3.txt'];
  delete target['file-4.txt'];
  for (let i = 0; i < 4; i++) target[`extra-${i}.txt`] = 'only at the target';
  const etc = { 'a.conf': 'a', 'b.conf': 'b', 'c.conf': 'c', 'd.conf': 'd', 'e.conf': 'e' };
  return treePair({ data, etc }, { data: target, etc });
}

/** `sms-agent verify --upload` of a pair of trees to a task, as admin; 1 is the exit for "differences found". */
function verifyAndUpload(pair: ReturnType<typeof treePair>, task: string, args: string[]) {
  return runAgent(
    [
      'verify',
      '--source',
      pair.src,
      '--target',
      pair.dst,
      ...args,
      '--upload',
      '--task',
      task,
      '--endpoint',
      server.url,
      '--spool-dir',
      join(pair.dir, 'spool'),
    ],
    { SMS_USERNAME: 'admin', SMS_PASSWORD: ADMIN_PASSWORD, SMS_PROJECT: 'default' },
  );
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'sms-browser-'));
  const env = { SMS_DATA_DIR: dataDir, SMS_ADMIN_PASSWORD: ADMIN_PASSWORD };
  server = await startServerProcess(env);
  await runServerCli(['project', 'add', 'elsewhere'], env);
  for (const [name, user] of Object.entries(users)) {
    const added = await runServerCli(
      ['user', 'add', name, '--project', user.project, '--role', user.role, '--password-stdin'],
      env,
      `${user.password}\n`,
    );
    expect(added.code, added.stderr).toBe(0);
  }
  // The task is made through the API and filled by the agent, as in production.
  const admin = new SmsClient({
    endpoint: server.url,
    credentials: { user: 'admin', password: ADMIN_PASSWORD, project: 'default' },
  });
  taskId = (await admin.createTask({ name: TASK_NAME })).id;
  trees = migratedTrees();
  const run = await verifyAndUpload(trees, taskId, ['--dir', 'data', '--dir', 'etc', '--mode', 'content']);
  expect(run.code, run.stderr).toBe(1);
  expect(run.stderr).toContain('uploads: 1 delivered');

  // 32 directories: the agent sends them in two uploads (30 + 2); only d00, in the first, has a missing file
  const many: Record<string, Record<string, string>> = {};
  for (let i = 0; i < 32; i++) many[`d${String(i).padStart(2, '0')}`] = { 'a.txt': 'a', 'b.txt': 'b' };
  splitTrees = treePair(many, { ...many, d00: { 'a.txt': 'a' } });
  splitTaskId = (await admin.createTask({ name: 'db-02 many directories' })).id;
  const split = await verifyAndUpload(
    splitTrees,
    splitTaskId,
    Object.keys(many).flatMap((dir) => ['--dir', dir]),
  );
  expect(split.code, split.stderr).toBe(1);
  expect(split.stderr).toContain('uploads: 2 delivered');
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  trees?.cleanup();
  splitTrees?.cleanup();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Signs in with the keyboard only: the form's first field has focus, Tab moves on, Enter submits. */
async function signIn(page: Page, user: string, password: string) {
  await page.goto(`${server.url}/ui/tasks`);
  expect(new URL(page.url()).pathname).toBe('/ui/sign-in');
  // the user name field has the focus as soon as the page is there
  await expect.poll(() => page.evaluate(() => document.activeElement?.id), { timeout: 10_000 }).toBe('user');
  await page.keyboard.type(user);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${server.url}/ui/tasks`);
}

const cellsOf = (page: Page, id: string) =>
  page.locator(`tr[data-task-id="${id}"] td`).evaluateAll((cells) => cells.map((c) => c.textContent?.trim()));

describe('the dashboard in Chromium', { timeout: 60_000 }, () => {
  it('signs in with the keyboard, sets a safe cookie, and lists the task with the numbers the agent uploaded', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/ui/sign-in`);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'sign-in.png') });
    await signIn(page, 'vera', users.vera.password);
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'sms_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/ui' });

    expect(await page.locator('h1').textContent()).toBe('Tasks in project default');
    // data/: 12 verified, 2 different, 3 missing, 4 extra; etc/: 5 verified, all matching
    expect(await cellsOf(page, taskId)).toEqual([
      TASK_NAME,
      'READY',
      'Inconsistent',
      '17',
      '2',
      '3',
      '4',
      'just now',
    ]);
    // a verification the agent split over two uploads is one: 64 files, the missing one counted
    expect(await cellsOf(page, splitTaskId)).toEqual([
      'db-02 many directories',
      'READY',
      'Inconsistent',
      '64',
      '0',
      '1',
      '0',
      'just now',
    ]);
    expect(await page.locator('a[href="/docs"]').count()).toBe(1);
    expect(await page.locator('a[href="/openapi.json"]').count()).toBe(1);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'task-list.png'), fullPage: true });

    // filtering from the form keeps or drops the task as its verdict says
    await page.selectOption('#verdict', 'consistent');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/verdict=consistent/);
    expect(await page.locator(`tr[data-task-id="${taskId}"]`).count()).toBe(0);
    await page.selectOption('#verdict', 'inconsistent');
    await page.fill('#q', 'WEB-01');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/verdict=inconsistent/);
    expect(await page.locator(`tr[data-task-id="${taskId}"]`).count()).toBe(1);
    await context.close();
  });

  it('opens the task and draws each directory as bars whose widths are the numbers', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await signIn(page, 'vera', users.vera.password);
    await page.getByRole('link', { name: TASK_NAME }).click();
    await page.waitForURL(`${server.url}/ui/tasks/${taskId}`);
    expect(await page.locator('h1').textContent()).toBe(TASK_NAME);
    expect(await page.locator('[data-totals]').textContent()).toBe(
      '17 verified, 2 different, 3 missing, 4 extra in 2 directories (the newest result of each)',
    );

    const data = page.locator(`li.dir[data-dir="${join(trees.src, 'data')}"]`);
    expect(await data.locator('[data-count="total"]').textContent()).toBe('12');
    const segments = await data.locator('.bar .seg').evaluateAll((spans) =>
      spans.map((s) => ({
        part: s.getAttribute('data-part'),
        count: Number(s.getAttribute('data-count')),
        width: s.getBoundingClientRect().width,
        colour: getComputedStyle(s).backgroundColor + getComputedStyle(s).backgroundImage,
      })),
    );
    expect(segments.map((s) => [s.part, s.count])).toEqual([
      ['matching', 7],
      ['different', 2],
      ['missing', 3],
      ['extra', 4],
    ]);
    // each part is as wide as its share of the 16 files (12 verified + 4 extra), to the pixel
    const barWidth = await data.locator('.bar').evaluate((bar) => bar.clientWidth);
    for (const s of segments) expect(Math.abs(s.width - (barWidth * s.count) / 16)).toBeLessThan(1.5);
    expect(new Set(segments.map((s) => s.colour)).size).toBe(4);
    expect(await data.getByRole('img').getAttribute('aria-label')).toBe(
      `${join(trees.src, 'data')}: 7 matching, 2 different, 3 missing at target, 4 extra at target, of 16 files`,
    );
    const etc = page.locator(`li.dir[data-dir="${join(trees.src, 'etc')}"]`);
    expect(await etc.locator('.bar .seg').count()).toBe(1);
    expect(await etc.locator('.badge').textContent()).toBe('Consistent');
    // the legend names the four colours
    expect(await page.locator('.legend li').allTextContents()).toEqual([
      'Matching',
      'Different',
      'Missing at target',
      'Extra at target',
    ]);
    // the history: one upload, in the chart and in the table
    expect(await page.locator('svg.chart g[data-upload]').count()).toBe(1);
    expect(await page.locator('table.history tbody tr').count()).toBe(1);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'task-page.png'), fullPage: true });
    await context.close();
  });

  it('fits a phone: nothing wider than the screen, every number still readable', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const page = await context.newPage();
    await signIn(page, 'vera', users.vera.password);
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    expect(await cellsOf(page, taskId)).toContain('17');
    await page.screenshot({ path: join(SCREENSHOTS, 'task-list-phone.png'), fullPage: true });
    // the column headers are hidden on a phone: the form sorts
    const order = () =>
      page.locator('tr[data-task-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task-id')));
    await page.selectOption('#sort', 'total');
    await page.selectOption('#order', 'asc');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/sort=total&order=asc/);
    expect(await order()).toEqual([taskId, splitTaskId]);
    await page.selectOption('#order', 'desc');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/sort=total&order=desc/);
    expect(await order()).toEqual([splitTaskId, taskId]);
    await page.goto(`${server.url}/ui/tasks/${taskId}`);
    expect(await overflow()).toBeLessThanOrEqual(0);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'task-page-phone.png'), fullPage: true });
    await context.close();
  });

  it('signs out: the session ends and the pages ask to sign in again', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, 'vera', users.vera.password);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/ui\/sign-in\?signed_out=1$/);
    expect(await page.getByRole('status').textContent()).toBe('You are signed out.');
    expect((await context.cookies()).some((c) => c.name === 'sms_session')).toBe(false);
    await page.goto(`${server.url}/ui/tasks/${taskId}`);
    expect(new URL(page.url()).pathname).toBe('/ui/sign-in');
    await context.close();
  });

  it("does not show a project's task to a user of another project", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, 'bob', users.bob.password);
    expect(await page.locator('h1').textContent()).toBe('Tasks in project elsewhere');
    expect(await page.locator(`tr[data-task-id="${taskId}"]`).count()).toBe(0);
    expect(await page.content()).not.toContain(TASK_NAME);
    const response = await page.goto(`${server.url}/ui/tasks/${taskId}`);
    expect(response?.status()).toBe(404);
    expect(await page.content()).not.toContain(TASK_NAME);
    await context.close();
  });
});
