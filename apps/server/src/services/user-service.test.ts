import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage } from '../storage/storage.js';
import { openTestStorage } from '../testing/app.js';
import { UserService } from './user-service.js';

let storage: Storage;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ storage, cleanup } = await openTestStorage('sqlite'));
});
afterAll(() => cleanup());

describe('UserService', () => {
  it('stores passwords as salted scrypt hashes, never as given', async () => {
    const users = new UserService(storage);
    await users.addUser('alice', 'correct horse battery', 'default', 'agent', { createProject: true });
    await users.addUser('bob', 'correct horse battery', 'default', 'viewer');
    const alice = await storage.accounts.findUser({ name: 'alice' });
    const bob = await storage.accounts.findUser({ name: 'bob' });
    expect(alice?.password_hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(JSON.stringify(alice)).not.toContain('correct horse battery');
    // the same password, another salt: another hash
    expect(bob?.password_hash).not.toBe(alice?.password_hash);
  });

  it('refuses a password shorter than 8 characters, naming the rule', async () => {
    const users = new UserService(storage);
    await expect(users.addUser('carol', 'short', 'default', 'agent')).rejects.toThrow(
      'password: expected at least 8 characters',
    );
  });

  it('creates the first admin once, also when two servers bootstrap together', async () => {
    const { storage: fresh, cleanup: done } = await openTestStorage('sqlite');
    try {
      const a = new UserService(fresh);
      const b = new UserService(fresh);
      const [first, second] = await Promise.all([
        a.bootstrap('first-admin-pw'),
        b.bootstrap('first-admin-pw'),
      ]);
      expect([first.created, second.created].filter(Boolean)).toHaveLength(1);
      expect(await fresh.accounts.countUsers()).toBe(1);
      expect((await a.bootstrap(undefined)).created).toBe(false);
    } finally {
      await done();
    }
  });
});
