/**
 * Paths are handled as the bytes the filesystem returns, so a name that is not
 * valid UTF-8 is still compared exactly. These helpers join them and show them.
 */
const SLASH = Buffer.from('/');

/** Strings stay strings (the fast path); a name that is not UTF-8 makes the path bytes. */
export function joinPath(dir: string | Buffer, name: string | Buffer): string | Buffer {
  if (dir.length === 0) return name;
  if (name.length === 0) return dir;
  if (typeof dir === 'string' && typeof name === 'string') return `${dir}/${name}`;
  return Buffer.concat([
    typeof dir === 'string' ? Buffer.from(dir) : dir,
    SLASH,
    typeof name === 'string' ? Buffer.from(name) : name,
  ]);
}

/**
 * `isUtf8` and `displayPath` (a path for people and JSON: valid UTF-8 as is;
 * otherwise each invalid byte as `\xNN`, and a backslash as `\\`) are the
 * domain's, which the server checks a finding's `path` against.
 */
export { displayPath, isUtf8Bytes as isUtf8 } from '@sms/domain/paths';
