// What the benchmarks share: starting a server process, one keep-alive HTTP client, signing in.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ADMIN_PASSWORD = 'bench-admin-password';
export const PG_URL = process.env.SMS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Starts a server with its stdout (the JSON log) in a file, and resolves with its URL once it listens. */
export function start(script, args, env) {
  const logFile = join(mkdtempSync(join(tmpdir(), 'sms-bench-log-')), 'stdout.log');
  const out = openSync(logFile, 'w');
  const child = spawn(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH, SMS_LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', out, 'inherit'],
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const url = /"url":"([^"]+)"/.exec(readFileSync(logFile, 'utf8'))?.[1];
      if (url) {
        clearInterval(poll);
        resolve({
          url,
          child,
          stop: () =>
            new Promise((r) => {
              if (exited) return r();
              child.once('exit', r);
              child.kill('SIGTERM');
            }),
        });
      } else if (exited) {
        clearInterval(poll);
        reject(new Error(`${script} exited: ${readFileSync(logFile, 'utf8')}`));
      }
    }, 50);
  });
}

export const agent = new Agent({ keepAlive: true, maxSockets: Number(process.env.BENCH_CONCURRENCY ?? 32) });

export function post(url, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (c) => (text += c))
          .on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A token of the first admin, in project default. */
export async function signIn(url) {
  const auth = await post(
    url,
    '/v3/auth/tokens',
    {},
    JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', password: ADMIN_PASSWORD } } },
        scope: { project: { name: 'default' } },
      },
    }),
  );
  return auth.headers['x-subject-token'];
}

/** A fresh PostgreSQL database on SMS_TEST_PG_URL's server, and how to drop it. */
export async function createDatabase(pg) {
  const name = `sms_bench_${Date.now()}_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.query(`drop database ${name} with (force)`);
      await admin.end();
    },
  };
}
