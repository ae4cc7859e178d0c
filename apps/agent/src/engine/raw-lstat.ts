import { type BigIntStats, type Dirent, lstatSync, readdirSync, type Stats } from 'node:fs';
import type { Kind } from './listing.js';

/**
 * Where `lstat`'s values sit in the array Node's own fs binding fills
 * (`FillStatsArray`: dev, mode, nlink, uid, gid, rdev, blksize, ino, size,
 * blocks, then each time as whole seconds and nanoseconds).
 */
export const STAT = {
  mode: 1,
  uid: 3,
  gid: 4,
  rdev: 5,
  ino: 7,
  size: 8,
  mtimeSeconds: 12,
  mtimeNanoseconds: 13,
} as const;

/** How many values the binding's array holds (each time's seconds and nanoseconds included). */
export const STAT_FIELDS = 18;

/** `lstat` of a path, as the binding's array (overwritten by the next call: read it at once), or undefined when the path is gone. */
export type RawLstat = (path: string | Buffer) => Float64Array | undefined;

/**
 * A directory's names (strings, or with `bytes` the exact bytes) and each one's type
 * (`fs.constants.UV_DIRENT_*`, `UV_DIRENT_UNKNOWN` where the filesystem does not tell it).
 */
export type RawReaddir = (
  path: string | Buffer,
  bytes: boolean,
) => [names: (string | Buffer)[], types: number[]];

interface FsBinding {
  lstat(path: string | Buffer, bigint: false, request: undefined, throwIfNoEntry: boolean): unknown;
  readdir(path: string | Buffer, encoding: 'utf8' | 'buffer', withFileTypes: boolean): unknown;
}

/**
 * Node.js majors whose fs binding the probes have been run against (CI: 20, 22, 24). A binding
 * called with arguments it does not expect may abort the process (a C++ CHECK, which no `catch`
 * sees), so a later Node uses `fs` until it has been tried.
 */
const BINDING_MAJORS = { min: 20, max: 24 } as const;

/** Node's fs binding, where the program may use it (see `probeRawLstat`), else undefined. */
function fsBinding(): FsBinding | undefined {
  if (process.env.SMS_AGENT_LSTAT === 'portable') return undefined;
  const major = Number(process.versions.node.split('.')[0]);
  if (!(major >= BINDING_MAJORS.min && major <= BINDING_MAJORS.max)) return undefined;
  if ((process as { permission?: unknown }).permission !== undefined || pendingDeprecation())
    return undefined;
  try {
    return (process as unknown as { binding(name: string): FsBinding }).binding('fs');
  } catch {
    return undefined;
  }
}

/**
 * Whether Node was asked to warn of deprecations not yet warned of (`process.binding` is one,
 * DEP0111): `--pending-deprecation` (or `--pending_deprecation`) on the command line or in
 * `NODE_OPTIONS`, or `NODE_PENDING_DEPRECATION=1`; unless warnings are off (`--no-deprecation`).
 */
function pendingDeprecation(): boolean {
  if ((process as { noDeprecation?: boolean }).noDeprecation) return false;
  if (process.env.NODE_PENDING_DEPRECATION === '1') return true;
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((flag) =>
    /^--pending[-_]deprecation$/.test(flag),
  );
}

/** The directory the readdir probe lists (where there is none, the agent lists with `fs`). */
const READDIR_PROBE = '/proc/self';

/** A character device whose number the probe checks (skipped where it is not one). */
const DEVICE_PROBE = '/dev/null';

/**
 * `lstat` without a `Stats` object. `fs.lstatSync` calls Node's fs binding
 * and then builds a `Stats` with four `Date`s in it (Node 20; in BigInt form
 * for nanoseconds), which was a quarter of a quick walk's time; the binding's
 * own array has the seconds and nanoseconds apart, exact as doubles. Node
 * 20, 22 and 24 expose that binding as `process.binding('fs')` (deprecated in
 * documentation only) with the signature `fs.lstatSync` uses, and it is used
 * only when a probe here answers exactly as `fs.lstatSync` does for the
 * running program's file, for a missing path and for `/dev/null`'s device number. Otherwise, or with
 * `SMS_AGENT_LSTAT=portable`, or where Node's permission model or
 * `--pending-deprecation` is on, this is undefined and the caller uses `fs.lstatSync`.
 */
export function probeRawLstat(): RawLstat | undefined {
  const binding = fsBinding();
  try {
    if (typeof binding?.lstat !== 'function') return undefined;
    // Unlike fs.lstatSync, the binding does not refuse a path with a NUL in it (it would stat the
    // path up to the NUL): every path here is a name read from a directory joined to that
    // directory, a verified directory that fs stat'ed first (which refuses such paths) or a name
    // from a listing (which has none) joined to its directory.
    const lstat: RawLstat = (path) => {
      const values = binding.lstat(path, false, undefined, false);
      return values === undefined ? undefined : (values as Float64Array);
    };
    const probe = process.execPath;
    const expected = lstatSync(probe, { bigint: true });
    const values = lstat(probe);
    if (!(values instanceof Float64Array) || values.length < STAT_FIELDS) return undefined;
    const agrees =
      values[STAT.mode] === Number(expected.mode) &&
      values[STAT.uid] === Number(expected.uid) &&
      values[STAT.gid] === Number(expected.gid) &&
      values[STAT.ino] === Number(expected.ino) &&
      values[STAT.size] === Number(expected.size) &&
      BigInt(values[STAT.mtimeSeconds]!) * 1_000_000_000n + BigInt(values[STAT.mtimeNanoseconds]!) ===
        expected.mtimeNs;
    if (!agrees) return undefined;
    if (lstat(`${probe}.sms-agent-missing-probe`) !== undefined) return undefined;
    // a device's number, at its place too (the program's file has none): where /dev/null is one
    let device: BigIntStats | undefined;
    try {
      device = lstatSync(DEVICE_PROBE, { bigint: true });
    } catch {}
    if (device?.isCharacterDevice() && device.rdev !== 0n) {
      const values = lstat(DEVICE_PROBE);
      if (!(values instanceof Float64Array) || values[STAT.rdev] !== Number(device.rdev)) return undefined;
    }
    return lstat;
  } catch {
    return undefined;
  }
}

/** The kind of each `UV_DIRENT_*` type (`UV_DIRENT_UNKNOWN`, 0, has none). */
const DIRENT_KINDS: readonly (Kind | undefined)[] = [
  undefined,
  'file',
  'dir',
  'symlink',
  'fifo',
  'socket',
  'char-device',
  'block-device',
];

/** The kind of a directory entry from its type (`UV_DIRENT_*`); undefined when the type is unknown. */
export function kindOfDirentType(type: number): Kind | undefined {
  return DIRENT_KINDS[type];
}

/** The kind a `Dirent` or `Stats` says (`fs.readdirSync` has `lstat`ed a `Dirent` of unknown type). */
export function kindOf(entry: Dirent<Buffer> | Dirent | Stats | BigIntStats): Kind {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'dir';
  if (entry.isSymbolicLink()) return 'symlink';
  if (entry.isFIFO()) return 'fifo';
  if (entry.isSocket()) return 'socket';
  if (entry.isCharacterDevice()) return 'char-device';
  if (entry.isBlockDevice()) return 'block-device';
  return 'unknown';
}

/**
 * `readdir` without a `Dirent` for each name, and without the `fs.lstatSync` (a `Stats` with four
 * `Date`s) that `fs.readdirSync` makes for each entry whose type the filesystem does not give
 * (sshfs answering a listing from its cache gives none: a quarter of the agent's user CPU through
 * such a mount): the names and types as Node's fs binding gives them, for the caller to `lstat`
 * the unknown ones itself. Not with `SMS_AGENT_LSTAT=portable`, nor where the binding may not be
 * used (as for `probeRawLstat`, whose own probe is apart), and only when it answers for
 * `/proc/self` (a few entries of each kind, whose types procfs gives: nothing is `lstat`ed, no
 * mount point is touched) as `fs.readdirSync` does (names in order, kinds, bytes) and for a
 * missing directory with ENOENT. Every directory listed is a verified directory, which `fs` has
 * stat'ed first (and refused had it a NUL in it, which the binding would cut at), or a name from a
 * listing joined to its directory.
 */
export function probeRawReaddir(): RawReaddir | undefined {
  const binding = fsBinding();
  try {
    if (typeof binding?.readdir !== 'function') return undefined;
    const readdir: RawReaddir = (path, bytes) =>
      binding.readdir(path, bytes ? 'buffer' : 'utf8', true) as [(string | Buffer)[], number[]];
    const expected = readdirSync(READDIR_PROBE, { withFileTypes: true });
    const listed = readdir(READDIR_PROBE, false);
    const bytes = readdir(READDIR_PROBE, true);
    if (!Array.isArray(listed) || !Array.isArray(bytes)) return undefined;
    const [names, types] = listed;
    if (!Array.isArray(names) || !Array.isArray(types) || names.length !== expected.length) return undefined;
    for (let i = 0; i < expected.length; i++) {
      const d = expected[i]!;
      const kind = kindOfDirentType(types[i]!);
      if (names[i] !== d.name || (types[i] !== 0 && kind !== kindOf(d))) return undefined;
      const raw = bytes[0]?.[i];
      if (!Buffer.isBuffer(raw) || !raw.equals(Buffer.from(d.name))) return undefined;
    }
    try {
      readdir(`${process.execPath}.sms-agent-missing-probe`, false);
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
    }
    return readdir;
  } catch {
    return undefined;
  }
}

const S_IFMT = 0o170000;

/** The kind of an entry from its `st_mode`. */
export function kindOfMode(mode: number): Kind {
  switch (mode & S_IFMT) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    case 0o010000:
      return 'fifo';
    case 0o140000:
      return 'socket';
    case 0o020000:
      return 'char-device';
    case 0o060000:
      return 'block-device';
    default:
      return 'unknown';
  }
}
