import { KIND_WORDS, type Kind } from './listing.js';
import { displayPath } from './paths.js';
import type { MetadataField, Mode } from './types.js';

/** What is known of one non-directory entry, from the filesystem or from a manifest. */
export interface FileFacts {
  kind: Kind;
  size?: number;
  /** modification time: whole seconds, exact (from the nanosecond value, never from a rounded double) */
  mtime?: number;
  /** the nanoseconds within that second (0 to 999,999,999) */
  mtimeNs?: number;
  /** a symbolic link's target, as bytes */
  link?: Buffer;
  /** a device's number (`st_rdev`: its major and minor) */
  rdev?: number;
  /** permission bits (mode & 0o7777), owner and group */
  mode?: number;
  uid?: number;
  gid?: number;
}

/** What decides whether two entries match. */
export interface DifferenceRules {
  mode: Mode;
  /** times that differ by at most this many whole seconds are equal (rsync's --modify-window) */
  modifyWindow: number;
  /** ownership and permissions compared as well (none by default, as the SMS agent) */
  metadata: readonly MetadataField[];
}

/** A time for people: ISO 8601 with every nanosecond, `2025-06-20T15:48:29.999999900Z`. */
export function formatTime(seconds: number, nanoseconds = 0): string {
  // beyond a Date's ±275,760 years (a filesystem keeps 64-bit seconds): seconds since the epoch, as `touch -d @S` takes them
  if (Math.abs(seconds) > 8.64e12) {
    // the time is seconds + nanoseconds / 1e9: before the epoch, -S.F means -(S.F)
    const negative = seconds < 0 && nanoseconds > 0;
    const whole = negative ? `-${-seconds - 1}` : String(seconds);
    return `@${whole}.${String(negative ? 1e9 - nanoseconds : nanoseconds).padStart(9, '0')}`;
  }
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, -5)}.${String(nanoseconds).padStart(9, '0')}Z`;
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/** A Linux device number as `ls -l` shows it, `major:minor` (glibc's `gnu_dev_major`/`gnu_dev_minor`). */
export function deviceNumber(rdev: number): string {
  const n = BigInt(rdev);
  const major = ((n & 0xfff00n) >> 8n) | ((n & 0xfffff00000000000n) >> 32n);
  const minor = (n & 0xffn) | ((n & 0xffffff00000n) >> 12n);
  return `${major}:${minor}`;
}

/** Why the ownership or permissions differ, for the fields compared; undefined when they match. */
function describeMetadata(s: FileFacts, t: FileFacts, fields: readonly MetadataField[]): string | undefined {
  const reasons: string[] = [];
  for (const field of fields) {
    // a symbolic link's own mode means nothing on Linux: never compared
    if (field === 'mode' && s.kind === 'symlink') continue;
    const a = s[field];
    const b = t[field];
    if (a === b) continue;
    const show = (value: number | undefined) =>
      value === undefined ? 'unknown' : field === 'mode' ? octal(value) : String(value);
    reasons.push(`${field} ${show(a)} at the source, ${show(b)} at the target`);
  }
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/**
 * Why a directory's own permissions or owner differ between the sides (`--metadata`), or
 * undefined when they match or none is compared. Its time is never compared: creating or removing
 * an entry changes it, and rsync's quick check leaves directories' times out too.
 */
export function describeDirectoryMetadata(
  s: FileFacts,
  t: FileFacts,
  rules: Pick<DifferenceRules, 'metadata'>,
): string | undefined {
  if (rules.metadata.length === 0) return undefined;
  const reason = describeMetadata(s, t, rules.metadata);
  return reason === undefined ? undefined : `directory's own ${reason}`;
}

/**
 * The rules for two non-directory entries: why they differ, `undefined` when
 * they match, or `'content'` when only their bytes can tell (content mode,
 * same size, same metadata).
 */
export function describeDifference(
  s: FileFacts,
  t: FileFacts,
  rules: DifferenceRules,
): string | undefined | 'content' {
  if (s.kind !== t.kind) return `${KIND_WORDS[s.kind]} at the source, ${KIND_WORDS[t.kind]} at the target`;
  if (s.kind === 'symlink') {
    if (!(s.link && t.link && s.link.equals(t.link)))
      return `link target ${displayPath(s.link ?? Buffer.alloc(0))} at the source, ${displayPath(t.link ?? Buffer.alloc(0))} at the target`;
    return rules.metadata.length > 0 ? describeMetadata(s, t, rules.metadata) : undefined;
  }
  // FIFOs, sockets and devices: compared by type, a device by its number (a device of another
  // number is another device), and by metadata; never opened (opening a FIFO blocks). A number
  // unknown on one side (a manifest made before they were written) is not compared.
  if (s.kind !== 'file') {
    if (s.rdev !== undefined && t.rdev !== undefined && s.rdev !== t.rdev)
      return `device ${deviceNumber(s.rdev)} at the source, ${deviceNumber(t.rdev)} at the target`;
    return rules.metadata.length > 0 ? describeMetadata(s, t, rules.metadata) : undefined;
  }
  if (s.size !== t.size) return `size ${s.size} at the source, ${t.size} at the target`;
  if (rules.mode === 'quick' && Math.abs((s.mtime ?? 0) - (t.mtime ?? 0)) > rules.modifyWindow) {
    return `modification time ${formatTime(s.mtime ?? 0, s.mtimeNs)} at the source, ${formatTime(t.mtime ?? 0, t.mtimeNs)} at the target`;
  }
  if (rules.metadata.length > 0) {
    const metadata = describeMetadata(s, t, rules.metadata);
    if (metadata) return metadata;
  }
  if (rules.mode === 'quick') return undefined;
  return s.size === 0 ? undefined : 'content';
}
