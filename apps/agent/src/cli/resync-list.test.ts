import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AGENT_BIN } from '../test-support/cli.js';
import { treePair } from '../test-support/tree.js';

const dir = mkdtempSync(join(tmpdir(), 'sms-resync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** sms-agent with its stdout as bytes (a re-sync list holds names that are not UTF-8). */
function agent(args: string[]) {
  const run = spawnSync(process.execPath, [AGENT_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: '/tmp' },
    timeout: 60_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr.toString('utf8') };
}

const line = (category: string, path: string, extra: Record<string, string> = {}, dirCheck = '/data') =>
  JSON.stringify({ dir_check: dirCheck, category, path, ...extra, reason: `${category} reason` });

/** A report as a verification that ended writes it: its findings, then its end line (`ended: false` leaves that out). */
function report(name: string, lines: string[], { ended = true } = {}): string {
  const file = join(dir, name);
  const findings = lines.filter((l) => !l.includes('"incomplete":true')).length;
  const end = ended && findings === lines.length ? [JSON.stringify({ complete: true, paths: findings })] : [];
  writeFileSync(file, `${[...lines, ...end].join('\n')}\n`);
  return file;
}

const everyCategory = report('every.ndjson', [
  line('different', 'a/changed'),
  line('missing', 'gone'),
  line('extra', 'more'),
  line('error', 'unreadable'),
  line('transient', 'flaky'),
  line('missing', 'bad\\xffn', {
    path_base64: Buffer.from([0x62, 0x61, 0x64, 0xff, 0x6e]).toString('base64'),
  }),
  line('missing', 'two\nlines'),
]);

describe('sms-agent resync-list', () => {
  it('lists the different and missing paths of a report, one a line, the bytes of a name that is not UTF-8 as they are', () => {
    const run = agent(['resync-list', everyCategory]);
    expect(run.code).toBe(0);
    expect(
      run.stdout.equals(
        Buffer.concat([Buffer.from('a/changed\ngone\nbad'), Buffer.from([0xff]), Buffer.from('n\n')]),
      ),
    ).toBe(true);
    expect(run.stderr).toContain('1 path with a newline in its name was left out');
    expect(run.stderr).toContain('use --null, and rsync --from0');
    // what could not be read counts as different: left out by default, but said
    expect(run.stderr).toContain(
      'warning: 1 path of category error (could not be read, and counted as different; or vanished) left out: --category different,missing,error adds it',
    );
  });

  it('--null ends each path with NUL and names the path with a newline too', () => {
    const run = agent(['resync-list', '--null', everyCategory]);
    expect(run.code).toBe(0);
    expect(run.stdout.toString('latin1')).toBe('a/changed\0gone\0bad\xffn\0two\nlines\0');
    expect(run.stderr).not.toContain('with a newline');
  });

  it('--category picks the categories', () => {
    const run = agent(['resync-list', '--category', 'extra,error,transient', everyCategory]);
    expect(run.stdout.toString('utf8')).toBe('more\nunreadable\nflaky\n');
    expect(run.stderr).not.toContain('category error');
  });

  it('needs --dir-check when the report holds more than one directory, and exits 2 naming them', () => {
    const two = report('two.ndjson', [line('missing', 'x'), line('missing', 'y', {}, '/var')]);
    const refused = agent(['resync-list', two]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'holds findings of 2 directories (/data, /var): name one with --dir-check DIR',
    );
    expect(agent(['resync-list', '--dir-check', '/var', two]).stdout.toString()).toBe('y\n');
    // as a shell completes it
    expect(agent(['resync-list', '--dir-check', '/var/', two]).stdout.toString()).toBe('y\n');
    // a directory the report does not name (a consistent one, or a typo): an empty list, and a warning naming the others
    const none = agent(['resync-list', '--dir-check', '/vra', two]);
    expect(none.code).toBe(0);
    expect(none.stderr).toContain('has no findings of /vra (it has: /data, /var): the list is empty');
    expect(none.stdout.length).toBe(0);
    // a directory verified as /d/ is named so in its findings: /d names it too
    const slashed = report('slashed.ndjson', [
      line('missing', 'x', {}, '/d/'),
      line('missing', 'y', {}, '/e/'),
    ]);
    expect(agent(['resync-list', '--dir-check', '/d', slashed]).stdout.toString()).toBe('x\n');
    expect(agent(['resync-list', '--dir-check', '/e/', slashed]).stdout.toString()).toBe('y\n');
  });

  it('refuses a report given as a pipe, which it cannot read twice', () => {
    const run = spawnSync(
      'sh',
      ['-c', `cat '${everyCategory}' | '${process.execPath}' '${AGENT_BIN}' resync-list /dev/stdin`],
      {
        env: { PATH: process.env.PATH ?? '', HOME: '/tmp' },
        timeout: 60_000,
      },
    );
    expect(run.status).toBe(2);
    expect(run.stderr.toString()).toContain(
      '/dev/stdin is not a file (a pipe?): resync-list reads the report twice',
    );
    // from a file, /dev/stdin is the file itself
    const redirected = spawnSync(
      'sh',
      ['-c', `'${process.execPath}' '${AGENT_BIN}' resync-list /dev/stdin < '${everyCategory}'`],
      {
        env: { PATH: process.env.PATH ?? '', HOME: '/tmp' },
        timeout: 60_000,
      },
    );
    expect(redirected.status, redirected.stderr.toString()).toBe(0);
    expect(redirected.stdout.toString()).toContain('a/changed\n');
  });

  it('warns that an incomplete report makes an incomplete list', () => {
    const cut = report('cut.ndjson', [
      line('missing', 'x'),
      JSON.stringify({ incomplete: true, reason: 'interrupted by SIGINT' }),
    ]);
    const run = agent(['resync-list', cut]);
    expect(run.code).toBe(0);
    expect(run.stdout.toString()).toBe('x\n');
    expect(run.stderr).toContain(
      'is incomplete (interrupted by SIGINT): the list holds only what was found before the verification stopped',
    );
  });

  it('warns that a report without its end line (cut by SIGKILL, or still being written) or counting other than it holds makes a list that may lack paths', () => {
    const whole = agent(['resync-list', everyCategory]);
    expect(whole.stderr).not.toContain('does not end');
    expect(whole.stderr).not.toContain('ends saying');
    const unended = agent([
      'resync-list',
      report('unended.ndjson', [line('missing', 'x')], { ended: false }),
    ]);
    expect(unended.code).toBe(0);
    expect(unended.stdout.toString()).toBe('x\n');
    expect(unended.stderr).toContain(
      'unended.ndjson does not end with the line {"complete":true,…} that a verification writes when it ends: it was cut (the agent killed, the machine stopped, the disk full), is still being written, or an older sms-agent wrote it; the list may lack paths: verify again for a whole list',
    );
    // a line cut off the end, or two reports joined: the end line counts other than the file holds
    const file = join(dir, 'joined.ndjson');
    const end = (paths: number) => JSON.stringify({ complete: true, paths });
    writeFileSync(file, [line('missing', 'x'), end(1), line('missing', 'y'), end(1)].join('\n'));
    const joined = agent(['resync-list', file]);
    expect(joined.code).toBe(0);
    expect(joined.stdout.toString()).toBe('x\ny\n');
    expect(joined.stderr).toContain(
      'joined.ndjson ends saying it lists 1 path but holds 2: it was cut, edited or joined to another; the list may lack paths',
    );
    // an end line without a number of paths says nothing
    writeFileSync(file, [line('missing', 'x'), JSON.stringify({ complete: true, paths: 'all' })].join('\n'));
    expect(agent(['resync-list', file]).stderr).toContain('joined.ndjson does not end with the line');
    // an end line that is not the last: the findings after it were not counted by it
    writeFileSync(file, [line('missing', 'x'), end(1), line('missing', 'y')].join('\n'));
    expect(agent(['resync-list', file]).stderr).toContain('joined.ndjson does not end with the line');
  });

  it('exits 2 naming the line of a bad report, a missing file and an unknown category', () => {
    const bad = report('bad.ndjson', [line('missing', 'x'), line('missing', '../up'), '{']);
    const badLine = agent(['resync-list', bad]);
    expect(badLine.code).toBe(2);
    expect(badLine.stderr).toMatch(
      /bad\.ndjson line 2 is not a finding of sms-agent verify --report: path: expected a path relative/,
    );
    expect(badLine.stdout.length).toBe(0);
    const notJson = agent(['resync-list', report('nojson.ndjson', ['{'])]);
    expect(notJson.stderr).toMatch(/nojson\.ndjson line 1 is not JSON/);
    const missing = agent(['resync-list', join(dir, 'nowhere.ndjson')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      'nowhere.ndjson (ENOENT): give the file written by sms-agent verify --report FILE',
    );
    const category = agent(['resync-list', '--category', 'lost', everyCategory]);
    expect(category.code).toBe(2);
    expect(category.stderr).toContain(
      '--category lost: expected a comma-separated list of different, missing, extra',
    );
  });

  it('makes a list with which rsync --files-from copies what differed: verify then says consistent', () => {
    const odd = Buffer.from([0x6f, 0x64, 0x64, 0xe9]); // "odd" and a Latin-1 é: not UTF-8
    const pair = treePair(
      {
        a: { changed: 'new content', same: 's', 'same-size': 'xxxx' },
        gone: 'g',
        'two\nlines': 'n',
        // names rsync would read as comments in a list
        '#draft.txt#': 'd',
        ';notes': 'n',
      },
      // same size and time, other bytes: only a content check finds it, and rsync's quick check skips it
      { a: { changed: 'old', same: 's', 'same-size': 'yyyy' } },
    );
    try {
      writeFileSync(Buffer.concat([Buffer.from(`${pair.src}/`), odd]), 'odd');
      const list = join(pair.dir, 'list');
      const reportFile = join(pair.dir, 'report.ndjson');
      const before = agent([
        'verify',
        '--source',
        pair.src,
        '--target',
        pair.dst,
        '--mode',
        'content',
        '--report',
        reportFile,
      ]);
      expect(before.code).toBe(1);
      // a verification that ended says so in the report's last line, and resync-list reads it as whole
      const lines = readFileSync(reportFile, 'utf8').trimEnd().split('\n');
      expect(lines.at(-1)).toBe(JSON.stringify({ complete: true, paths: lines.length - 1 }));
      expect(lines.length).toBeGreaterThan(4);
      const made = agent(['resync-list', '--null', reportFile]);
      expect(made.code).toBe(0);
      expect(made.stderr).not.toContain('warning');
      writeFileSync(list, made.stdout);
      // the recipe of the README and --help
      execFileSync('rsync', ['-a', '-I', '--from0', `--files-from=${list}`, `${pair.src}/`, `${pair.dst}/`]);
      const after = agent(['verify', '--source', pair.src, '--target', pair.dst, '--mode', 'content']);
      expect(after.stderr).toBe('');
      expect(after.code).toBe(0);
    } finally {
      pair.cleanup();
    }
  });
});
