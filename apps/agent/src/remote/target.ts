/**
 * Targets reached over ssh: `ssh://[user@]host[:port]/path` and rsync's
 * `[user@]host:path`, and the `--ssh` command that reaches them.
 */

export interface RemoteTarget {
  /** What ssh is given as the destination: `host` or `user@host`. */
  destination: string;
  /** The port of an `ssh://` target, if it names one. */
  port?: number;
  /** The directory on the remote host: absolute, or relative to the remote user's home ('' for the home itself). */
  path: string;
  /** How messages name the target: `user@host:path`, or `ssh://user@host:port/path` for one with a port. */
  display: string;
}

/** A bad remote target, or verification over ssh that cannot go on: the message says what to do (exit 2). */
export class RemoteError extends Error {
  override name = 'RemoteError';
}

const HOST = /^(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.%A-Za-z]+\])$/;
// an `@` is the user's own (`me@corp.example@host`: ssh splits at the last one, as here)
const USER = /^[^/:\s]+$/;

/**
 * The remote target `value` names, or undefined when it is a local path. As
 * rsync: a colon before any slash makes `host:path` (so a local directory
 * whose name has a colon is given as `./a:b`).
 */
export function parseRemoteTarget(value: string): RemoteTarget | undefined {
  if (value.startsWith('ssh://')) return parseUrl(value);
  // SSH://, rsync://, sftp://…: read as rsync's form, a host named `rsync` and the path `//host/…`
  // (a host's own name before :// stays rsync's form, host:/path written with one slash too many)
  const scheme = /^(ssh|rsync|sftp|scp|https?|ftp|file|smb|nfs):\/\//i.exec(value)?.[1];
  if (scheme !== undefined)
    throw new RemoteError(
      `--target ${value}: ${scheme}:// is not a way this agent reaches a target: give ssh://[user@]host[:port]/path (in lower case), or host:path`,
    );
  // an IPv6 address in brackets holds colons of its own: the one that counts follows the bracket
  const bracket = value.indexOf('[');
  const first = value.indexOf(':');
  const colon = bracket !== -1 && bracket < first ? value.indexOf(']:', bracket) + 1 : first;
  const slash = value.indexOf('/');
  if (colon <= 0 || (slash !== -1 && slash < colon)) return undefined;
  const authority = value.slice(0, colon);
  const path = value.slice(colon + 1);
  const { user, host } = splitAuthority(authority, value, true);
  return {
    destination: destinationOf(user, host),
    path,
    display: `${user ? `${user}@` : ''}${host}:${path}`,
  };
}

/** What ssh is given: an IPv6 address without its brackets (ssh would look `[::1]` up as a name). */
function destinationOf(user: string | undefined, host: string): string {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  return user ? `${user}@${bare}` : bare;
}

function splitAuthority(
  authority: string,
  value: string,
  colonForm = false,
  decode: (part: string) => string = (part) => part,
): { user?: string; host: string } {
  const at = authority.lastIndexOf('@');
  const user = at === -1 ? undefined : decode(authority.slice(0, at));
  const host = decode(authority.slice(at + 1));
  if (user !== undefined && !USER.test(user))
    throw new RemoteError(`--target ${value}: "${user}" is not a user name`);
  if (!HOST.test(host))
    throw new RemoteError(
      `--target ${value}: "${host}" is not a host name (give host:path, user@host:path or ssh://user@host:port/path${colonForm ? '; a local directory whose name has a colon: ./NAME' : ''})`,
    );
  // a host name that ssh would read as an option
  if (host.startsWith('-')) throw new RemoteError(`--target ${value}: a host name cannot start with -`);
  return user === undefined ? { host } : { user, host };
}

/** `ssh://[user@]host[:port]/path`: `/path` is absolute; `/~/path` is below the remote home. */
function parseUrl(value: string): RemoteTarget {
  const rest = value.slice('ssh://'.length);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  let path = slash === -1 ? '' : decodeURIComponentSafe(rest.slice(slash), value);
  if (path === '/~' || path.startsWith('/~/')) path = path.slice(3);
  // git reads ssh://host/~user/… as below that user's home; neither ssh nor the remote shell expands it here
  else if (/^\/~[^/]/.test(path))
    throw new RemoteError(
      `--target ${value}: ~user is not expanded here: give the directory from / (ssh://host/home/user/DIR), or below the login user's home (ssh://host/~/DIR)`,
    );
  let hostPort = authority;
  let port: number | undefined;
  const portMatch = /^(.*?):(\d*)$/.exec(authority);
  if (portMatch && !authority.endsWith(']')) {
    hostPort = portMatch[1]!;
    if (portMatch[2] !== '') {
      port = Number(portMatch[2]);
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new RemoteError(`--target ${value}: the port must be 1..65535`);
    }
  }
  if (hostPort === '') throw new RemoteError(`--target ${value}: no host (give ssh://host/path)`);
  // a URL's user and host are %-escaped (`me%40corp.example`, a zone `[fe80::1%25eth0]`)
  const { user, host } = splitAuthority(hostPort, value, false, (part) =>
    decodeURIComponentSafe(part, value, 'host'),
  );
  const named = `${user ? `${user}@` : ''}${host}`;
  return {
    destination: destinationOf(user, host),
    ...(port === undefined ? {} : { port }),
    path,
    // with a port, as a URL: `host:2222:/srv` pasted back as --target would be `2222:/srv` below the home
    display:
      port === undefined
        ? `${named}:${path}`
        : `ssh://${named.replaceAll('%', '%25')}:${port}${urlPath(path)}`,
  };
}

/**
 * A path on the remote host as an `ssh://` URL's: absolute, `/~/…` below the home, or nothing for
 * the home; a `%` written `%25`, so that the URL given back is the same path.
 */
function urlPath(path: string): string {
  const escaped = path.replaceAll('%', '%25');
  return escaped === '' || escaped.startsWith('/') ? escaped : `/~/${escaped}`;
}

/**
 * `path` on the target's host, named as the target was (`user@[::1]:PATH`; with the port of an
 * `ssh://` target, as a URL: `ssh://host:2222/PATH`); `''` gives the host alone (`user@[::1]`,
 * `ssh://host:2222`).
 */
export function displayAt(target: RemoteTarget, path: string): string {
  const { display, path: given } = target;
  if (display.startsWith('ssh://') && display.endsWith(urlPath(given))) {
    const host = display.slice(0, display.length - urlPath(given).length);
    return `${host}${urlPath(path)}`;
  }
  // as parseRemoteTarget makes it: the display ends with the path given, after a colon
  const host = display.endsWith(`:${given}`)
    ? display.slice(0, display.length - given.length - 1)
    : target.destination;
  return path === '' ? host : `${host}:${path}`;
}

function decodeURIComponentSafe(part: string, value: string, what: 'path' | 'host' = 'path'): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RemoteError(
      `--target ${value}: the ${what === 'path' ? 'path' : 'user or host'} has a bad %-escape (a % itself is %25)`,
    );
  }
}

/**
 * The `--ssh` command as words, as rsync's `-e`: split on blanks, with
 * single quotes, double quotes and backslashes as a shell has them (no
 * variables, no globs).
 */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < command.length && '"\\$`'.includes(command[i + 1]!))
        word += command[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new RemoteError(`--ssh ${command}: a quote is not closed`);
  if (inWord) words.push(word);
  if (words.length === 0)
    throw new RemoteError('--ssh is empty: give the ssh command, e.g. --ssh "ssh -p 2222"');
  return words;
}

/**
 * One word for the remote user's login shell, which reads the remote command line: single quotes
 * for a POSIX shell (sh, bash, dash, zsh, busybox); a `!` is put outside them, escaped, as csh and
 * tcsh (some hosts' login shell) expand history even inside single quotes (`'*.['\!'c]'`).
 */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`).replaceAll('!', `'\\!'`)}'`;
}

/**
 * A word for the remote command line, which the remote user's login shell reads before `sh -c`
 * runs the agent's script: a backslash and the control characters (a newline, a tab…) are written
 * `\0ooo` (octal), then the word is quoted as `shellQuote` does. fish reads `\\` and `\'` inside
 * single quotes as escapes, and csh and tcsh refuse a newline inside them (and run what follows it
 * as a command); `DECODE_REMOTE_WORDS`, at the start of the script, gives each word back.
 */
export function remoteWord(word: string): string {
  return shellQuote(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it encodes
    word.replace(/[\\\x00-\x1f\x7f]/g, (c) => `\\0${c.charCodeAt(0).toString(8).padStart(3, '0')}`),
  );
}

/**
 * POSIX sh: each positional parameter written by `remoteWord` given back as it was (one with a
 * backslash is one it encoded: every backslash of the word itself is encoded). Holds no `\\` and
 * no `\'`, which fish would read as escapes inside the script's own quotes.
 */
export const DECODE_REMOTE_WORDS =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell, not a template
  'b=$(printf %b \'\\0134\'); case "$*" in *"$b"*) n=$#; for e in "$@"; do case $e in *"$b"*) e=$(printf \'%bx\' "$e"); e=${e%x};; esac; set -- "$@" "$e"; done; shift $n;; esac';
