import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';

/** The data directory: only its owner may list or enter it. */
export const DATA_DIR_MODE = 0o700;
/** The database and its WAL and SHM files: only their owner may read them (they hold the token key). */
export const DATABASE_FILE_MODE = 0o600;

/** A file or directory mode was loosened by someone and is tightened now. */
export interface ModeWarning {
  path: string;
  was: string;
  now: string;
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

/**
 * Tightens `path` to `mode` when others (group or world) may use it, and
 * returns what it did; refuses, naming the fix, when it cannot (another
 * user owns the path).
 */
function tighten(path: string, mode: number): ModeWarning | undefined {
  const was = statSync(path).mode & 0o777;
  if ((was & ~mode & 0o777) === 0) return undefined;
  try {
    chmodSync(path, mode);
  } catch (error) {
    throw new Error(
      `${path} is readable by other users (mode ${octal(was)}) and cannot be tightened (${(error as Error).message}): run \`chmod ${octal(mode).slice(1)} ${path}\` as its owner, or choose a data directory of your own with SMS_DATA_DIR`,
      { cause: error },
    );
  }
  return { path, was: octal(was), now: octal(mode) };
}

/**
 * Makes the data directory (0700) and the database file (0600) before
 * SQLite opens it, so the key that signs tokens is never readable by other
 * local users; a directory or file left readable by others (an older
 * version made them 0755 and 0644) is tightened, and each tightening is
 * returned for the caller to log. SQLite creates the WAL and SHM files with
 * the database file's mode; loose ones from before are tightened too.
 */
export function secureDataFiles(dataDir: string, databaseFile: string): ModeWarning[] {
  mkdirSync(dataDir, { recursive: true, mode: DATA_DIR_MODE });
  if (!existsSync(databaseFile)) closeSync(openSync(databaseFile, 'a', DATABASE_FILE_MODE));
  const warnings = [tighten(dataDir, DATA_DIR_MODE), tighten(databaseFile, DATABASE_FILE_MODE)];
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(databaseFile + suffix)) warnings.push(tighten(databaseFile + suffix, DATABASE_FILE_MODE));
  }
  return warnings.filter((w): w is ModeWarning => w !== undefined);
}
