import type { Database } from '../db/schema.js';
import { Store } from './handle.js';

/** An access key as stored: the secret only sealed. */
export type AccessKeyRow = Database['access_keys'];

/** An access key with its user's name, for lists. */
export type AccessKeyListing = Omit<AccessKeyRow, 'secret_sealed'> & { user_name: string };

/** The user already holds the most keys allowed. */
export class AccessKeyLimitReached extends Error {
  override name = 'AccessKeyLimitReached';
}

const LISTED = [
  'access_keys.access_key',
  'access_keys.user_id',
  'users.name as user_name',
  'access_keys.status',
  'access_keys.description',
  'access_keys.created_at',
] as const;

/**
 * Users' access keys. Every signed request reads its key here, so that a key
 * deactivated or deleted (or whose user was removed: the rows go with the
 * user) is refused at once by every instance on the database.
 */
export class AccessKeyStore extends Store {
  /**
   * Adds a key unless its user holds `max` already (`AccessKeyLimitReached`).
   * The count and the insert are one transaction; on PostgreSQL the user's row
   * is locked first, so that two instances adding keys at once count in turn
   * (SQLite has one writer at a time).
   */
  async create(row: AccessKeyRow, max: number): Promise<void> {
    const created = await this.run('create access key', () =>
      this.db.transaction().execute(async (trx) => {
        if (this.dialect === 'postgres') {
          await trx.selectFrom('users').select('id').where('id', '=', row.user_id).forUpdate().execute();
        }
        const { n } = await trx
          .selectFrom('access_keys')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('user_id', '=', row.user_id)
          .executeTakeFirstOrThrow();
        if (Number(n) >= max) return false;
        await trx.insertInto('access_keys').values(row).execute();
        return true;
      }),
    );
    if (!created) throw new AccessKeyLimitReached(`user ${row.user_id} has ${max} access keys`);
  }

  async find(accessKey: string): Promise<AccessKeyRow | undefined> {
    return this.run('read access key', () =>
      this.db.selectFrom('access_keys').selectAll().where('access_key', '=', accessKey).executeTakeFirst(),
    );
  }

  /** The keys of one user, or of every user when `userId` is undefined, oldest first. */
  async list(filter: { userId?: string; projectId?: string }): Promise<AccessKeyListing[]> {
    return this.run('list access keys', async () => {
      let query = this.db
        .selectFrom('access_keys')
        .innerJoin('users', 'users.id', 'access_keys.user_id')
        .select(LISTED);
      if (filter.userId !== undefined) query = query.where('access_keys.user_id', '=', filter.userId);
      if (filter.projectId !== undefined) {
        const { projectId } = filter;
        query = query.where((eb) =>
          eb.exists(
            eb
              .selectFrom('memberships')
              .select('memberships.user_id')
              .whereRef('memberships.user_id', '=', 'access_keys.user_id')
              .where('memberships.project_id', '=', projectId),
          ),
        );
      }
      const rows = await query.orderBy('access_keys.created_at').orderBy('access_keys.access_key').execute();
      return rows.map((r) => ({ ...r, created_at: Number(r.created_at) }));
    });
  }

  /** Changes a key's status or description; false when there is no such key. */
  async update(accessKey: string, patch: { status?: string; description?: string }): Promise<boolean> {
    return this.run('update access key', async () => {
      const result = await this.db
        .updateTable('access_keys')
        .set(patch)
        .where('access_key', '=', accessKey)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  /** Deletes a key; false when there was none. */
  async delete(accessKey: string): Promise<boolean> {
    return this.run('delete access key', async () => {
      const result = await this.db
        .deleteFrom('access_keys')
        .where('access_key', '=', accessKey)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }
}
