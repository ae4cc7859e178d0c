import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Storage } from '../storage/storage.js';
import { defaultSqliteDriver, openSqlite } from './sqlite-driver.js';

const dir = mkdtempSync(join(tmpdir(), 'sms-driver-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const hasNodeSqlite = major > 22 || (major === 22 && minor >= 13);

describe('the SQLite binding', () => {
  it('is node:sqlite on Node 24 and later, better-sqlite3 before', () => {
    expect(defaultSqliteDriver()).toBe(major >= 24 ? 'node-sqlite' : 'better-sqlite3');
  });

  it('opens the embedded database with the default binding and says which', async () => {
    const storage = await Storage.open({ dataDir: join(dir, 'default') });
    expect(storage.location).toContain(`(${defaultSqliteDriver()})`);
    await storage.close();
  });

  it.runIf(hasNodeSqlite)('works through node:sqlite where Node has it', async () => {
    const storage = await Storage.open({ dataDir: join(dir, 'node'), sqliteDriver: 'node-sqlite' });
    const project = await storage.accounts.createProject('p', 1);
    expect((await storage.accounts.findProject({ name: 'p' }))?.id).toBe(project.id);
    await storage.close();
  });

  it.runIf(!hasNodeSqlite)('refuses node:sqlite on a Node without it, naming the version needed', () => {
    expect(() => openSqlite(join(dir, 'x.sqlite'), 'node-sqlite')).toThrow(/needs Node\.js 22\.13 or later/);
  });
});
