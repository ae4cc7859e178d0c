/**
 * Exclude patterns (`--exclude`, a task's `CONSISTENCY_EXCLUDE`), rsync-like, each taken apart
 * and checked here: the agent compiles them into its matcher (apps/agent/src/engine/exclude.ts),
 * and the server refuses at configuration time a pattern the agent would refuse at every run.
 * Served at `@sms/domain/exclude`, without valibot (the agent starts faster).
 */

/** A pattern that cannot be used; the message names it. */
export class ExcludeError extends Error {
  override name = 'ExcludeError';
  /** What is wrong, without the pattern's name (a configuration names it its own way). */
  readonly reason: string;
  constructor(message: string, reason = message) {
    super(message);
    this.reason = reason;
  }
}

/** The pattern refused, for `reason`: `--exclude "…": reason`. */
function refused(pattern: string, reason: string): ExcludeError {
  return new ExcludeError(`--exclude ${JSON.stringify(pattern)}: ${reason}`, reason);
}

/** The regular expression source of a glob (without anchors). */
export function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more directories; `**` anywhere else anything
        if (glob[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else out += '[^/]*';
    } else if (ch === '?') out += '[^/]';
    else if (ch === '[') {
      const set = bracket(glob, i);
      if (set === undefined) out += '\\[';
      else {
        // a class never matches `/`, as in rsync: it stands for one character of a name
        out += `(?!/)[${set.negated ? '^' : ''}${set.body}]`;
        i = set.end;
      }
    } else out += /[.+^${}()|\\]/.test(ch) ? `\\${ch}` : ch;
  }
  return out;
}

/** POSIX character classes (`[[:digit:]]`), as rsync's wildmatch reads them, in ASCII. */
const POSIX_CLASSES: Record<string, string> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  blank: ' \\t',
  cntrl: '\\x00-\\x1f\\x7f',
  digit: '0-9',
  graph: '\\x21-\\x7e',
  lower: 'a-z',
  print: '\\x20-\\x7e',
  punct: '!-\\/:-@\\[-`{-~',
  space: ' \\t\\n\\v\\f\\r',
  upper: 'A-Z',
  xdigit: '0-9A-Fa-f',
};

/**
 * The bracket expression that opens at `glob[open]`, as the body of a regular expression's class,
 * and where it ends; undefined when it is not closed (the `[` is then a literal). A `]` first in it
 * (after `!` or `^`) is one of its characters, as in fnmatch; `[:name:]` is a POSIX class.
 */
function bracket(glob: string, open: number): { body: string; negated: boolean; end: number } | undefined {
  let i = open + 1;
  const negated = glob[i] === '!' || glob[i] === '^';
  if (negated) i++;
  let body = '';
  for (let first = true; i < glob.length; first = false, i++) {
    const ch = glob[i]!;
    if (ch === ']' && !first) return { body, negated, end: i };
    if (ch === '[' && glob[i + 1] === ':') {
      const close = glob.indexOf(':]', i + 2);
      if (close !== -1) {
        const name = glob.slice(i + 2, close);
        const chars = POSIX_CLASSES[name];
        if (chars === undefined)
          throw new SyntaxError(
            `[:${name}:] is no character class (the classes are ${Object.keys(POSIX_CLASSES).join(', ')})`,
          );
        body += chars;
        i = close + 1;
        continue;
      }
    }
    body += ch === '\\' || ch === ']' || ch === '[' || ch === '^' ? `\\${ch}` : ch;
  }
  return undefined;
}

/** One pattern taken apart: what it is matched against, and whether it applies to directories only. */
export interface ParsedPattern {
  pattern: string;
  /** the glob without its leading and trailing `/` */
  body: string;
  /** matched against the whole relative path (else against a name at any depth) */
  anchored: boolean;
  dirOnly: boolean;
}

/** Takes a pattern apart; throws `ExcludeError` naming it when it is empty or no pattern at all. */
export function parsePattern(pattern: string): ParsedPattern {
  // rsync's rule prefixes, which its --exclude and --exclude-from read: `- ` excludes the rest
  if (pattern.startsWith('+ '))
    throw refused(
      pattern,
      `"+ " is rsync's include rule, and this agent only excludes: leave it out, or exclude what it would not include`,
    );
  const rule = pattern.startsWith('- ') ? pattern.slice(2) : pattern;
  if (rule.trim() === '' || rule === '/')
    throw refused(pattern, `an empty pattern would exclude nothing useful`);
  // rsync reads a backslash in a pattern with wildcards as an escape (`\?` a literal ?), and a
  // literal one elsewhere; here it is always literal: refused where the two would differ
  if (rule.includes('\\') && GLOB_CHARS.test(rule))
    throw refused(
      pattern,
      `a backslash in a pattern with wildcards is rsync's escape, which this agent does not read: write a literal *, ? or [ as a class ([*], [?], [[]), without a backslash`,
    );
  let body = rule;
  const dirOnly = body.endsWith('/');
  if (dirOnly) body = body.slice(0, -1);
  const anchored = body.includes('/');
  if (body.startsWith('/')) body = body.slice(1);
  // only a class (`[z-a]`) can make a glob that is no regular expression
  try {
    if (body.includes('[')) new RegExp(globToRegex(body));
  } catch (error) {
    throw refused(pattern, `not a pattern (${(error as Error).message})`);
  }
  return { pattern, body, anchored, dirOnly };
}

/** The characters that make a pattern a glob. */
export const GLOB_CHARS = /[*?[]/;
