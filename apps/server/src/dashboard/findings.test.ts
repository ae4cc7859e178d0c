import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dashboardBrowser, signedInBrowser, textOf } from '../test-support/dashboard.js';
import { ADMIN_PASSWORD, createTestApp, result, type TestApp } from '../testing/app.js';

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => {
  await t.close();
});

const signedIn = (user = 'admin', password = ADMIN_PASSWORD) => signedInBrowser(t, user, password);

const clean = { num_different_files: 0, num_target_miss_files: 0, num_target_more_files: 0 };

describe('dashboard: runs', () => {
  it('charts and lists a run split over several uploads as one run, and says which run each directory is from', async () => {
    const id = await t.createTask(t.adminToken, 'host-751');
    const first = randomUUID();
    // an earlier run of /srv/0 only, with 3 missing files
    await t.upload(
      id,
      { consistency_result: [result('/srv/0', { num_total_files: 10, ...clean, num_target_miss_files: 3 })] },
      { 'x-sms-run-id': first },
    );
    t.advanceClock(60_000);
    // then one run of 75 directories in 3 uploads, all clean
    const second = randomUUID();
    for (let start = 0; start < 75; start += 30) {
      await t.upload(
        id,
        {
          consistency_result: Array.from({ length: Math.min(30, 75 - start) }, (_, k) =>
            result(`/srv/${start + k}`, { num_total_files: 10, ...clean }),
          ),
        },
        { 'x-sms-run-id': second },
      );
      t.advanceClock(1000);
    }
    const html = await (await (await signedIn()).get(`/ui/tasks/${id}`)).text();
    expect([...html.matchAll(/<g data-run=/g)]).toHaveLength(2);
    expect(textOf(html)).toContain('Runs 2 (4 uploads)');
    expect(textOf(html)).toContain('All 2 runs.');
    const row = new RegExp(`<tr data-run="${second}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? '';
    expect(textOf(row)).toMatch(new RegExp(`${second.slice(0, 8)} 3 Consistent 75 750 0 0 0 0 $`));
    const at = html.indexOf('data-dir="/srv/0"');
    const dir = html.slice(at, html.indexOf('<li class="dir"', at));
    expect(textOf(dir)).toContain(`From run ${second.slice(0, 8)} of`);
    expect(textOf(dir)).toContain('(the latest run)');
  });
});

describe('dashboard: findings', () => {
  async function taskWithFindings() {
    const id = await t.createTask(t.adminToken, 'files');
    const runId = randomUUID();
    await t.upload(
      id,
      {
        consistency_result: [
          result('/data', {
            num_total_files: 300,
            num_different_files: 1,
            num_target_miss_files: 250,
            num_target_more_files: 1,
          }),
          result('/clean', { num_total_files: 5, ...clean }),
        ],
      },
      { 'x-sms-run-id': runId },
    );
    const lines = [
      {
        dir_check: '/data',
        category: 'different',
        path: 'etc/app.conf',
        reason: 'content differs at byte 12',
      },
      { dir_check: '/data', category: 'extra', path: 'tmp/x', reason: 'only at the target' },
      ...Array.from({ length: 250 }, (_, i) => ({
        dir_check: '/data',
        category: 'missing',
        path: `lost/f${String(i).padStart(3, '0')}`,
        reason: 'not at the target',
      })),
      { dir_check: '/data', truncated: true },
    ];
    expect((await t.uploadFindings(id, runId, lines)).status).toBe(200);
    return { id, runId };
  }

  it('links a directory with findings to its findings page: paths, categories and reasons, 100 a page', async () => {
    const { id, runId } = await taskWithFindings();
    const browser = await signedIn();
    const task = await (await browser.get(`/ui/tasks/${id}`)).text();
    const link = /<a href="(\/ui\/tasks\/[^"]+\/findings\?dir_check=%2Fdata)">([^<]*)<\/a>/.exec(task);
    expect(link?.[2]).toBe('252 findings: which files, and why');
    expect(textOf(task)).toContain('(the agent cut the list)');
    // the consistent directory has no link
    expect(task).not.toContain('dir_check=%2Fclean');
    const res = await browser.get(link![1]!.replaceAll('&amp;', '&'));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(textOf(html)).toContain(`From run ${runId.slice(0, 8)}`);
    expect(textOf(html)).toContain('The list is cut');
    expect([...html.matchAll(/<tr data-category=/g)]).toHaveLength(100);
    expect(textOf(html)).toContain('etc/app.conf Different content differs at byte 12');
    expect(textOf(html)).toContain('tmp/x Extra at the target only at the target');
    // the next pages, by marker, to the end
    const seen = new Set<string>();
    let page = html;
    for (let n = 0; n < 5; n++) {
      for (const m of page.matchAll(/<tr data-category="[a-z]+" data-path="([^"]+)"/g)) seen.add(m[1]!);
      const next = /<a href="([^"]+)" rel="next">/.exec(page)?.[1];
      if (!next) break;
      page = await (await browser.get(next.replaceAll('&amp;', '&'))).text();
    }
    expect(seen.size).toBe(252);
    // filtered by category
    const missing = await (
      await browser.get(`/ui/tasks/${id}/findings?dir_check=%2Fdata&category=different`)
    ).text();
    expect([...missing.matchAll(/<tr data-category=/g)]).toHaveLength(1);
  });

  /** A new task whose one directory `dir` has one finding (a different file); its findings page's text. */
  async function oneFinding(name: string, dir: string, finding: { path: string; reason: string }) {
    const id = await t.createTask(t.adminToken, name);
    const runId = randomUUID();
    await t.upload(
      id,
      { consistency_result: [result(dir, { num_total_files: 2, ...clean, num_different_files: 1 })] },
      { 'x-sms-run-id': runId },
    );
    const line = { dir_check: dir, category: 'different', ...finding };
    expect((await t.uploadFindings(id, runId, [line])).status).toBe(200);
    const page = await (await signedIn()).get(
      `/ui/tasks/${id}/findings?dir_check=${encodeURIComponent(dir)}`,
    );
    return { id, text: textOf(await page.text()) };
  }

  it('suggests the re-sync command with the directory quoted for a shell (blanks, $(…), quotes)', async () => {
    const quoted = await oneFinding('quoting', "/srv/my data $(touch /tmp/pwned) it's", {
      path: 'a',
      reason: 'size differs',
    });
    expect(quoted.text).toContain(
      `rsync -a -I --files-from=LIST '/srv/my data $(touch /tmp/pwned) it'\\''s/' TARGET/`,
    );
    // a plain path stays as it is
    const plain = await (
      await (await signedIn()).get(`/ui/tasks/${(await taskWithFindings()).id}/findings?dir_check=%2Fdata`)
    ).text();
    expect(textOf(plain)).toContain('rsync -a -I --files-from=LIST /data/ TARGET/');
    // a directory that rsync would read as an option (--rsh=… runs a command) is given from ./
    const option = await oneFinding('option-like', '--rsh=sh -c id x', { path: 'a', reason: 'size differs' });
    expect(option.text).toContain(`rsync -a -I --files-from=LIST './--rsh=sh -c id x/' TARGET/`);
  });

  it('shows the bidirectional controls of a path, a reason and a directory as \\u{…}, not reordering the text', async () => {
    const { id, text: findings } = await oneFinding('bidi', '/srv/\u202Eatad', {
      path: 'invoice\u202Efdp.exe',
      reason: 'size \u2066differs',
    });
    expect(findings).toContain('invoice\\u{202e}fdp.exe');
    expect(findings).toContain('size \\u{2066}differs');
    expect(findings).toContain('Findings in /srv/\\u{202e}atad');
    const task = textOf(await (await (await signedIn()).get(`/ui/tasks/${id}`)).text());
    expect(task).toContain('/srv/\\u{202e}atad');
    // (but for the suggested command, which must hold the directory's own name to be pasted: its
    // <code> is isolated from the text around it)
    const both = `${findings.replace(/rsync -a -I [^(]*/, '')}${task}`;
    const at = both.search(/[\u202A-\u202E\u2066-\u2069]/);
    expect(at, JSON.stringify(both.slice(Math.max(0, at - 80), at + 40))).toBe(-1);
  });

  it('downloads the CSV and the re-sync lists with the session, and refuses them to a role that may not read', async () => {
    const { id } = await taskWithFindings();
    const browser = await signedIn();
    const csv = await browser.get(`/ui/tasks/${id}/findings.csv?dir_check=%2Fdata`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment/);
    // with the byte order mark Excel needs to read UTF-8 (text() would drop it: read the bytes)
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const rows = bytes.subarray(3).toString().trim().split('\r\n');
    expect(rows).toHaveLength(253);
    expect(rows[0]).toBe('dir_check,category,path,path_base64,reason,run_id,finished_time');
    const unmarked = await browser.get(`/ui/tasks/${id}/findings.csv?dir_check=%2Fdata&bom=0`);
    expect(
      Buffer.from(await unmarked.arrayBuffer())
        .toString()
        .startsWith('dir_check,category,'),
    ).toBe(true);
    const list = await (await browser.get(`/ui/tasks/${id}/resync.txt?dir_check=%2Fdata`)).text();
    expect(list.split('\n').filter(Boolean)).toHaveLength(251);
    expect(list.startsWith('etc/app.conf\nlost/f000\n')).toBe(true);
    const nul = Buffer.from(
      await (await browser.get(`/ui/tasks/${id}/resync.from0?dir_check=%2Fdata`)).arrayBuffer(),
    );
    expect(nul.toString().split('\0').filter(Boolean)).toHaveLength(251);
    await t.userWithToken('agent-1', 'agent');
    const agent = await signedIn('agent-1', 'agent-1-password');
    expect((await agent.get(`/ui/tasks/${id}/findings.csv?dir_check=%2Fdata`)).status).toBe(403);
    expect((await agent.get(`/ui/tasks/${id}/findings?dir_check=%2Fdata`)).status).toBe(403);
    const anonymous = dashboardBrowser(t);
    expect((await anonymous.get(`/ui/tasks/${id}/findings.csv?dir_check=%2Fdata`)).status).toBe(303);
  });

  it('says so for a directory without findings, and for a query it cannot read', async () => {
    const { id } = await taskWithFindings();
    const browser = await signedIn();
    const none = await (await browser.get(`/ui/tasks/${id}/findings?dir_check=%2Fclean`)).text();
    expect(textOf(none)).toContain('No findings of this directory');
    const noDir = await browser.get(`/ui/tasks/${id}/findings`);
    expect(noDir.status).toBe(400);
    expect(textOf(await noDir.text())).toContain('names one directory');
    expect((await browser.get(`/ui/tasks/${id}/findings?dir_check=%2Fdata&category=gone`)).status).toBe(400);
    expect((await browser.get('/ui/tasks/no-such-task/findings?dir_check=%2Fdata')).status).toBe(404);
  });
});
