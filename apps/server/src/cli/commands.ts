import { AccessKeyIdSchema, CredentialDescriptionSchema, NameSchema, RoleSchema } from '@sms/domain';
import * as v from 'valibot';

/**
 * The administrative commands' shapes: how many arguments each takes, which options apply, which
 * are required. Checked before the database is opened, so that a mistyped command or a forgotten
 * option is a usage error (exit 2) that touches nothing: it neither creates a database nor waits
 * for one that cannot be reached.
 */
interface Shape {
  /** the arguments' names, in order; those in brackets are optional */
  args: readonly string[];
  options?: readonly string[];
  required?: readonly string[];
  /** may make the database (the others read or change what exists) */
  makes?: true;
}

const COMMANDS: Record<string, Shape> = {
  'project add': { args: ['NAME'], makes: true },
  'project list': { args: [] },
  'user add': {
    args: ['NAME'],
    options: ['project', 'role', 'password-stdin'],
    required: ['project', 'role'],
    makes: true,
  },
  'user passwd': { args: ['NAME'], options: ['password-stdin'] },
  'user grant': { args: ['NAME'], options: ['project', 'role'], required: ['project', 'role'] },
  'user revoke': { args: ['NAME'], options: ['project'], required: ['project'] },
  'user remove': { args: ['NAME'] },
  'user list': { args: [] },
  'access-key create': { args: ['USER'], options: ['description', 'json'] },
  'access-key list': { args: ['[USER]'] },
  'access-key delete': { args: ['ACCESS_KEY'] },
  'webhook add': { args: ['PROJECT', 'URL'] },
  'webhook list': { args: ['[PROJECT]'] },
  'webhook delete': { args: ['ID'] },
};

/** A command that only reads or changes what exists: on an SQLite database not made yet it has nothing to work on. */
export const needsExistingDatabase = (command: string): boolean => COMMANDS[command]?.makes !== true;

/** What is wrong with an argument's value (by the argument's name), or undefined. */
const VALUES: Record<string, (value: string) => string | undefined> = {
  ACCESS_KEY: (value) =>
    v.is(AccessKeyIdSchema, value)
      ? undefined
      : `${JSON.stringify(value)} is not an access key (20 capital letters and digits)`,
  NAME: (value) => nameProblem(value),
  USER: (value) => nameProblem(value),
  PROJECT: (value) => nameProblem(value),
};

/** What is wrong with an option's value, or undefined (a value that breaks a rule is a usage error, found before the database is opened). */
const OPTION_VALUES: Record<string, (value: string) => string | undefined> = {
  project: (value) => nameProblem(value),
  role: (value) =>
    v.is(RoleSchema, value) ? undefined : `${JSON.stringify(value)}: expected admin, agent or viewer`,
  description: (value) => {
    const length = value.length;
    return v.is(CredentialDescriptionSchema, value)
      ? undefined
      : `of ${length} characters: expected at most 255`;
  },
};

function nameProblem(value: string): string | undefined {
  const parsed = v.safeParse(NameSchema, value);
  return parsed.success ? undefined : `${JSON.stringify(value)}: ${parsed.issues[0].message}`;
}

const FIXES: Record<string, string> = {
  project: '--project P',
  role: '--role admin|agent|viewer',
};

/**
 * The command named by `positionals` (`serve` when none), with its arguments; throws (through
 * `usage`) what is wrong with its shape: an unknown command, an argument too many or missing, an
 * option it does not take or lacks.
 */
export function checkCommand(
  positionals: readonly string[],
  given: Record<string, unknown>,
  usage: (message: string) => Error,
): { command: string; args: string[] } {
  const present = Object.keys(given).filter((option) => given[option] !== undefined);
  if (positionals.length === 0 || positionals[0] === 'serve') {
    const extra = positionals.slice(1);
    if (extra.length > 0) throw usage(`serve takes no argument; unexpected ${JSON.stringify(extra[0])}`);
    if (present.length > 0) throw usage(`serve takes no option --${present[0]}: it reads the environment`);
    return { command: 'serve', args: [] };
  }
  const command = positionals.slice(0, 2).join(' ');
  const shape = COMMANDS[command];
  if (!shape) {
    const group = positionals[0]!;
    const subs = Object.keys(COMMANDS)
      .filter((c) => c.startsWith(`${group} `))
      .map((c) => c.slice(group.length + 1));
    throw usage(
      subs.length > 0
        ? `unknown command ${JSON.stringify(command)}: ${group} takes ${subs.join(', ')}`
        : `unknown command ${JSON.stringify(command)}`,
    );
  }
  const args = positionals.slice(2);
  const least = shape.args.filter((a) => !a.startsWith('[')).length;
  if (args.length < least) throw usage(`${command} needs ${shape.args.slice(args.length)[0]}`);
  if (args.length > shape.args.length)
    throw usage(
      `${command} takes ${shape.args.length === 0 ? 'no argument' : shape.args.join(' ')}; unexpected ${JSON.stringify(args[shape.args.length])}`,
    );
  args.forEach((value, i) => {
    const name = shape.args[i]!.replace(/[[\]]/g, '');
    const problem = VALUES[name]?.(value);
    if (problem) throw usage(`${command} ${name}: ${problem}`);
  });
  const unknown = present.find((option) => !(shape.options ?? []).includes(option));
  if (unknown) throw usage(`${command} takes no option --${unknown}`);
  const missing = (shape.required ?? []).find((option) => given[option] === undefined);
  if (missing) throw usage(`${command} needs ${FIXES[missing] ?? `--${missing}`}`);
  for (const option of present) {
    const value = given[option];
    const problem = typeof value === 'string' ? OPTION_VALUES[option]?.(value) : undefined;
    if (problem) throw usage(`--${option} ${problem}`);
  }
  return { command, args };
}
