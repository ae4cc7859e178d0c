import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { coreMigrations } from './migrations-core.js';
import { extensionMigrations } from './migrations-extensions.js';
import type { Dialect } from './schema.js';

/**
 * The schema, as migrations in code (so the built server carries them). Each
 * runs once per database, under Kysely's migration lock, so several servers
 * starting together on one PostgreSQL database migrate it once.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  return { ...coreMigrations(dialect), ...extensionMigrations(dialect) };
}

/**
 * Brings the database to the newest schema (or, for tests of a migration, to
 * the one named); throws with the failing migration's error.
 */
export async function migrateToLatest(db: Kysely<unknown>, dialect: Dialect, upTo?: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider });
  const { error, results } = await (upTo === undefined
    ? migrator.migrateToLatest()
    : migrator.migrateTo(upTo));
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const said = error instanceof Error ? error.message : String(error);
    // none failed when the database could not be reached or locked: the migrations did not start
    throw new Error(
      failed === undefined
        ? `the database migrations could not run: ${said}`
        : `database migration ${failed} failed: ${said}`,
      { cause: error },
    );
  }
}
