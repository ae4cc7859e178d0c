import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthService } from '../services/auth-service.js';
import { Storage } from '../storage/storage.js';
import { apiOf } from '../test-support/client.js';
import { result } from '../testing/app.js';
import { runServerCli, SERVER_BIN, startServerProcess } from '../testing/process.js';

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sms-proc-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the built server as a real process', () => {
  it('serves on a free port, stops on SIGTERM with exit 0, and keeps the upload across a restart', async () => {
    const env = { SMS_DATA_DIR: dataDir(), SMS_ADMIN_PASSWORD: 'first-admin-pw' };
    const first = await startServerProcess(env);
    const api = apiOf(first.url);
    const token = await api.token('admin', 'first-admin-pw');
    const taskId = await api.createTask(token, 'restart');
    expect((await api.upload(token, taskId, { consistency_result: [result('/srv/data')] })).status).toBe(200);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.stdout.join('')).toContain('"msg":"stopped"');

    const second = await startServerProcess(env);
    const again = apiOf(second.url);
    const history = await again.history(await again.token('admin', 'first-admin-pw'), taskId);
    expect(history.result_list.map((e) => e.consistency_result[0]?.dir_check)).toEqual(['/srv/data']);
    expect(await second.stop()).toBe(0);
  });

  it('exits 0 on a SIGTERM sent the moment the listening line is read (three starts)', async () => {
    const env = { SMS_DATA_DIR: dataDir(), SMS_ADMIN_PASSWORD: 'prompt-admin-pw' };
    for (let start = 0; start < 3; start++) {
      const server = await startServerProcess(env);
      expect(await server.stop('SIGTERM'), server.stdout.join('') + server.stderr.join('')).toBe(0);
    }
  });

  it('finishes a request in flight when SIGTERM arrives, then exits 0', async () => {
    const server = await startServerProcess({
      SMS_DATA_DIR: dataDir(),
      SMS_ADMIN_PASSWORD: 'inflight-admin-pw',
    });
    const api = apiOf(server.url);
    const token = await api.token('admin', 'inflight-admin-pw');
    const taskId = await api.createTask(token, 'inflight');
    const body = JSON.stringify({ consistency_result: [result('/inflight')] });
    const url = new URL(`${server.url}/v3/tasks/${taskId}/consistency-result`);
    const answer = new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-auth-token': token,
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      // half the body now, the signal, then the rest
      req.write(body.slice(0, 20));
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(20)), 300);
      }, 200);
    });
    expect(await answer).toBe(200);
    expect(await server.stop()).toBe(0);
  });

  it("ends agents' long polls when SIGTERM arrives (answered, empty), then exits 0 at once", async () => {
    const server = await startServerProcess({
      SMS_DATA_DIR: dataDir(),
      SMS_ADMIN_PASSWORD: 'poll-admin-pw',
    });
    const token = await apiOf(server.url).token('admin', 'poll-admin-pw');
    // a daemon's long poll: 30 s, the most an agent may ask for, far past the shutdown timeout
    const polledAt = Date.now();
    const polled = fetch(`${server.url}/v3/consistency-checks?wait=30`, {
      headers: { 'x-auth-token': token },
    });
    // time for the poll to be waiting there (a signal before it arrived would get 503)
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const res = await polled;
    // it waited until the signal (a server that ignored `wait` would have answered at once)
    expect(Date.now() - polledAt).toBeGreaterThanOrEqual(1000);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ requests: [] });
    expect(await server.stop()).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5000);
    expect(server.stdout.join('') + server.stderr.join('')).not.toMatch(
      /did not finish by the shutdown timeout/,
    );
  });

  it('cuts a findings download whose client stopped reading at the shutdown timeout, then exits 0', async () => {
    const server = await startServerProcess({
      SMS_DATA_DIR: dataDir(),
      SMS_ADMIN_PASSWORD: 'stalled-admin-pw',
      SMS_SHUTDOWN_TIMEOUT_SECONDS: '3',
      SMS_LOG_LEVEL: 'warn',
    });
    const api = apiOf(server.url);
    const token = await api.token('admin', 'stalled-admin-pw');
    const taskId = await api.createTask(token, 'stalled');
    const runId = randomUUID();
    const counts = await fetch(`${server.url}/v3/tasks/${taskId}/consistency-result`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token, 'x-sms-run-id': runId },
      body: JSON.stringify({ consistency_result: [result('/d')] }),
    });
    expect(counts.status).toBe(200);
    // a CSV of about 12 MB: far more than the socket's buffers hold while the client reads nothing
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      lines.push(
        JSON.stringify({
          dir_check: '/d',
          category: 'missing',
          path: `dir/${'x'.repeat(180)}-${i}`,
          reason: 'r',
        }),
      );
    }
    const stored = await fetch(`${server.url}/v3/tasks/${taskId}/consistency-result/files`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'x-auth-token': token, 'x-sms-run-id': runId },
      body: `${lines.join('\n')}\n`,
    });
    expect(stored.status, await stored.text()).toBe(200);
    // the download starts, and then its client reads nothing more
    const url = new URL(server.url);
    const socket = connect(Number(url.port), url.hostname);
    let received = '';
    let stalled = true;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (stalled && received.length > 200_000) socket.pause();
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    socket.write(
      `GET /v3/tasks/${taskId}/consistency-result/files?format=csv HTTP/1.1\r\nHost: ${url.host}\r\nX-Auth-Token: ${token}\r\n\r\n`,
    );
    for (let waited = 0; received.length <= 200_000 && waited < 10_000; waited += 50)
      await new Promise((r) => setTimeout(r, 50));
    expect(received).toMatch(/^HTTP\/1\.1 200/);
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const code = await server.stop();
    const log = server.stdout.join('') + server.stderr.join('');
    expect(code, log).toBe(0);
    // cut before the timeout, with a line saying so, and the database closed
    expect(Date.now() - signalled).toBeLessThan(3000);
    expect(log).toContain('closing connections still open at the shutdown timeout');
    expect(log).not.toMatch(/did not finish by the shutdown timeout/);
    // what was sent before the cut is still to be read here, then the end
    stalled = false;
    socket.resume();
    await closed;
    // the client can tell: the body never got its last chunk
    expect(received.endsWith('\r\n0\r\n\r\n')).toBe(false);
  });

  it('creates admin with a random password on first start, shows it once on stderr and never in the log', async () => {
    const env = { SMS_DATA_DIR: dataDir() };
    const server = await startServerProcess(env);
    // stderr and stdout are separate pipes: the password may arrive after the listening line
    for (let waited = 0; !server.stderr.join('').includes('with password') && waited < 10_000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const stderr = server.stderr.join('');
    const password = /with password:\s+(\S+)/.exec(stderr)?.[1];
    expect(password).toBeDefined();
    const api = apiOf(server.url);
    await expect(api.token('admin', password!)).resolves.toMatch(/^sms1\./);
    expect(server.stdout.join('')).not.toContain(password!);
    // the log says where the password came from (a field named password_* would be redacted)
    expect(server.stdout.join('')).toContain(
      '"msg":"created user admin in project default","source":"generated"',
    );
    expect(await server.stop()).toBe(0);
    // a second start does not create it again or show a password
    const again = await startServerProcess(env);
    expect(again.stderr.join('')).not.toContain('with password');
    await again.stop();
  });

  it.each([
    [{ PORT: 'http' }, 'PORT: expected a port number 0..65535'],
    [{ PORT: '70000' }, 'PORT: expected integer <= 65535, received 70000'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL: expected a postgres:// or postgresql:// URL'],
    [{ SMS_ADMIN_PASSWORD: 'short' }, 'SMS_ADMIN_PASSWORD: expected at least 8 characters'],
    [{ SMS_TOKEN_TTL_SECONDS: '5' }, 'SMS_TOKEN_TTL_SECONDS: expected integer >= 60, received 5'],
    [
      { HOST: '[::1]' },
      'HOST: expected an address of this machine (127.0.0.1, 0.0.0.0 for every IPv4 one, :: for every one; an IPv6 address without brackets)',
    ],
    [{ HOST: 'my host' }, 'HOST: expected an address of this machine'],
    [
      { SMS_PUBLIC_URL: 'javascript:alert(document.domain)//' },
      'SMS_PUBLIC_URL: expected an http:// or https:// URL, such as https://sms.example.com',
    ],
    [
      { SMS_TRUSTED_PROXIES: '127.0.0.1,proxy.internal' },
      'SMS_TRUSTED_PROXIES: "proxy.internal" is not an IP address or a network like 10.0.0.0/8',
    ],
    // node:sqlite is in Node.js 22.13 and later only (on those, the setting is taken)
    ...(Number(process.versions.node.split('.')[0]) < 22
      ? [
          [
            { SMS_SQLITE_DRIVER: 'node-sqlite' },
            'SMS_SQLITE_DRIVER: node-sqlite needs Node.js 22.13 or later',
          ],
        ]
      : []),
  ] as [Record<string, string>, string][])(
    'refuses to start with %o, naming the variable, exit 2',
    async (env, message) => {
      const run = await runServerCli(['serve'], { SMS_DATA_DIR: dataDir(), ...env });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(message);
    },
  );
});

describe('a HOST or PORT it cannot listen on', () => {
  it('says so and what to do: an address of another machine is exit 2, a port in use exit 1', async () => {
    const elsewhere = await runServerCli(['serve'], {
      SMS_DATA_DIR: dataDir(),
      HOST: '192.0.2.7', // TEST-NET-1: no machine's own address
      SMS_ADMIN_PASSWORD: 'listen-admin-pw',
    });
    expect(elsewhere.code, elsewhere.stderr).toBe(2);
    expect(elsewhere.stderr).toContain(
      'sms-server: HOST=192.0.2.7 is not an address of this machine (EADDRNOTAVAIL): give one of its addresses',
    );
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const run = await runServerCli(['serve'], {
        SMS_DATA_DIR: dataDir(),
        PORT: String(port),
        SMS_ADMIN_PASSWORD: 'listen-admin-pw',
      });
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toContain(
        `sms-server: cannot listen on 127.0.0.1:${port}: another program listens there (EADDRINUSE): stop it, or give another PORT`,
      );
    } finally {
      taken.close();
    }
  });
});

describe('the client address (SMS_TRUSTED_PROXIES)', () => {
  const clientsLogged = async (env: Record<string, string>) => {
    const server = await startServerProcess({
      SMS_DATA_DIR: dataDir(),
      SMS_ADMIN_PASSWORD: 'proxy-admin-pw',
      ...env,
    });
    await fetch(`${server.url}/healthz`, { headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' } });
    await fetch(`${server.url}/healthz`);
    expect(await server.stop()).toBe(0);
    return server.stdout
      .join('')
      .split('\n')
      .filter((line) => line.includes('"msg":"request"'))
      .map((line) => (JSON.parse(line) as { client: string }).client);
  };

  it('is the connection peer by default, whatever X-Forwarded-For says', async () => {
    expect(await clientsLogged({})).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it("is the proxy's X-Forwarded-For entry when the peer is a trusted proxy", async () => {
    expect(await clientsLogged({ SMS_TRUSTED_PROXIES: '127.0.0.0/8, ::1' })).toEqual([
      '198.51.100.7',
      '127.0.0.1',
    ]);
  });
});

describe('the server CLI', () => {
  it('decodes a message whatever its first character (base64url may start with "-"), also after --', async () => {
    const env = { SMS_DATA_DIR: dataDir() };
    const storage = await Storage.open({ dataDir: env.SMS_DATA_DIR });
    const auth = await AuthService.create(storage, { tokenTtlSeconds: 3600 });
    await storage.close();
    // the IV is random: draw until one message starts with '-' (1 in 64 each) and one does not
    const messages = new Map<boolean, string>();
    for (let i = 0; i < 10_000 && messages.size < 2; i++) {
      const message = auth.encodeDetails({ reason: `draw ${i}` });
      messages.set(message.startsWith('-'), message);
    }
    const dashed = messages.get(true);
    expect(dashed?.startsWith('-')).toBe(true);
    for (const args of [[dashed], ['--', dashed], [messages.get(false)], [` ${dashed}\n`]]) {
      const run = await runServerCli(['decode', ...(args as string[])], env);
      expect(run, JSON.stringify(args)).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(run.stdout).reason).toMatch(/^draw \d+$/);
    }
    const extra = await runServerCli(['decode', dashed as string, 'more'], env);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('decode takes one MESSAGE; unexpected argument "more"');
    expect(await runServerCli(['decode'], env)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('missing MESSAGE'),
    });
    const altered = await runServerCli(['decode', `A${(dashed as string).slice(1)}`], env);
    expect(altered.code).toBe(1);
    expect(altered.stderr).toContain('the message was not made by this server');
    expect((await runServerCli(['decode', '--help'], env)).stdout).toContain('sms-server decode MESSAGE');
  });

  it('manages projects and users, and a password change revokes tokens', { timeout: 90_000 }, async () => {
    const env = { SMS_DATA_DIR: dataDir(), SMS_ADMIN_PASSWORD: 'cli-admin-pw' };
    expect((await runServerCli(['project', 'add', 'fleet-a'], env)).code).toBe(0);
    const add = await runServerCli(
      ['user', 'add', 'agent-7', '--project', 'fleet-a', '--role', 'agent', '--password-stdin'],
      env,
      'agent-7-password\n',
    );
    expect(add).toMatchObject({
      code: 0,
      stdout: 'created user agent-7 with role agent in project fleet-a\n',
    });
    const list = await runServerCli(['user', 'list'], env);
    expect(list.stdout).toContain('agent-7\tfleet-a:agent');

    const server = await startServerProcess(env);
    const api = apiOf(server.url);
    const token = await api.token('agent-7', 'agent-7-password', 'fleet-a');
    expect((await api.call('/v3/tasks', { headers: { 'x-auth-token': token } })).status).toBe(200);
    const passwd = await runServerCli(['user', 'passwd', 'agent-7'], env);
    expect(passwd.code).toBe(0);
    expect(passwd.stdout).toMatch(/password \(shown once\): \S{20,}/);
    expect((await api.call('/v3/tasks', { headers: { 'x-auth-token': token } })).status).toBe(403);

    const denied = await api.call('/v3/tasks', { headers: { 'x-auth-token': token } });
    const message = ((await denied.json()) as { encoded_authorization_message: string })
      .encoded_authorization_message;
    const decoded = await runServerCli(['decode', message], env);
    expect(decoded.code).toBe(0);
    expect(JSON.parse(decoded.stdout)).toMatchObject({ reason: 'token revoked: the password was changed' });
    await server.stop();
    // the whole log of the process: sign-ins, requests, a revoked token, never a secret
    const log = server.stdout.join('') + server.stderr.join('');
    expect(log).toContain('"msg":"request"');
    for (const secret of [
      token,
      'agent-7-password',
      'cli-admin-pw',
      passwd.stdout.split(': ').pop()!.trim(),
    ]) {
      expect(log).not.toContain(secret);
    }

    expect((await runServerCli(['user', 'remove', 'agent-7'], env)).code).toBe(0);
    expect((await runServerCli(['user', 'list'], env)).stdout).not.toContain('agent-7');
  });

  it('explains usage errors with exit 2', async () => {
    const env = { SMS_DATA_DIR: dataDir() };
    const bad = await runServerCli(['user', 'add', 'x', '--project', 'default', '--role', 'root'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--role "root": expected admin, agent or viewer');
    const unknown = await runServerCli(['frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const help = await runServerCli(['--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('SMS_DATA_DIR');
  });

  it('checks a command before it opens the database: a usage error (exit 2) creates nothing and waits for nothing', {
    timeout: 120_000,
  }, async () => {
    const dir = join(dataDir(), 'data');
    // PostgreSQL would be waited for (and fail, exit 1) if the database were opened first
    const unreachable = { SMS_DATA_DIR: dir, DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db' };
    const cases: [string[], string][] = [
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['help'], 'unknown command "help"'],
      [['user', 'frob'], 'unknown command "user frob": user takes add, passwd, grant, revoke, remove, list'],
      [['user', 'add', 'bob', '--project', 'default'], 'user add needs --role admin|agent|viewer'],
      [['user', 'add', '--role', 'agent'], 'user add needs NAME'],
      [['user', 'revoke', 'bob'], 'user revoke needs --project P'],
      [['user', 'list', '--project', 'pa'], 'user list takes no option --project'],
      [['project', 'list', 'extra'], 'project list takes no argument; unexpected "extra"'],
      [['webhook', 'list', 'pa', 'extra'], 'webhook list takes [PROJECT]; unexpected "extra"'],
      [['webhook', 'add', 'pa'], 'webhook add needs URL'],
      [['serve', 'typo-here'], 'serve takes no argument; unexpected "typo-here"'],
      [['access-key', 'list', '--json'], 'access-key list takes no option --json'],
      [
        ['user', 'add', 'bob', '--project', 'p1', '--role', 'superuser'],
        '--role "superuser": expected admin, agent or viewer',
      ],
      [
        ['user', 'grant', 'bob', '--project', 'no good!', '--role', 'agent'],
        '--project "no good!": expected letters, digits, ".", "_", "-" or "@"',
      ],
    ];
    for (const [k, [args, message]] of cases.entries()) {
      // an unreachable PostgreSQL for a few of them: each start of the CLI costs half a second
      for (const env of k % 5 === 0 ? [{ SMS_DATA_DIR: dir }, unreachable] : [{ SMS_DATA_DIR: dir }]) {
        const run = await runServerCli(args, env);
        expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
        expect(run.stderr).toContain(`sms-server: ${message}\n`);
      }
    }
    expect(existsSync(dir)).toBe(false);
    // commands that read or change what exists say there is no database rather than make one
    for (const args of [
      ['user', 'list'],
      ['project', 'list'],
      ['decode', 'abc'],
      ['webhook', 'list'],
    ]) {
      const run = await runServerCli(args, { SMS_DATA_DIR: dir });
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(1);
      expect(run.stderr).toContain(
        `sms-server: no database at ${join(dir, 'sms.sqlite')}, so sms-server ${args[0] === 'decode' ? 'decode' : args.join(' ')} has nothing to work on`,
      );
    }
    expect(existsSync(dir)).toBe(false);
  });

  it('says a user is not in a project (exit 1), and a password that breaks the rules is a usage error (exit 2)', {
    timeout: 60_000,
  }, async () => {
    const env = { SMS_DATA_DIR: dataDir() };
    for (const project of ['pa', 'pb'])
      expect((await runServerCli(['project', 'add', project], env)).code).toBe(0);
    const add = await runServerCli(['user', 'add', 'bob', '--project', 'pa', '--role', 'agent'], env);
    expect(add.code, add.stderr).toBe(0);
    const revoke = await runServerCli(['user', 'revoke', 'bob', '--project', 'pb'], env);
    expect(revoke.code).toBe(1);
    expect(revoke.stderr).toContain('The user "bob" is not in project "pb".');
    const short = await runServerCli(['user', 'passwd', 'bob', '--password-stdin'], env, 'short\n');
    expect(short.code, short.stderr).toBe(2);
  });

  it('fails (exit 1) when its output cannot be written, after closing the database, and says so', async () => {
    const env = { SMS_DATA_DIR: dataDir() };
    expect((await runServerCli(['project', 'add', 'pa'], env)).code).toBe(0);
    const full = openSync('/dev/full', 'w');
    try {
      const run = spawnSync(process.execPath, [SERVER_BIN, 'project', 'list'], {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', full, 'pipe'],
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toBe(
        'sms-server: cannot write to standard output (ENOSPC): what the command printed is incomplete (a secret shown only once, if any, is lost: make a new one)\n',
      );
    } finally {
      closeSync(full);
    }
  });

  it('reports a missing user as an error with exit 1', async () => {
    const env = { SMS_DATA_DIR: dataDir() };
    expect((await runServerCli(['project', 'add', 'pa'], env)).code).toBe(0);
    const run = await runServerCli(['user', 'remove', 'ghost'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('The user "ghost" was not found.');
  });
});
