/**
 * Path names as bytes, shown to people: what the agent writes in its
 * reports and what the server checks a finding's `path` against. No
 * valibot and no Node APIs here: the agent's workers import it
 * (`@sms/domain/paths`), and it runs in browsers too.
 */
const decoder = new TextDecoder('utf-8', { fatal: true });

/** True when the bytes are valid UTF-8. */
export function isUtf8Bytes(bytes: Uint8Array): boolean {
  try {
    decoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function utf8SequenceLength(bytes: Uint8Array, at: number): number {
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
  return isUtf8Bytes(bytes.subarray(at, at + length)) ? length : 0;
}

/**
 * A path for people and JSON: valid UTF-8 as is; otherwise each byte that is
 * not part of a valid UTF-8 sequence as `\xNN` (and a backslash as `\\`), so
 * that nothing is dropped or mangled and `/` and `.` stay what they are. A
 * finding's `path` is this form of the bytes in its `path_base64`.
 * @example displayPath(new Uint8Array([0x63, 0x61, 0x66, 0xe9])) // 'caf\\xe9'
 */
export function displayPath(bytes: Uint8Array): string {
  if (isUtf8Bytes(bytes)) return decoder.decode(bytes);
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const length = utf8SequenceLength(bytes, i);
    if (length > 0) {
      const piece = decoder.decode(bytes.subarray(i, i + length));
      out += piece === '\\' ? '\\\\' : piece;
      i += length;
    } else {
      out += `\\x${bytes[i]!.toString(16).padStart(2, '0')}`;
      i += 1;
    }
  }
  return out;
}
