import { type BigIntStats, lstatSync } from 'node:fs';
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

interface FsBinding {
  lstat(path: string | Buffer, bigint: false, request: undefined, throwIfNoEntry: boolean): unknown;
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
  if (process.env.SMS_AGENT_LSTAT === 'portable') return undefined;
  if ((process as { permission?: unknown }).permission !== undefined || pendingDeprecation())
    return undefined;
  try {
    const binding = (process as unknown as { binding(name: string): FsBinding }).binding('fs');
    if (typeof binding?.lstat !== 'function') return undefined;
    // Unlike fs.lstatSync, the binding does not refuse a path with a NUL in it (it would stat the
    // path up to the NUL): every path here is a name read from a directory joined to that
    // directory, which was listed with fs.readdirSync, which refuses such paths.
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
