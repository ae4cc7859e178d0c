import { type Dirent, fstatSync, lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import type { FileFacts } from './difference.js';
import { devicesMayReadZero } from './filesystems.js';
import { joinPath } from './paths.js';
import {
  kindOf,
  kindOfDirentType,
  kindOfMode,
  probeRawLstat,
  probeRawReaddir,
  STAT,
  STAT_FIELDS,
} from './raw-lstat.js';

export { kindOf };

export type Kind =
  | 'file'
  | 'dir'
  | 'symlink'
  | 'fifo'
  | 'socket'
  | 'char-device'
  | 'block-device'
  | 'unknown';

/** A name or path: a string when its bytes are valid UTF-8 (fast), else the exact bytes. */
export type Name = string | Buffer;

export interface Entry {
  name: Name;
  kind: Kind;
}

export const KIND_WORDS: Record<Kind, string> = {
  file: 'file',
  dir: 'directory',
  symlink: 'symbolic link',
  fifo: 'FIFO',
  socket: 'socket',
  'char-device': 'character device',
  'block-device': 'block device',
  unknown: 'unknown entry',
};

export type Listing = { ok: true; entries: Entry[] } | { ok: false; missing: boolean; reason: string };

export function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException)?.code ?? (error instanceof Error ? error.message : String(error));
}

/**
 * An error's words once, then its code: `permission denied (EACCES)`. Node's
 * own message (`EACCES: permission denied, open '/x'`) repeats the code and the
 * path, which the report already names.
 */
export function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (!code) return message;
  const words = new RegExp(`^${code}: ([^,]+)`).exec(message)?.[1];
  // a stream's write says only `write EPIPE`
  if (!words && code === 'EPIPE') return 'the reading end of the pipe was closed (EPIPE)';
  return words ? `${words} (${code})` : code;
}

const REPLACEMENT = '\uFFFD';

/**
 * Lists a directory sorted by name. Names are read as strings, which is
 * fastest; a name that is not valid UTF-8 decodes with U+FFFD in it, and then
 * the directory is read again as bytes (`bytes: true`), so that every name is
 * exact. `needsBytes` says a string listing met such a name.
 */
function list(path: Name, bytes: boolean): Listing | { ok: true; needsBytes: true } {
  try {
    if (rawReaddir) {
      const [names, types] = rawReaddir(path, bytes);
      return listed(path, names, types, bytes);
    }
    if (bytes) {
      const dirents = readdirSync(path, { withFileTypes: true, encoding: 'buffer' }) as Dirent<Buffer>[];
      const entries = dirents.map((d) => ({ name: d.name, kind: kindOf(d) }));
      entries.sort((a, b) => Buffer.compare(a.name, b.name));
      return { ok: true, entries };
    }
    const dirents = readdirSync(path, { withFileTypes: true }) as Dirent[];
    const entries: Entry[] = new Array(dirents.length);
    for (let i = 0; i < dirents.length; i++) {
      const d = dirents[i]!;
      if (d.name.includes(REPLACEMENT)) return { ok: true, needsBytes: true };
      entries[i] = { name: d.name, kind: kindOf(d) };
    }
    entries.sort((a, b) => compareNames(a.name, b.name));
    return { ok: true, entries };
  } catch (error) {
    const code = errorCode(error);
    return { ok: false, missing: code === 'ENOENT' || code === 'ENOTDIR', reason: describeError(error) };
  }
}

/**
 * A listing from a directory's names and their types (`UV_DIRENT_*`, `raw-lstat.ts`): an entry
 * whose type the filesystem did not give is `lstat`ed here (without a `Stats` where the fast
 * `lstat` is used), and left out when it is gone meanwhile, unless the directory is gone too
 * (ENOENT, as `fs.readdirSync` throws); other failures of that `lstat` throw, as it does.
 */
export function listed(
  path: Name,
  names: readonly Name[],
  types: readonly number[],
  bytes: boolean,
): Listing | { ok: true; needsBytes: true } {
  const entries: Entry[] = new Array(names.length);
  let n = 0;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (!bytes && (name as string).includes(REPLACEMENT)) return { ok: true, needsBytes: true };
    let kind = kindOfDirentType(types[i]!);
    if (kind === undefined) {
      const values = lstatValues(joinPath(path, name));
      if (!values) {
        // gone since it was listed; or the directory is (then every entry is): it is missing
        if (!statSync(path, { throwIfNoEntry: false })?.isDirectory())
          throw Object.assign(new Error(`ENOENT: no such file or directory, scandir '${String(path)}'`), {
            code: 'ENOENT',
          });
        continue;
      }
      kind = kindOfMode(values[STAT.mode]!);
    }
    entries[n++] = { name, kind };
  }
  entries.length = n;
  if (bytes) entries.sort((a, b) => Buffer.compare(a.name as Buffer, b.name as Buffer));
  else entries.sort((a, b) => compareNames(a.name, b.name));
  return { ok: true, entries };
}

/** Lists one directory; falls back to bytes when a name needs them. */
export function listOne(path: Name, bytes: boolean): Listing {
  const first = list(path, bytes);
  return 'needsBytes' in first ? (list(path, true) as Listing) : first;
}

/** Lists both sides in the same form (strings, or bytes when either side needs them), so they merge in one order. */
export function listBoth(source: Name, target: Name, bytes: boolean): { source: Listing; target: Listing } {
  const s = list(source, bytes);
  const t = list(target, bytes);
  if ('needsBytes' in s || 'needsBytes' in t) {
    return { source: list(source, true) as Listing, target: list(target, true) as Listing };
  }
  return { source: s, target: t };
}

/** One order for names: code units for strings, bytes when either is bytes (then both sides are bytes). */
export function compareNames(a: Name, b: Name): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(toBytes(a), toBytes(b));
}

export function toBytes(name: Name): Buffer {
  return typeof name === 'string' ? Buffer.from(name) : name;
}

/** The side whose read failed, for the reason a file could not be verified. */
export class SideError extends Error {
  constructor(
    readonly side: 'source' | 'target',
    /** what went wrong, e.g. `permission denied (EACCES)` */
    readonly problem: string,
  ) {
    super(`cannot read the ${side}: ${problem}`);
  }
}

/** A file that was listed but is gone when it is read. */
export class VanishedError extends Error {
  constructor(readonly side: 'source' | 'target') {
    super(`${side} vanished`);
  }
}

/** A failed read of one side as the verifier counts it: gone (`VanishedError`) or unreadable (`SideError`). */
export function sideError(which: 'source' | 'target', error: unknown): VanishedError | SideError {
  return errorCode(error) === 'ENOENT'
    ? new VanishedError(which)
    : new SideError(which, describeError(error));
}

export function side<T>(which: 'source' | 'target', work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw sideError(which, error);
  }
}

const NS_PER_SECOND = 1_000_000_000n;

/** Whole seconds and nanoseconds of a time in nanoseconds, exact (floored, also before 1970). */
export function splitNanoseconds(ns: bigint): { seconds: number; nanoseconds: number } {
  let seconds = ns / NS_PER_SECOND;
  let rest = ns % NS_PER_SECOND;
  if (rest < 0n) {
    seconds -= 1n;
    rest += NS_PER_SECOND;
  }
  return { seconds: Number(seconds), nanoseconds: Number(rest) };
}

/** `side` for asynchronous work. */
export async function sideAsync<T>(which: 'source' | 'target', work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw sideError(which, error);
  }
}

/**
 * Facts of a non-directory entry on disk; throws `VanishedError` or `SideError`.
 * A regular file is stat'ed with nanoseconds (a double's milliseconds round a
 * time within about 120 ns of the next second up to it); a device for its
 * number; symbolic links and other special files only when `metadata` asks
 * for their mode and owner.
 */
export function factsOf(which: 'source' | 'target', path: Name, kind: Kind, metadata = false): FileFacts {
  if (kind !== 'file' && kind !== 'char-device' && kind !== 'block-device' && !metadata) {
    if (kind === 'symlink')
      return { kind, link: side(which, () => readlinkSync(path, { encoding: 'buffer' })) };
    return { kind };
  }
  const values = side(which, () => lstatValues(path));
  if (!values) throw new VanishedError(which);
  // read before any other call: the next lstat overwrites the array
  const mode = values[STAT.mode]!;
  // it may have been replaced since it was listed
  const now = kindOfMode(mode);
  if (now === 'file')
    return fileFacts(
      mode & 0o7777,
      values[STAT.uid]!,
      values[STAT.gid]!,
      values[STAT.size]!,
      values[STAT.mtimeSeconds]!,
      values[STAT.mtimeNanoseconds]!,
    );
  const facts: FileFacts = { kind: now, mode: mode & 0o7777, uid: values[STAT.uid]!, gid: values[STAT.gid]! };
  if (now === 'char-device' || now === 'block-device') {
    const rdev = values[STAT.rdev]!;
    // 0:0 through sshfs is a number the filesystem could not tell (SFTP has no field for it), so
    // unknown, and not compared; elsewhere it is the device's (overlayfs's whiteouts)
    if (rdev !== 0 || !devicesMayReadZero(path)) facts.rdev = rdev;
  }
  if (now === 'symlink') facts.link = side(which, () => readlinkSync(path, { encoding: 'buffer' }));
  return facts;
}

/**
 * A directory's own permissions and owner (kind `dir`), for `--metadata`; undefined when it can no
 * longer be stat'ed as a directory (gone or replaced since it was listed: its listing stands). A
 * verified directory itself (`root`) may be a symbolic link given on the command line, which is
 * followed, as its listing does.
 */
export function directoryFacts(which: 'source' | 'target', path: Name, root = false): FileFacts | undefined {
  try {
    if (root) {
      const stats = statSync(path);
      if (!stats.isDirectory()) return undefined;
      return { kind: 'dir', mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid };
    }
    const facts = factsOf(which, path, 'dir', true);
    return facts.kind === 'dir' ? facts : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A regular file's facts as `factsOf` gives them, built in one place so that they have one shape
 * (one hidden class) wherever they come from: `mode` is the permission bits.
 */
export function fileFacts(
  mode: number,
  uid: number,
  gid: number,
  size: number,
  mtime: number,
  mtimeNs: number,
): FileFacts {
  return { kind: 'file', mode, uid, gid, size, mtime, mtimeNs };
}

/** `lstat` without a `Stats` object where this Node allows it (`raw-lstat.ts`), once per thread. */
const rawLstat = probeRawLstat();
/** `readdir` without a `Dirent` for each name, where this Node allows it, once per thread. */
const rawReaddir = probeRawReaddir();

const portableValues = new Float64Array(STAT_FIELDS);

/** `fs.lstatSync` (in BigInt form, for the nanoseconds), its values put where the fs binding puts them. */
function portableLstat(path: Name): Float64Array | undefined {
  const stats = lstatSync(path, { bigint: true, throwIfNoEntry: false });
  if (!stats) return undefined;
  const mtime = splitNanoseconds(stats.mtimeNs);
  portableValues[STAT.mode] = Number(stats.mode);
  portableValues[STAT.uid] = Number(stats.uid);
  portableValues[STAT.gid] = Number(stats.gid);
  portableValues[STAT.rdev] = Number(stats.rdev);
  portableValues[STAT.size] = Number(stats.size);
  portableValues[STAT.mtimeSeconds] = mtime.seconds;
  portableValues[STAT.mtimeNanoseconds] = mtime.nanoseconds;
  return portableValues;
}

/** `lstat`'s values as an array laid out as `STAT` says: from the fs binding, else from `fs.lstatSync`. */
const lstatValues = rawLstat ?? portableLstat;

/** Whether `factsOf` reads `lstat` without a `Stats` object on this thread (for the tests). */
export const RAW_LSTAT = rawLstat !== undefined;
/** Whether directories are listed without a `Dirent` for each name on this thread (for the tests). */
export const RAW_READDIR = rawReaddir !== undefined;

/** Reason a file read in full is not compared: it changed while it was read. */
export const CHANGED_WHILE_READ = 'changed during verification';

/**
 * True when the open file's size or modification time (to the nanosecond) is no
 * longer what `before` recorded: it was written while it was read.
 */
export function changedSince(which: 'source' | 'target', fd: number, before: FileFacts): boolean {
  const stats = side(which, () => fstatSync(fd, { bigint: true }));
  const mtime = splitNanoseconds(stats.mtimeNs);
  return (
    Number(stats.size) !== before.size ||
    mtime.seconds !== before.mtime ||
    mtime.nanoseconds !== before.mtimeNs
  );
}
