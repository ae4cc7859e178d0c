/**
 * `--exclude` patterns, rsync/gitignore-like, matched against the path
 * relative to the verified directory:
 * - a pattern without `/` matches a name at any depth (`*.log`, `cache`);
 * - a pattern with `/` inside or at the start is anchored to the verified directory (`/tmp`, `var/log/*.gz`);
 * - a trailing `/` matches directories only (`node_modules/`);
 * - `*` matches within one name, `**` across names, `?` one character, `[abc]` a class.
 * An excluded directory is left out with everything under it, on both sides.
 */
export interface ExcludeRule {
  pattern: string;
  regex: RegExp;
  dirOnly: boolean;
}

function globToRegex(glob: string): string {
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
      const end = glob.indexOf(']', i + 1);
      if (end === -1) out += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else out += /[.+^${}()|\\]/.test(ch) ? `\\${ch}` : ch;
  }
  return out;
}

/** Compiles the patterns; throws with the pattern named when one is empty. */
export function compileExcludes(patterns: readonly string[]): ExcludeRule[] {
  return patterns.map((pattern) => {
    if (pattern.trim() === '' || pattern === '/')
      throw new Error(`--exclude ${JSON.stringify(pattern)}: an empty pattern would exclude nothing useful`);
    let body = pattern;
    const dirOnly = body.endsWith('/');
    if (dirOnly) body = body.slice(0, -1);
    const anchored = body.includes('/');
    if (body.startsWith('/')) body = body.slice(1);
    const source = anchored ? `^${globToRegex(body)}$` : `(?:^|/)${globToRegex(body)}$`;
    return { pattern, regex: new RegExp(source, 's'), dirOnly };
  });
}

/** True when the relative path (slash-separated) is excluded. */
export function isExcluded(
  rules: readonly ExcludeRule[],
  relativePath: string,
  isDirectory: boolean,
): boolean {
  for (const rule of rules) {
    if (rule.dirOnly && !isDirectory) continue;
    if (rule.regex.test(relativePath)) return true;
  }
  return false;
}
