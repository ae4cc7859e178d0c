import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExcludeError, ExcludeMatcher, globToRegex, parseExcludeFile, parsePattern } from './exclude.js';

/**
 * The documented semantics, one pattern at a time (the way the agent matched before patterns were
 * compiled together): the compiled matcher must give exactly the same answer for every path.
 */
function reference(patterns: readonly string[]) {
  const rules = patterns.map((pattern) => {
    const p = parsePattern(pattern);
    const source = p.anchored ? `^${globToRegex(p.body)}$` : `(?:^|/)${globToRegex(p.body)}$`;
    return { regex: new RegExp(source, 's'), dirOnly: p.dirOnly };
  });
  return (path: string, isDirectory: boolean) =>
    rules.some((rule) => (!rule.dirOnly || isDirectory) && rule.regex.test(path));
}

const patternChars = fc.constantFrom('a', 'b', 'c', '.', '*', '?', '[', ']', '!', '/', '-', 'x', '**/', '**');
const pattern = fc
  .array(patternChars, { minLength: 1, maxLength: 7 })
  .map((chars) => chars.join(''))
  .filter((p) => p.trim() !== '' && p !== '/');
const name = fc
  .array(fc.constantFrom('a', 'b', 'c', '.', 'x', '-', '!'), { minLength: 1, maxLength: 4 })
  .map((c) => c.join(''));
const path = fc.array(name, { minLength: 1, maxLength: 4 }).map((names) => names.join('/'));

describe('the compiled exclude matcher', () => {
  it('answers exactly as the patterns tried one by one, for any patterns and paths', () => {
    fc.assert(
      fc.property(
        fc.array(pattern, { minLength: 1, maxLength: 12 }),
        fc.array(path, { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (patterns, paths, isDirectory) => {
          let expected: ReturnType<typeof reference>;
          try {
            expected = reference(patterns);
          } catch {
            // a pattern that is no regular expression (a class like [c-a]) is refused, naming it
            expect(() => new ExcludeMatcher(patterns)).toThrow(ExcludeError);
            return;
          }
          const matcher = new ExcludeMatcher(patterns);
          for (const p of paths)
            expect(matcher.matches(p, isDirectory), `${JSON.stringify(patterns)} on ${p}`).toBe(
              expected(p, isDirectory),
            );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it.each([
    // pattern, path, directory?, excluded?
    ['*.log', 'var/log/syslog.log', false, true],
    ['*.log', 'var/log/syslog.log.1', false, false],
    ['cache', 'home/u/cache', true, true],
    ['cache/', 'home/u/cache', false, false],
    ['tmp*', 'a/tmpfile', false, true],
    ['/tmp', 'tmp', true, true],
    ['/tmp', 'a/tmp', true, false],
    ['var/log/*.gz', 'var/log/x.gz', false, true],
    ['var/log/*.gz', 'var/log/old/x.gz', false, false],
    ['**/x', 'a/b/x', false, true],
    ['f[0-9]?.dat', 'd/f12.dat', false, true],
    ['f[!0-9].dat', 'd/f1.dat', false, false],
    // a class is one character of a name: never a '/'
    ['a[!x]b', 'a/b', false, false],
    // a ']' first in a class is one of its characters
    ['[]x]y', 'd/]y', false, true],
  ] as const)('%s against %s (directory: %s): %s', (p, file, isDirectory, excluded) => {
    expect(new ExcludeMatcher([p]).matches(file, isDirectory)).toBe(excluded);
  });

  it('refuses an empty pattern and one that is no pattern, naming it', () => {
    expect(() => new ExcludeMatcher([' '])).toThrow(
      '--exclude " ": an empty pattern would exclude nothing useful',
    );
    expect(() => new ExcludeMatcher(['f[z-a]'])).toThrow(/^--exclude "f\[z-a\]": not a pattern/);
    expect(() => new ExcludeMatcher(['log[[:digits:]]'])).toThrow(
      '--exclude "log[[:digits:]]": not a pattern ([:digits:] is no character class (the classes are alnum, alpha,',
    );
  });

  it('reads POSIX classes in brackets as rsync does ([[:digit:]]), not as the characters [ : d i g t', () => {
    const m = new ExcludeMatcher(['log[[:digit:]]', '*.[![:upper:]]', 'x[[:space:]_]y']);
    expect(m.matches('log1', false)).toBe(true);
    expect(m.matches('a/log7', false)).toBe(true);
    expect(m.matches('logd', false)).toBe(false);
    expect(m.matches('log:]', false)).toBe(false);
    expect(m.matches('f.a', false)).toBe(true);
    expect(m.matches('f.A', false)).toBe(false);
    expect(m.matches('x y', false)).toBe(true);
    expect(m.matches('x_y', false)).toBe(true);
    expect(m.matches('xzy', false)).toBe(false);
  });
});

describe("rsync's rule prefixes and backslashes", () => {
  it('reads "- " as the exclude rule it is for rsync (its --exclude and --exclude-from), the rest the pattern', () => {
    const matcher = new ExcludeMatcher(['- other/', '- *.tmp']);
    expect(matcher.matches('other', true)).toBe(true);
    expect(matcher.matches('a/b.tmp', false)).toBe(true);
    expect(matcher.matches('- other', true)).toBe(false);
    expect(parseExcludeFile('- other/\n- /cache\n', 'rules')).toEqual(['- other/', '- /cache']);
    expect(new ExcludeMatcher(parseExcludeFile('- /cache\n', 'rules')).matches('cache', true)).toBe(true);
    expect(() => new ExcludeMatcher(['- '])).toThrow('an empty pattern would exclude nothing useful');
  });

  it('refuses an include rule ("+ "), which would have left its paths in, with the file and line', () => {
    expect(() => parseExcludeFile('+ keep/\n+ keep/**\n- *\n', 'rules')).toThrow(
      'rules line 1: --exclude "+ keep/": "+ " is rsync\'s include rule, and this agent only excludes: leave it out, or exclude what it would not include',
    );
    expect(() => new ExcludeMatcher(['+ keep'])).toThrow(ExcludeError);
  });

  it('keeps a backslash literal, and refuses one beside wildcards, where rsync reads it as an escape', () => {
    expect(new ExcludeMatcher(['a\\b']).matches('d/a\\b', false)).toBe(true);
    for (const p of ['report\\?', '*\\', '\\n*', 'br\\[ack\\]et'])
      expect(() => new ExcludeMatcher([p]), p).toThrow(
        /a backslash in a pattern with wildcards is rsync's escape/,
      );
    // the way to write a literal wildcard: a class
    expect(new ExcludeMatcher(['report[?]']).matches('report?', false)).toBe(true);
    expect(new ExcludeMatcher(['report[?]']).matches('report1', false)).toBe(false);
  });
});

describe('--exclude-from files', () => {
  it('take one pattern a line, leaving out blank lines, # comments and a CR at the end', () => {
    expect(parseExcludeFile('# logs\n*.log\r\n\n  \ncache/\n#tmp\n/var/tmp\n', 'list')).toEqual([
      '*.log',
      'cache/',
      '/var/tmp',
    ]);
  });

  it('refuse a bad line with its file and number', () => {
    expect(() => parseExcludeFile('*.log\n/\n', 'excludes.txt')).toThrow(
      'excludes.txt line 2: --exclude "/": an empty pattern would exclude nothing useful',
    );
    expect(() => parseExcludeFile('# x\n*.log\nf[z-a]\n', 'excludes.txt')).toThrow(
      /^excludes\.txt line 3: --exclude "f\[z-a\]": not a pattern/,
    );
  });
});
