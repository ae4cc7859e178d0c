import { sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { Store, type StoreHandle } from './handle.js';

/** A dashboard session as stored: the hash of its id, who, and until when. */
export type SessionRow = Database['sessions'];

/** What signing in keeps: the secrets (the token key), failed sign-ins per key, and dashboard sessions. */
export class SignInStore extends Store {
  private readonly events: StoreHandle['events'];

  constructor(handle: StoreHandle) {
    super(handle);
    this.events = handle.events;
  }

  // --- secrets ---------------------------------------------------------------

  /** The named secret; made by `generate` once, then the same for every process on this database. */
  async secret(name: string, generate: () => string): Promise<string> {
    return this.run('read secret', async () => {
      await this.db
        .insertInto('secrets')
        .values({ name, value: generate() })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const row = await this.db
        .selectFrom('secrets')
        .select('value')
        .where('name', '=', name)
        .executeTakeFirstOrThrow();
      return row.value;
    });
  }

  // --- failed sign-ins ----------------------------------------------------------

  /** The failures counted for `key` in the window that contains `now`, or 0. */
  async failures(
    key: string,
    now: number,
    windowMs: number,
  ): Promise<{ failures: number; windowStart: number }> {
    return this.run('read sign-in failures', async () => {
      const row = await this.db
        .selectFrom('auth_failures')
        .selectAll()
        .where('key', '=', key)
        .executeTakeFirst();
      if (!row || row.window_start <= now - windowMs) return { failures: 0, windowStart: now };
      return { failures: row.failures, windowStart: row.window_start };
    });
  }

  /** Counts one failure for each key, in one statement each, atomically across instances. */
  async countFailure(keys: readonly string[], now: number, windowMs: number): Promise<void> {
    this.events.signInFailure();
    await this.run('count sign-in failure', async () => {
      for (const key of keys) {
        await this.db
          .insertInto('auth_failures')
          .values({ key, window_start: now, failures: 1 })
          .onConflict((oc) =>
            oc.column('key').doUpdateSet({
              failures: sql<number>`case when auth_failures.window_start <= ${now - windowMs} then 1 else auth_failures.failures + 1 end`,
              window_start: sql<number>`case when auth_failures.window_start <= ${now - windowMs} then ${now} else auth_failures.window_start end`,
            }),
          )
          .execute();
      }
    });
  }

  async clearFailures(key: string): Promise<void> {
    await this.run('clear sign-in failures', () =>
      this.db.deleteFrom('auth_failures').where('key', '=', key).execute(),
    );
  }

  // --- dashboard sessions --------------------------------------------------------

  async createSession(row: SessionRow): Promise<void> {
    await this.run('create session', async () => {
      // Ended sessions are swept as new ones begin: the table holds only live ones and a few stale.
      await this.db.deleteFrom('sessions').where('expires_at', '<=', row.created_at).execute();
      await this.db.insertInto('sessions').values(row).execute();
    });
  }

  async findSession(idHash: string): Promise<SessionRow | undefined> {
    return this.run('read session', () =>
      this.db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst(),
    );
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.run('delete session', () =>
      this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute(),
    );
  }
}
