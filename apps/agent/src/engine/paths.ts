/**
 * Paths are handled as the bytes the filesystem returns, so a name that is not
 * valid UTF-8 is still compared exactly. These helpers join them and show them.
 */
const SLASH = Buffer.from('/');
const decoder = new TextDecoder('utf-8', { fatal: true });

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

/** True when the bytes are valid UTF-8. */
export function isUtf8(bytes: Buffer): boolean {
  try {
    decoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * A path for people and JSON: valid UTF-8 as is; otherwise each invalid byte
 * as `\xNN` (and a backslash as `\\`), so nothing is dropped or mangled.
 * `pathBase64` gives the exact bytes alongside.
 */
export function displayPath(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const length = utf8SequenceLength(bytes, i);
    if (length > 0) {
      const piece = bytes.subarray(i, i + length).toString('utf8');
      out += piece === '\\' ? '\\\\' : piece;
      i += length;
    } else {
      out += `\\x${bytes[i]!.toString(16).padStart(2, '0')}`;
      i += 1;
    }
  }
  return out;
}

function utf8SequenceLength(bytes: Buffer, at: number): number {
  const first = bytes[at]!;
  const length =
    first < 0x80
      ? 1
      : first >= 0xc2 && first < 0xe0
        ? 2
        : first >= 0xe0 && first < 0xf0
          ? 3
          : first >= 0xf0 && first < 0xf5
            ? 4
            : 0;
  if (length === 0 || at + length > bytes.length) return 0;
  return isUtf8(bytes.subarray(at, at + length)) ? length : 0;
}
