import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStorage, type TestDialect } from '../testing/app.js';
import { AccessKeyLimitReached, type AccessKeyRow, type Storage } from './storage.js';

describe.each<TestDialect>(['sqlite', 'postgres'])('access keys on %s', (dialect) => {
  let storage: Storage;
  let cleanup: () => Promise<void>;
  let projectId: string;
  beforeAll(async () => {
    ({ storage, cleanup } = await openTestStorage(dialect));
    projectId = (await storage.accounts.createProject('alpha', 1)).id;
  });
  afterAll(() => cleanup());

  const row = (access_key: string, user_id: string, created_at: number): AccessKeyRow => ({
    access_key,
    user_id,
    secret_sealed: `sealed-${access_key}`,
    status: 'active',
    description: '',
    created_at,
  });

  it('keeps at most the given number per user, even when created at once', async () => {
    const user = await storage.accounts.createUser({ name: 'k1', passwordHash: 'h' }, 1);
    const results = await Promise.allSettled(
      ['A1', 'A2', 'A3', 'A4'].map((key, i) => storage.accessKeys.create(row(key, user.id, i), 2)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    for (const r of results.filter((r) => r.status === 'rejected'))
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(AccessKeyLimitReached);
    expect(await storage.accessKeys.list({ userId: user.id })).toHaveLength(2);
  });

  it('finds, lists by user and by project, updates and deletes', async () => {
    const user = await storage.accounts.createUser({ name: 'k2', passwordHash: 'h' }, 1);
    await storage.accounts.setMembership(user.id, projectId, 'agent');
    await storage.accessKeys.create(row('B1', user.id, 5), 2);
    expect(await storage.accessKeys.find('B1')).toEqual(row('B1', user.id, 5));
    expect(await storage.accessKeys.find('nope')).toBeUndefined();
    const listed = await storage.accessKeys.list({ projectId });
    expect(listed).toEqual([
      {
        access_key: 'B1',
        user_id: user.id,
        user_name: 'k2',
        status: 'active',
        description: '',
        created_at: 5,
      },
    ]);
    expect(await storage.accessKeys.update('B1', { status: 'inactive', description: 'spare' })).toBe(true);
    expect(await storage.accessKeys.find('B1')).toMatchObject({ status: 'inactive', description: 'spare' });
    expect(await storage.accessKeys.update('nope', { status: 'inactive' })).toBe(false);
    expect(await storage.accessKeys.delete('B1')).toBe(true);
    expect(await storage.accessKeys.delete('B1')).toBe(false);
  });

  it('deletes a user’s keys with the user', async () => {
    const user = await storage.accounts.createUser({ name: 'k3', passwordHash: 'h' }, 1);
    await storage.accessKeys.create(row('C1', user.id, 1), 2);
    await storage.accounts.deleteUser(user.id);
    expect(await storage.accessKeys.find('C1')).toBeUndefined();
  });
});
