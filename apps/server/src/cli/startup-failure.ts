import { sqliteFile } from '../db/connect.js';
import { CLIENT_ADVICE, causes, sqliteCode, UNREACHABLE } from '../storage/handle.js';

/** Where DATABASE_URL points, without its password. */
function postgresAt(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'the host of DATABASE_URL';
  }
}

/**
 * What a command that failed prints to the operator (stderr): the error's message, what the
 * database said (a storage failure's message gives a client the kind of failure only; the
 * operator's terminal is where its own words belong), and, for the failures one meets at start,
 * what to do.
 */
export function startupFailure(error: unknown, env: NodeJS.ProcessEnv): string {
  const errors = causes(error);
  // a storage failure's advice is for a client of the API, not for the one who starts the server
  const message = (error instanceof Error ? error.message : String(error)).replace(CLIENT_ADVICE, '');
  const lines = [`sms-server: ${message}`];
  const cause = errors[1];
  if (cause instanceof Error && !message.includes(cause.message))
    lines.push(`  the database said: ${cause.message}`);
  const codes = errors
    .map((e) => sqliteCode(e) ?? (e as { code?: unknown })?.code)
    .filter((c) => typeof c === 'string');
  if (env.DATABASE_URL) {
    if (codes.some((c) => UNREACHABLE.has(c)))
      lines.push(
        `  nothing answers at ${postgresAt(env.DATABASE_URL)} (DATABASE_URL): start PostgreSQL there, or correct the URL`,
      );
    else if (codes.includes('3D000'))
      lines.push(`  the database of DATABASE_URL does not exist: create it (createdb), or correct the URL`);
    else if (codes.includes('28P01') || codes.includes('28000'))
      lines.push(`  PostgreSQL refused the user of DATABASE_URL: correct its user and password`);
  } else if (
    codes.some((c) => c.startsWith('SQLITE_READONLY') || c === 'SQLITE_CANTOPEN' || c === 'EACCES')
  ) {
    const file = sqliteFile(env.SMS_DATA_DIR || '.sms-data');
    lines.push(
      `  ${file} (and its directory, for the journal) must be writable by this user (uid ${process.getuid?.() ?? '?'}): run the server as their owner, or give them to this user (chown)`,
    );
  }
  return `${lines.join('\n')}\n`;
}
