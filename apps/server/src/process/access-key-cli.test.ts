import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateCredentialResponseSchema } from '@sms/domain';
import * as v from 'valibot';
import { afterAll, describe, expect, it } from 'vitest';
import { runServerCli } from '../testing/process.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('sms-server access-key', () => {
  it('creates (text and --json), lists without secrets, refuses a third, and deletes', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sms-ak-cli-'));
    dirs.push(dir);
    const env = { SMS_DATA_DIR: dir };
    expect((await runServerCli(['project', 'add', 'p1'], env)).code).toBe(0);
    expect(
      (await runServerCli(['user', 'add', 'agent-1', '--project', 'p1', '--role', 'agent'], env)).code,
    ).toBe(0);

    const text = await runServerCli(['access-key', 'create', 'agent-1'], env);
    expect(text.code).toBe(0);
    const [, textKey, secret] =
      /created access key ([A-Z0-9]{20}) for user agent-1\nsecret key \(shown once\): ([A-Za-z0-9]{40})\n/.exec(
        text.stdout,
      ) ?? [];
    expect(secret).toBeDefined();

    const json = await runServerCli(
      ['access-key', 'create', 'agent-1', '--description', 'host web-01', '--json'],
      env,
    );
    expect(json.code).toBe(0);
    const { credential } = v.parse(CreateCredentialResponseSchema, JSON.parse(json.stdout));
    expect(credential).toMatchObject({ status: 'active', description: 'host web-01' });

    const third = await runServerCli(['access-key', 'create', 'agent-1'], env);
    expect(third.code).toBe(1);
    expect(third.stderr).toContain('already has 2 access keys');

    const list = await runServerCli(['access-key', 'list', 'agent-1'], env);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]?.split('\t').slice(0, 3)).toEqual([textKey, 'agent-1', 'active']);
    expect(lines[1]?.split('\t')).toEqual([
      credential.access,
      'agent-1',
      'active',
      credential.create_time,
      'host web-01',
    ]);
    expect(list.stdout).not.toContain(secret);
    expect(list.stdout).not.toContain(credential.secret);
    expect((await runServerCli(['access-key', 'list'], env)).stdout).toBe(list.stdout);

    expect((await runServerCli(['access-key', 'delete', credential.access], env)).code).toBe(0);
    expect((await runServerCli(['access-key', 'list'], env)).stdout.trim().split('\n')).toHaveLength(1);
    const gone = await runServerCli(['access-key', 'delete', credential.access], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('was not found');
  });

  it('explains usage errors with exit 2 and a missing user with exit 1', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sms-ak-cli-'));
    dirs.push(dir);
    const env = { SMS_DATA_DIR: dir };
    for (const args of [
      ['access-key', 'create'],
      ['access-key', 'delete', 'lower-case'],
      ['access-key', 'rotate'],
    ]) {
      const run = await runServerCli(args, env);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain('sms-server --help');
    }
    // before the first start there is no database: none is made, and the message says where it comes from
    const none = await runServerCli(['access-key', 'create', 'admin'], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(
      `no database at ${join(dir, 'sms.sqlite')}, so sms-server access-key create has nothing to work on`,
    );
    expect(none.stderr).toContain('the server makes its database when it first starts');
    expect((await runServerCli(['project', 'add', 'p1'], env)).code).toBe(0);
    // a database with no users: the message says where the first comes from
    const first = await runServerCli(['access-key', 'create', 'admin'], env);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(
      'user "admin" was not found: this database has no users yet. The first user, admin, is made when the server first starts on it',
    );
    expect(
      (await runServerCli(['user', 'add', 'someone', '--project', 'p1', '--role', 'agent'], env)).code,
    ).toBe(0);
    const missing = await runServerCli(['access-key', 'create', 'ghost'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('"ghost" was not found');
    expect(missing.stderr).not.toContain('no users yet');
    expect((await runServerCli(['--help'], env)).stdout).toContain('sms-server access-key create USER');
  });
});
