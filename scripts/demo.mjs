#!/usr/bin/env node
// The end-to-end demo on the embedded default (SQLite). It builds every
// package, starts sms-server on a free port with a throw-away data directory,
// signs in, creates a task, uploads the API page's example result, shows a
// refused upload, lets sms-agent verify a small migrated tree and upload its
// verdict, reads the history back, shows the task's row on the web dashboard,
// and stops the server with SIGTERM. With --keep it leaves the server running
// (until Ctrl-C) so that the dashboard can be opened in a browser.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const step = (text) => console.log(`\n▸ ${text}`);

step('build');
const build = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(build.status ?? 1);

const dataDir = mkdtempSync(join(tmpdir(), 'sms-demo-'));
const password = 'demo-admin-password';
step(`start sms-server on SQLite in ${dataDir}`);
const server = spawn(process.execPath, [join(root, 'apps/server/bin/sms-server.js'), 'serve'], {
  env: {
    ...process.env,
    PORT: '0',
    SMS_DATA_DIR: dataDir,
    SMS_ADMIN_PASSWORD: password,
    SMS_LOG_LEVEL: 'info',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.setEncoding('utf8').on('data', (chunk) => {
    out += chunk;
    const found = /"msg":"listening","url":"([^"]+)"/.exec(out)?.[1];
    if (found) resolve(found);
  });
  server.once('exit', (code) => reject(new Error(`sms-server exited with ${code}:\n${out}`)));
});
console.log(`  listening on ${url}`);

async function call(method, path, { token, body } = {}) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(token ? { 'x-auth-token': token } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  console.log(`  ${method} ${path} → ${res.status}`);
  return { res, json: text ? JSON.parse(text) : undefined };
}

try {
  step('sign in as admin (POST /v3/auth/tokens)');
  const auth = await call('POST', '/v3/auth/tokens', {
    body: {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', password } } },
        scope: { project: { name: 'default' } },
      },
    },
  });
  const token = auth.res.headers.get('x-subject-token');

  step('create a task');
  const { json: task } = await call('POST', '/v3/tasks', { token, body: { name: 'web-01' } });

  step("upload the API page's example result");
  const example = (dir) => ({
    dir_check: dir,
    num_total_files: 1235,
    num_different_files: 12,
    num_target_miss_files: 12,
    num_target_more_files: 12,
  });
  await call('POST', `/v3/tasks/${task.id}/consistency-result`, {
    token,
    body: { consistency_result: [example('/root/data'), example('/var')] },
  });

  step('an invalid upload is refused, naming the field');
  const bad = await call('POST', `/v3/tasks/${task.id}/consistency-result`, {
    token,
    body: { consistency_result: [{ ...example('/x'), num_total_files: 1_000_001 }] },
  });
  console.log(`  ${JSON.stringify(bad.json)}`);

  step('sms-agent verifies a migrated tree and uploads its verdict');
  const trees = join(dataDir, 'trees');
  for (const [dir, files] of [
    ['srv/data', 40],
    ['var/www', 12],
  ]) {
    mkdirSync(join(trees, 'source', dir), { recursive: true });
    for (let i = 0; i < files; i++)
      writeFileSync(join(trees, 'source', dir, `file-${i}.txt`), `content ${dir} ${i}\n`);
  }
  cpSync(join(trees, 'source'), join(trees, 'target'), { recursive: true, preserveTimestamps: true });
  unlinkSync(join(trees, 'target', 'srv/data/file-7.txt')); // one file the migration missed
  writeFileSync(join(trees, 'target', 'var/www/stray.log'), 'not in the source\n'); // one extra
  const agent = spawnSync(
    process.execPath,
    [
      join(root, 'apps/agent/bin/sms-agent.js'),
      'verify',
      '--source',
      join(trees, 'source'),
      '--target',
      join(trees, 'target'),
      '--dir',
      'srv/data',
      '--dir',
      'var/www',
      '--upload',
      '--task',
      task.id,
      '--endpoint',
      url,
      '--spool-dir',
      join(dataDir, 'spool'),
    ],
    {
      env: { ...process.env, SMS_USERNAME: 'admin', SMS_PASSWORD: password, SMS_PROJECT: 'default' },
      encoding: 'utf8',
    },
  );
  console.log(agent.stdout.replace(/^/gm, '  '));
  console.log(agent.stderr.replace(/^/gm, '  ').trimEnd());
  console.log(`  sms-agent exited with ${agent.status} (1: inconsistencies found)`);

  step('read the history back');
  const { json: history } = await call('GET', `/v3/tasks/${task.id}/consistency-result`, { token });
  for (const entry of history.result_list) {
    console.log(`  ${new Date(entry.finished_time).toISOString()} ${entry.check_result}`);
    for (const r of entry.consistency_result) {
      console.log(
        `    ${r.dir_check}: ${r.num_total_files} files, ${r.num_different_files} different, ${r.num_target_miss_files} missing, ${r.num_target_more_files} extra`,
      );
    }
  }

  step('which files differ, and the list to copy again (our findings extension)');
  const { json: findings } = await call('GET', `/v3/tasks/${task.id}/consistency-result/files`, { token });
  for (const f of findings.findings) console.log(`    ${f.dir_check}: ${f.category} ${f.path} (${f.reason})`);
  const dataDir0 = findings.findings.find((f) => f.category === 'missing')?.dir_check;
  if (dataDir0) {
    const list = await fetch(
      `${url}/v3/tasks/${task.id}/consistency-result/files?format=files-from&dir_check=${encodeURIComponent(dataDir0)}`,
      { headers: { 'x-auth-token': token } },
    );
    console.log(
      `  re-sync list of ${dataDir0}, for rsync --files-from: ${JSON.stringify(await list.text())}`,
    );
  }

  step('the web dashboard shows the task (sign in at /ui/sign-in, then /ui/tasks)');
  const form = await fetch(`${url}/ui/sign-in`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  const formCookie = form.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const signIn = await fetch(`${url}/ui/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: formCookie },
    body: new URLSearchParams({ csrf, user: 'admin', password }).toString(),
  });
  const session = signIn.headers
    .getSetCookie()
    .find((c) => c.startsWith('sms_session='))
    ?.split(';')[0];
  console.log(`  POST /ui/sign-in → ${signIn.status} ${signIn.headers.get('location')}`);
  const list = await fetch(`${url}/ui/tasks`, { headers: { cookie: session ?? '' } });
  const row =
    new RegExp(`<tr data-task-id="${task.id}">([\\s\\S]*?)</tr>`).exec(await list.text())?.[1] ?? '';
  const cells = [...row.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) =>
    m[1].replace(/<[^>]+>/g, '').trim(),
  );
  console.log(`  GET /ui/tasks → ${list.status}`);
  console.log(
    `  ${['task', 'state', 'verdict', 'verified', 'different', 'missing', 'extra', 'last result'].map((h, i) => `${h}: ${cells[i]}`).join(', ')}`,
  );

  if (process.argv.includes('--keep')) {
    console.log(
      `\n  The server keeps running: open ${url}/ui and sign in as admin / ${password}. Ctrl-C stops it.`,
    );
    await new Promise((resolve) => process.once('SIGINT', resolve));
  }
} finally {
  step('stop the server (SIGTERM)');
  const code = await new Promise((resolve) => {
    server.once('exit', resolve);
    server.kill('SIGTERM');
  });
  console.log(`  exited with ${code}`);
  rmSync(dataDir, { recursive: true, force: true });
}
