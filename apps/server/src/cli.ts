import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { RequestValidationError, type Role } from '@sms/domain';
import { accessKeyCommand } from './cli/access-key.js';
import { checkCommand, needsExistingDatabase } from './cli/commands.js';
import { startupFailure } from './cli/startup-failure.js';
import { webhookCommand } from './cli/webhook.js';
import { randomPassword } from './crypto/password.js';
import { sqliteFile } from './db/connect.js';
import { ConfigError, loadConfig, type ServerConfig } from './env.js';
import { createLogger } from './logger.js';
import { type RunningServer, startServer } from './server.js';
import { AuthService } from './services/auth-service.js';
import { UserService } from './services/user-service.js';
import { Storage } from './storage/storage.js';
import { SERVER_VERSION } from './version.js';

const HELP = `sms-server ${SERVER_VERSION}: records consistency verification results (Huawei Cloud SMS v3 API)

Usage:
  sms-server [serve]                          start the server (the web dashboard is at /ui)
  sms-server project add NAME                 create a project
  sms-server project list                     list projects
  sms-server user add NAME --project P --role admin|agent|viewer [--password-stdin]
                                              create a user with a role in a project
  sms-server user passwd NAME [--password-stdin]
                                              set a new password (revokes the user's tokens)
  sms-server user grant NAME --project P --role R
                                              give a user a role in another project
  sms-server user revoke NAME --project P     take a user out of a project
  sms-server user remove NAME                 delete a user (revokes the user's tokens)
  sms-server user list                        list users and their roles
  sms-server access-key create USER [--description TEXT] [--json]
                                              make an access key (AK/SK) for signed requests; the
                                              secret key is printed this once (--json: the API's body)
  sms-server access-key list [USER]           list access keys (never their secrets)
  sms-server access-key delete ACCESS_KEY     delete an access key (refused from the next request on)
  sms-server webhook add PROJECT URL         send the project's events (a task's verdict changed, a
                                              verification failed) to URL, signed; the secret is printed once
  sms-server webhook list [PROJECT]           list webhooks (never their secrets)
  sms-server webhook delete ID                delete a webhook and its undelivered events
  sms-server decode MESSAGE                   read the reason inside a 403's encoded_authorization_message

Passwords: with --password-stdin the first line of standard input; without it a random
password is generated and printed once. Passwords are never taken as arguments.

Environment (every command):
  PORT                          port to listen on (default 8080)
  HOST                          address to listen on (default 127.0.0.1)
  SMS_DATA_DIR                  data directory of the embedded SQLite database (default ./.sms-data)
                                (made 0700, the database 0600; looser ones are tightened with a warning)
  DATABASE_URL                  postgres:// URL: use PostgreSQL instead of SQLite
  SMS_ADMIN_PASSWORD            password of the first user, admin, on an empty database
                                (default: a random one, printed once to stderr)
  SMS_TOKEN_TTL_SECONDS         token lifetime (default 86400: 24 h)
  SMS_SHUTDOWN_TIMEOUT_SECONDS  how long SIGTERM waits for requests in flight; a second before it,
                                their connections are cut (default 10)
  SMS_LOG_LEVEL                 debug|info|warn|error|silent (default info; the listening line
                                is written at every level)
  SMS_SQLITE_DRIVER             auto|better-sqlite3|node-sqlite (default auto: node:sqlite on Node 24+)
  SMS_METRICS                   1: serve GET /metrics (Prometheus) on the API port (default 0: off)
  SMS_SCHEDULER_SECONDS         how often task schedules are looked at (default 30)
  SMS_PUBLIC_URL                the dashboard's URL as people open it, for webhook events' links
                                (default the listening URL)
  SMS_TRUSTED_PROXIES           reverse proxies (addresses or networks, comma-separated) whose
                                X-Forwarded-For names the client for sign-in limits (default none)
  SMS_WEBHOOK_ADDRESSES         private|public: where webhooks may post (default private: public
                                addresses and this server's networks; public: public ones only;
                                link-local and cloud metadata addresses never)

Exit status: 0 done, 1 the command failed, 2 a usage or configuration error.`;

class UsageError extends Error {}

async function readPassword(fromStdin: boolean): Promise<{ password: string; generated: boolean }> {
  if (!fromStdin) return { password: randomPassword(), generated: true };
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return { password: line, generated: false };
  }
  throw new UsageError('--password-stdin: standard input was empty');
}

async function serve(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  let server: RunningServer | undefined;
  let stopping: string | undefined;
  const stop = (signal: string) => {
    if (stopping) return logger.info('already shutting down', { signal });
    stopping = signal;
    // a signal during the start is acted on once the server is up (see below)
    if (!server) return;
    logger.info('shutting down', { signal });
    const timer = setTimeout(() => {
      // connections still open were cut a second before (server.ts); this is the stop itself hanging
      logger.error('the stop did not finish by the shutdown timeout; exiting', {
        timeout_seconds: config.shutdownTimeoutSeconds,
      });
      process.exit(1);
    }, config.shutdownTimeoutSeconds * 1000);
    timer.unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { error: String(error) });
        process.exit(1);
      },
    );
  };
  // Set before the start: a supervisor may send SIGTERM as soon as it reads the listening line.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  server = await startServer(config, logger, {
    announcePassword: (password) =>
      process.stderr.write(
        `\nFirst start: created user "admin" in project "default" with password:\n\n    ${password}\n\nIt is shown only this once. Change it with: sms-server user passwd admin --password-stdin\n\n`,
      ),
  });
  if (stopping) {
    const signal = stopping;
    stopping = undefined;
    stop(signal);
  }
}

async function withStorage<T>(
  work: (storage: Storage, config: ServerConfig) => Promise<T>,
  options: { mustExist?: string } = {},
): Promise<T> {
  const config = loadConfig();
  // a command that reads or changes what exists, on an SQLite database not made yet (a mistyped SMS_DATA_DIR, say)
  if (options.mustExist && config.databaseUrl === undefined && !existsSync(sqliteFile(config.dataDir)))
    throw new Error(
      `no database at ${sqliteFile(config.dataDir)}, so sms-server ${options.mustExist} has nothing to work on: give the data directory the server runs with (SMS_DATA_DIR), or its DATABASE_URL; the server makes its database when it first starts`,
    );
  const storage = await Storage.open({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    sqliteDriver: config.sqliteDriver,
  });
  for (const { path, was, now } of storage.tightened) {
    process.stderr.write(
      `warning: ${path} was readable by other users (mode ${was}); tightened it to ${now}\n`,
    );
  }
  try {
    return await work(storage, config);
  } finally {
    await storage.close();
  }
}

/**
 * `decode MESSAGE`: the message is taken verbatim, never as options. It is base64url, so one in 64
 * starts with `-`, which option parsing would refuse as an unknown option. `--` before it is allowed.
 */
async function decode(args: string[]): Promise<void> {
  const [message, ...extra] = args[0] === '--' ? args.slice(1) : args;
  if (message === undefined) throw new UsageError('missing MESSAGE');
  if (extra.length > 0)
    throw new UsageError(`decode takes one MESSAGE; unexpected argument ${JSON.stringify(extra[0])}`);
  const decoded = await withStorage(
    async (storage, config) =>
      (await AuthService.create(storage, { tokenTtlSeconds: config.tokenTtlSeconds })).decodeDetails(
        message.trim(),
      ),
    { mustExist: 'decode' },
  );
  if (!decoded)
    throw new Error('the message was not made by this server (another database or key), or was altered');
  process.stdout.write(`${JSON.stringify(decoded, null, 2)}\n`);
}

/**
 * An administrative command's standard output that cannot be written (a reader gone, as with
 * `| head`; a full disk): the command goes on to its end (the database closed), says what was not
 * shown, and fails (exit 1). Not for `serve`, whose log a supervisor reads: as before, it stops.
 */
function watchOutput(): void {
  let failed = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (!failed)
      process.stderr.write(
        `sms-server: cannot write to standard output (${error.code ?? error.message}): what the command printed is incomplete (a secret shown only once, if any, is lost: make a new one)\n`,
      );
    failed = true;
  });
  process.on('exit', (code) => {
    if (failed && code === 0) process.exitCode = 1;
  });
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'decode' && argv[1] !== '--help' && argv[1] !== '-h') {
    watchOutput();
    return decode(argv.slice(1));
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      project: { type: 'string' },
      role: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      description: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  const { help, version, ...options } = values;
  if (help) return void process.stdout.write(`${HELP}\n`);
  if (version) return void process.stdout.write(`${SERVER_VERSION}\n`);
  // the command's shape is checked before the database is opened: a usage error touches nothing
  const { command, args } = checkCommand(positionals, options, (message) => new UsageError(message));
  if (command === 'serve') return serve();
  watchOutput();
  const [group, sub] = command.split(' ') as [string, string];
  // present and valid: checkCommand saw to the arguments, the required options and their values
  // (an optional argument, as access-key list's USER, stays undefined when not given)
  const [name, second] = args;
  const named = name as string;
  const project = values.project as string;
  const role = values.role as Role;
  const mustExist = needsExistingDatabase(command) ? command : undefined;
  await withStorage(
    async (storage, config) => {
      const users = new UserService(storage);
      const say = (line: string) => process.stdout.write(`${line}\n`);
      if (group === 'webhook') {
        return webhookCommand(storage, sub, name, second, say, (message) => new UsageError(message), {
          addresses: config.webhookAddresses,
        });
      }
      if (group === 'access-key') {
        return accessKeyCommand(storage, sub, name, values, say, (message) => new UsageError(message));
      }
      switch (command) {
        case 'project add':
          await users.addProject(named);
          return say(`created project ${name}`);
        case 'project list':
          for (const p of await users.listProjects()) say(`${p.name}\t${p.id}`);
          return;
        case 'user add': {
          const { password, generated } = await readPassword(values['password-stdin'] ?? false);
          await users.addUser(named, password, project, role);
          say(`created user ${named} with role ${role} in project ${project}`);
          if (generated) say(`password (shown once): ${password}`);
          return;
        }
        case 'user passwd': {
          const { password, generated } = await readPassword(values['password-stdin'] ?? false);
          await users.setPassword(named, password);
          say(`changed the password of ${named}; its earlier tokens no longer work`);
          if (generated) say(`password (shown once): ${password}`);
          return;
        }
        case 'user grant': {
          await users.grant(named, project, role);
          return say(`${named} is ${role} in project ${project}`);
        }
        case 'user revoke': {
          await users.revoke(named, project);
          return say(`${named} is no longer in project ${project}`);
        }
        case 'user remove':
          await users.removeUser(named);
          return say(`removed user ${name}; its tokens no longer work`);
        case 'user list':
          for (const u of await users.listUsers()) {
            say(
              `${u.name}\t${u.memberships.map((m) => `${m.project_name}:${m.role}`).join(',') || '(no project)'}`,
            );
          }
          return;
        default:
          throw new UsageError(`unknown command ${JSON.stringify(command)}`);
      }
    },
    mustExist === undefined ? {} : { mustExist },
  );
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (
    error instanceof UsageError ||
    error instanceof ConfigError ||
    // a value given on the command line or its input that breaks a rule (a password too short)
    error instanceof RequestValidationError ||
    (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  ) {
    process.stderr.write(`sms-server: ${(error as Error).message}\nRun sms-server --help for usage.\n`);
    process.exit(2);
  }
  process.stderr.write(startupFailure(error, process.env));
  process.exit(1);
});
