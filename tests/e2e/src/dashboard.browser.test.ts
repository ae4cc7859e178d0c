import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAgent, startAgent, treePair } from '@sms/agent/testing';
import { SmsClient } from '@sms/client';
import { runServerCli, type ServerProcess, startServerProcess } from '@sms/server/testing';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityViolations, launchChromium } from './chromium.js';

/** Screenshots of this run: kept with the test results, never committed. */
const SCREENSHOTS = fileURLToPath(new URL('../.test-results/screenshots/', import.meta.url));
const ADMIN_PASSWORD = 'browser-admin-password';
const users = {
  vera: { password: 'vera-password-1', project: 'default', role: 'viewer' },
  bob: { password: 'bob-password-1', project: 'elsewhere', role: 'admin' },
  /** The user of the agent's daemon on the source host. */
  ada: { password: 'ada-password-1', project: 'default', role: 'agent' },
} as const;

let dataDir: string;
let server: ServerProcess;
let browser: Browser;
let taskId: string;
let trees: ReturnType<typeof treePair>;
/** The run of the first verification (its `--json`), its `--report` file, and when it ran. */
let runId: string;
let reportFile: string;
let ranBetween: [number, number];
let splitTaskId: string;
let splitTrees: ReturnType<typeof treePair>;
let splitRunId: string;
const TASK_NAME = 'web-01 cutover';

/** What the test does to data/ at the target: the paths it changed, removed and added. */
const MUTATED = {
  different: ['file-0.txt', 'file-1.txt'],
  missing: ['file-2.txt', 'file-3.txt', 'file-4.txt'],
  extra: ['extra-0.txt', 'extra-1.txt', 'extra-2.txt', 'extra-3.txt'],
} as const;

/** Source and target of a migration: in data/, 2 files differ, 3 are missing and 4 extra; etc/ matches. */
function migratedTrees() {
  const data: Record<string, string> = {};
  for (let i = 0; i < 12; i++) data[`file-${i}.txt`] = `content ${i}`;
  const target: Record<string, string> = { ...data };
  for (const path of MUTATED.different) target[path] = 'changed, longer content';
  for (const path of MUTATED.missing) delete target[path];
  for (const path of MUTATED.extra) target[path] = 'only at the target';
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
  reportFile = join(trees.dir, 'report.ndjson');
  const started = Date.now();
  const run = await verifyAndUpload(trees, taskId, [
    '--dir',
    'data',
    '--dir',
    'etc',
    '--mode',
    'content',
    '--json',
    '--report',
    reportFile,
  ]);
  ranBetween = [started, Date.now()];
  expect(run.code, run.stderr).toBe(1);
  expect(run.stderr).toContain('uploads: 1 delivered');
  // the counts, then the findings of the run: the 9 paths of data/
  expect(run.stderr).toContain('findings: 9 lines delivered');
  runId = JSON.parse(run.stdout).upload.run_id;
  expect(runId).toMatch(/^[0-9a-f-]{36}$/);

  // 32 directories: the agent sends them in two uploads (30 + 2); only d00, in the first, has a missing file
  const many: Record<string, Record<string, string>> = {};
  for (let i = 0; i < 32; i++) many[`d${String(i).padStart(2, '0')}`] = { 'a.txt': 'a', 'b.txt': 'b' };
  splitTrees = treePair(many, { ...many, d00: { 'a.txt': 'a' } });
  splitTaskId = (await admin.createTask({ name: 'db-02 many directories' })).id;
  const split = await verifyAndUpload(splitTrees, splitTaskId, [
    ...Object.keys(many).flatMap((dir) => ['--dir', dir]),
    '--json',
  ]);
  expect(split.code, split.stderr).toBe(1);
  expect(split.stderr).toContain('uploads: 2 delivered');
  splitRunId = JSON.parse(split.stdout).upload.run_id;
  expect(splitRunId).toMatch(/^[0-9a-f-]{36}$/);
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

/** One line of the agent's `--report` (a finding). */
interface ReportedFinding {
  dir_check: string;
  category: 'different' | 'missing' | 'extra';
  path: string;
  path_base64?: string;
  reason: string;
}

/** The findings the first verification wrote to its `--report`, in its order (its end line, which counts them, left out). */
const reportedFindings = (): ReportedFinding[] => {
  const lines = readFileSync(reportFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
  expect(lines.pop()).toEqual({ complete: true, paths: lines.length });
  return lines;
};

/** Items as sorted JSON texts: lists compared whatever their order. */
const byText = (items: readonly unknown[]) => items.map((item) => JSON.stringify(item)).sort();

/** A table's body rows: each row's attributes named in `attributes` (as keys), and its cells' text. */
function tableRows<K extends string>(page: Page, table: string, attributes: Record<K, string>) {
  return page.locator(`${table} tbody tr`).evaluateAll(
    (rows, names) =>
      rows.map((r) => ({
        ...Object.fromEntries(Object.entries(names).map(([key, name]) => [key, r.getAttribute(name)])),
        cells: Array.from(r.querySelectorAll('td'), (td) => td.textContent?.trim()),
      })),
    attributes as Record<string, string>,
  ) as Promise<(Record<K, string | null> & { cells: (string | undefined)[] })[]>;
}

/** The rows of a findings page: the row's category and path, and its cells' text. */
const findingRows = (page: Page) =>
  tableRows(page, 'table.findings', { category: 'data-category', path: 'data-path' });

/** Clicks a download link as a user would, then reads the file the browser saved. */
async function download(page: Page, link: Locator) {
  const [file] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const saved = await file.path();
  expect(await file.failure()).toBeNull();
  return { name: file.suggestedFilename(), text: await readFile(saved, 'utf8') };
}

/** RFC 4180 CSV (CRLF after every row, `"` doubled in quoted cells) as rows of cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      rows.push([...row, cell]);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (quoted || row.length > 0 || cell !== '')
    throw new Error(`CSV not ended by CRLF: ${JSON.stringify(text)}`);
  return rows;
}

/** A findings page's category labels. */
const CATEGORY_LABEL = {
  different: 'Different',
  missing: 'Missing at the target',
  extra: 'Extra at the target',
} as const;

/** A POST a webhook receiver got: its path, its headers and the exact bytes of its body. */
interface Received {
  method: string | undefined;
  path: string | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A webhook receiver on 127.0.0.1: it keeps each request and answers 204. */
async function startReceiver() {
  const received: Received[] = [];
  const http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/hooks/sms`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

/** `promise`, or an error saying `what` once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what()} (after ${ms} ms)`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Tries `attempt` every 250 ms until it answers something; an error saying `what` after `ms`. */
async function eventually<T>(
  attempt: () => Promise<T | undefined>,
  ms: number,
  what: () => string,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await attempt();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what()} (after ${ms} ms)`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The rows of the task page's verification requests: id, state, and the cells' text. */
const requestRows = (page: Page) =>
  tableRows(page, 'table.requests', { id: 'data-request', state: 'data-state' });

/** The rows of the Webhooks page's deliveries: event, state, and the cells' text. */
const deliveryRows = (page: Page) =>
  tableRows(page, 'table.deliveries', { event: 'data-event', state: 'data-state' });

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
    // the history: one run of one upload, in the chart and in the table
    expect(await page.locator('svg.chart g[data-run]').count()).toBe(1);
    expect(await page.locator(`table.history tbody tr[data-run="${runId}"]`).count()).toBe(1);
    expect(await page.locator('table.history tbody tr').count()).toBe(1);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, 'task-page.png'), fullPage: true });
    await context.close();
  });

  it("follows a directory into its findings: the agent's paths and reasons, filtered by category, downloaded as CSV and as a re-sync list", async () => {
    const report = reportedFindings();
    const dir = join(trees.src, 'data');
    // the agent's own report: exactly the test's mutations of data/, each with a reason, nothing of etc/
    expect(byText(report.map((f) => [f.dir_check, f.category, f.path]))).toEqual(
      byText(
        Object.entries(MUTATED).flatMap(([category, paths]) => paths.map((path) => [dir, category, path])),
      ),
    );
    for (const f of report) expect(f.reason, f.path).not.toBe('');

    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    await signIn(page, 'vera', users.vera.password);
    await page.getByRole('link', { name: TASK_NAME }).click();
    await page.waitForURL(`${server.url}/ui/tasks/${taskId}`);
    // etc/ matches: no findings to show; data/ links to its 9
    expect(await page.locator(`li.dir[data-dir="${join(trees.src, 'etc')}"] .findings-link`).count()).toBe(0);
    await page
      .locator(`li.dir[data-dir="${dir}"]`)
      .getByRole('link', { name: '9 findings: which files, and why' })
      .click();
    await page.waitForURL((url) => url.pathname === `/ui/tasks/${taskId}/findings`);
    expect(new URL(page.url()).searchParams.get('dir_check')).toBe(dir);
    expect(await page.locator('h1').textContent()).toBe(`Findings in ${dir}`);

    // the run, and when its result of data/ was stored (during the verification)
    const run = page.locator('p[data-run]');
    expect(await run.getAttribute('data-run')).toBe(runId);
    const stored = Date.parse((await run.locator('time').getAttribute('datetime')) ?? '');
    expect(stored).toBeGreaterThanOrEqual(Math.floor(ranBetween[0] / 1000) * 1000);
    expect(stored).toBeLessThanOrEqual(ranBetween[1]);
    expect(await page.getByText('The list is cut').count()).toBe(0);

    // every path of the report, with its category and its reason, on one page
    expect(byText(await findingRows(page))).toEqual(
      byText(
        report.map((f) => ({
          category: f.category,
          path: f.path,
          cells: [f.path, CATEGORY_LABEL[f.category], f.reason],
        })),
      ),
    );
    expect(await page.locator('nav.pager').textContent()).toContain('9 shown, 100 to a page');
    expect(await page.locator('a[rel="next"]').count()).toBe(0);
    expect(await accessibilityViolations(page)).toEqual([]);

    // the category filter: each category's links show its findings only
    const filters = page.getByRole('navigation', { name: 'Filter by category' });
    const filter = (label: string) => filters.getByRole('link', { name: label, exact: true });
    expect(await filter('All').getAttribute('aria-current')).toBe('page');
    for (const [category, label] of Object.entries(CATEGORY_LABEL)) {
      await filter(label).click();
      await page.waitForURL((url) => url.searchParams.get('category') === category);
      expect(await filter(label).getAttribute('aria-current')).toBe('page');
      expect(await filter('All').getAttribute('aria-current')).toBeNull();
      expect(byText((await findingRows(page)).map((r) => [r.category, r.path]))).toEqual(
        byText(report.filter((f) => f.category === category).map((f) => [f.category, f.path])),
      );
    }
    // the CSV of a filtered page holds that category only (here the extra files)
    const extraCsv = parseCsv(
      (await download(page, page.getByRole('link', { name: 'Download CSV' }))).text.replace(/^\uFEFF/, ''),
    );
    expect(byText(extraCsv.slice(1).map((row) => [row[1], row[2]]))).toEqual(
      byText(MUTATED.extra.map((path) => ['extra', path])),
    );
    await filter('Could not be read').click();
    await page.waitForURL((url) => url.searchParams.get('category') === 'error');
    expect(await findingRows(page)).toEqual([]);
    expect(await page.getByText('No findings of this category.').count()).toBe(1);
    await filter('All').click();
    await page.waitForURL((url) => !url.searchParams.has('category'));
    expect((await findingRows(page)).length).toBe(9);

    // the CSV: the header, then one row per finding of the report, with its run and time
    const csv = await download(page, page.getByRole('link', { name: 'Download CSV' }));
    expect(csv.name).toBe(`${taskId}-findings.csv`);
    // with the byte order mark Excel needs to read UTF-8, then the header
    expect(csv.text.startsWith('\uFEFF')).toBe(true);
    const [header, ...rows] = parseCsv(csv.text.slice(1));
    // the header spelt as the API states it, independently of the server's own list of columns
    expect(header?.join(',')).toBe('dir_check,category,path,path_base64,reason,run_id,finished_time');
    expect(byText(rows)).toEqual(
      byText(
        report.map((f) => [
          f.dir_check,
          f.category,
          f.path,
          '',
          f.reason,
          runId,
          new Date(stored).toISOString(),
        ]),
      ),
    );

    // the re-sync list: the different and missing paths, relative to data/, one a line;
    // the same bytes as the agent's resync-list of its report, and likewise NUL-separated
    const resync = await download(page, page.getByRole('link', { name: 'Download the re-sync list' }));
    expect(resync.name).toBe(`${taskId}-resync.txt`);
    expect(resync.text.endsWith('\n')).toBe(true);
    expect(resync.text.slice(0, -1).split('\n').sort()).toEqual(
      [...MUTATED.different, ...MUTATED.missing].sort(),
    );
    const agentList = await runAgent(['resync-list', reportFile, '--dir-check', dir]);
    expect(agentList.code, agentList.stderr).toBe(0);
    expect(resync.text).toBe(agentList.stdout);
    const resync0 = await download(page, page.getByRole('link', { name: '(NUL-separated)' }));
    expect(resync0.name).toBe(`${taskId}-resync.from0`);
    expect(resync0.text.slice(0, -1).split('\0').sort()).toEqual(
      [...MUTATED.different, ...MUTATED.missing].sort(),
    );
    const agentList0 = await runAgent(['resync-list', '--null', reportFile, '--dir-check', dir]);
    expect(agentList0.code, agentList0.stderr).toBe(0);
    expect(resync0.text).toBe(agentList0.stdout);
    await context.close();
  });

  it('shows a verification the agent sent in two uploads (32 directories) as one run', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await signIn(page, 'vera', users.vera.password);
    await page.getByRole('link', { name: 'db-02 many directories' }).click();
    await page.waitForURL(`${server.url}/ui/tasks/${splitTaskId}`);
    expect(await page.locator('dl.facts dt:text-is("Runs") + dd').textContent()).toBe('1 (2 uploads)');
    expect(await page.locator('svg.chart g[data-run]').count()).toBe(1);
    const history = page.locator('table.history tbody tr');
    expect(await history.count()).toBe(1);
    expect(await history.getAttribute('data-run')).toBe(splitRunId);
    // uploads, verdict, directories, verified, different, missing, extra, the task's gap after
    const cells = await history.locator('td').allTextContents();
    expect(cells.slice(2).map((c) => c.trim())).toEqual([
      '2',
      'Inconsistent',
      '32',
      '64',
      '0',
      '1',
      '0',
      '1',
    ]);
    // d00 came in the first upload, d31 in the second: both from the one latest run
    const runOf = (d: string) =>
      page.locator(`li.dir[data-dir="${join(splitTrees.src, d)}"] p.when`).textContent();
    const [first, second] = [await runOf('d00'), await runOf('d31')];
    expect(first).toContain('(the latest run)');
    expect(first?.split(' of ')[0]).toBe(
      `From run ${await page.locator('table.history tbody tr code').textContent()}`,
    );
    expect(second?.split(' of ')[0]).toBe(first?.split(' of ')[0]);
    // and d00's missing file is its one finding
    await page
      .locator(`li.dir[data-dir="${join(splitTrees.src, 'd00')}"]`)
      .getByRole('link', { name: '1 finding: which files, and why' })
      .click();
    await page.waitForURL((url) => url.pathname === `/ui/tasks/${splitTaskId}/findings`);
    expect((await findingRows(page)).map((r) => [r.category, r.path])).toEqual([['missing', 'b.txt']]);
    expect(await page.locator('p[data-run]').getAttribute('data-run')).toBe(splitRunId);
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

  it('lets an admin add a webhook, configure a task and click "Verify now": a real agent daemon verifies, the page shows its verdict, and the receiver gets the signed event', async () => {
    const receiver = await startReceiver();
    // the migrated tree on this host: /root/data of the source and of the target, which differ
    const pair = treePair(
      { root: { data: { 'same.txt': 'same', 'changed.txt': 'as on the source', 'lost.txt': 'not copied' } } },
      {
        root: { data: { 'same.txt': 'same', 'changed.txt': 'edited at the target', 'new.txt': 'only here' } },
      },
    );
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(15_000);
    let daemon: ReturnType<typeof startAgent> | undefined;
    try {
      const admin = new SmsClient({
        endpoint: server.url,
        credentials: { user: 'admin', password: ADMIN_PASSWORD, project: 'default' },
      });
      // made here, in the last test, so that the task lists of the tests above hold their two tasks only
      const name = 'app-03 verified by its agent';
      const id = (await admin.createTask({ name })).id;
      const page = await context.newPage();
      await signIn(page, 'admin', ADMIN_PASSWORD);

      // the webhook, added on the Webhooks page, which shows its secret this once
      await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
      await page.waitForURL(`${server.url}/ui/webhooks`);
      expect(await page.locator('h1').textContent()).toBe('Webhooks of project default');
      await page.getByLabel('URL').fill(receiver.url);
      await page.getByRole('button', { name: 'Add a webhook' }).click();
      const secret = (await page.locator('code[data-secret]').textContent()) ?? '';
      expect(await page.getByRole('status').textContent()).toContain(`Webhook added for ${receiver.url}.`);
      expect(secret).toMatch(/^[A-Za-z0-9_-]{32,}$/);
      // reloading that answer posts the form again: no second webhook, and the page says why
      await page.reload();
      await page.waitForURL(`${server.url}/ui/webhooks?done=resent`);
      expect(await page.getByRole('status').textContent()).toContain('That form was already sent');
      expect(await page.locator('li[data-webhook] code').allTextContents()).toEqual([receiver.url]);
      await page.goto(`${server.url}/ui/webhooks`);
      expect(await page.locator('li[data-webhook] code').allTextContents()).toEqual([receiver.url]);
      expect(await page.content()).not.toContain(secret);

      // the task's configuration, set in the Verification section's form
      await page.getByRole('link', { name: 'SMS consistency' }).click();
      await page.waitForURL(`${server.url}/ui/tasks`);
      await page.getByRole('link', { name, exact: true }).click();
      await page.waitForURL(`${server.url}/ui/tasks/${id}`);
      const verification = page.getByRole('region', { name: 'Verification' });
      expect(await verification.getByText('No verification has been asked for yet.').count()).toBe(1);
      const configuration = {
        CONSISTENCY_DIR: '["/root/data"]',
        CONSISTENCY_SOURCE: pair.src,
        CONSISTENCY_TARGET: pair.dst,
      };
      const field = (key: string) => verification.getByLabel(new RegExp(`^${key}( \\(ours\\))?$`));
      for (const [key, value] of Object.entries(configuration)) await field(key).fill(value);
      await verification.getByRole('button', { name: 'Save the configuration' }).click();
      await page.waitForURL((url) => url.searchParams.get('done') === 'configuration');
      expect(await verification.getByRole('status').textContent()).toContain('The configuration is saved');
      for (const [key, value] of Object.entries(configuration))
        expect(await field(key).inputValue()).toBe(value);
      // what the agents will read: exactly these three keys
      expect(byText((await admin.getConfiguration(id)).configurations)).toEqual(
        byText(
          Object.entries(configuration).map(([config_key, config_value]) => ({ config_key, config_value })),
        ),
      );

      // "Verify now": one request, waiting for an agent
      await verification.getByRole('button', { name: 'Verify now', exact: true }).click();
      await page.waitForURL((url) => url.searchParams.get('done') === 'requested');
      const [asked, ...others] = await requestRows(page);
      expect(others).toEqual([]);
      expect(asked?.state).toBe('pending');
      expect(asked?.cells.slice(1)).toEqual(['admin', 'Waiting for an agent', '', '', '']);
      expect(
        await verification.getByRole('button', { name: 'Verify now (one is already open)' }).count(),
      ).toBe(1);

      // the agent's daemon on the source host, as the agent-role user: it takes the request and verifies
      daemon = startAgent(
        ['daemon', '--once', '--name', 'source-host', '--spool-dir', join(pair.dir, 'spool')],
        {
          SMS_ENDPOINT: server.url,
          SMS_USERNAME: 'ada',
          SMS_PASSWORD: users.ada.password,
          SMS_PROJECT: 'default',
        },
      );
      const agent = daemon;
      expect(await within(agent.exited, 60_000, () => `the daemon did not exit:\n${agent.stderr()}`)).toBe(0);
      expect(agent.stderr()).toContain(`took request ${asked?.id} of task ${id}`);
      const finished = new RegExp(
        `finished request ${asked?.id}: done, INCONSISTENT \\(run ([0-9a-f-]{36})\\)`,
      ).exec(agent.stderr());
      expect(finished, agent.stderr()).not.toBeNull();
      const runId = finished?.[1] ?? '';

      // the page, reloaded until the request is done: its run and verdict, and the task's
      const done = await eventually(
        async () => {
          await page.reload();
          const [row] = await requestRows(page);
          return row?.state === 'done' ? row : undefined;
        },
        30_000,
        () => 'the task page never showed the request done',
      );
      expect(done.id).toBe(asked?.id);
      // the run's short id, and in full as its title
      expect(await verification.locator(`tr[data-request="${done.id}"] code`).getAttribute('title')).toBe(
        runId,
      );
      expect(done.cells.slice(1)).toEqual([
        'admin',
        'Done',
        'ada@source-host',
        runId.slice(0, 8),
        'Inconsistent',
      ]);
      expect(await page.locator('dl.facts dt:text-is("Verdict") + dd').textContent()).toBe(
        'Inconsistent 1 of 1 directories differ',
      );
      expect(await page.locator('[data-totals]').textContent()).toBe(
        '3 verified, 1 different, 1 missing, 1 extra in 1 directory (the newest result of each)',
      );
      // the directory as the task names it, from the run the daemon made
      expect(
        await page.locator('li.dir').evaluateAll((dirs) => dirs.map((d) => d.getAttribute('data-dir'))),
      ).toEqual(['/root/data']);
      expect(
        await page
          .locator('table.history tbody tr')
          .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run'))),
      ).toEqual([runId]);
      expect(await accessibilityViolations(page)).toEqual([]);

      // the receiver's event: the verdict's change, signed with the secret the page showed
      const event = await eventually(
        async () =>
          receiver.received.find((r) => {
            const body = JSON.parse(r.body.toString('utf8'));
            return body.type === 'verdict.changed' && body.task_id === id;
          }),
        20_000,
        () => `no verdict.changed for the task; the receiver got ${receiver.received.length} requests`,
      );
      expect(event.method).toBe('POST');
      expect(event.path).toBe('/hooks/sms');
      expect(event.headers['content-type']).toBe('application/json');
      expect(event.headers['x-sms-signature']).toBe(
        `sha256=${createHmac('sha256', secret).update(event.body).digest('hex')}`,
      );
      const body = JSON.parse(event.body.toString('utf8'));
      expect(body).toMatchObject({
        type: 'verdict.changed',
        task_id: id,
        task_name: name,
        previous_verdict: 'never',
        verdict: 'inconsistent',
        run_id: runId,
        totals: {
          dir_count: 1,
          inconsistent_dirs: 1,
          num_total_files: 3,
          num_different_files: 1,
          num_target_miss_files: 1,
          num_target_more_files: 1,
        },
        link: `${server.url}/ui/tasks/${id}`,
      });
      expect(event.headers['x-sms-event-id']).toBe(body.event_id);
      expect(Math.abs(Number(event.headers['x-sms-timestamp']) * 1000 - Date.now())).toBeLessThan(60_000);

      // and the Webhooks page lists its delivery, delivered at the first attempt
      await page.goto(`${server.url}/ui/webhooks`);
      const delivered = await eventually(
        async () => {
          const rows = await deliveryRows(page);
          if (rows.some((r) => r.state === 'delivered')) return rows;
          await page.reload();
          return undefined;
        },
        20_000,
        () => 'the Webhooks page never showed the event delivered',
      );
      expect(delivered.map((r) => [r.event, r.state, ...r.cells.slice(1)])).toEqual([
        [body.event_id, 'delivered', 'verdict.changed', receiver.url, 'Delivered', '1', '204'],
      ]);
      expect(await accessibilityViolations(page)).toEqual([]);
      // one event for the task, received once
      expect(receiver.received.filter((r) => JSON.parse(r.body.toString('utf8')).task_id === id).length).toBe(
        1,
      );
    } finally {
      daemon?.child.kill('SIGKILL');
      await context.close();
      await receiver.close();
      pair.cleanup();
    }
  }, 120_000);
});
