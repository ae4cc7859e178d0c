import { closeSync, openSync, readSync } from 'node:fs';
import * as v from 'valibot';
import { fsPromises } from '../../builtins.js';
import type { FileFacts } from '../difference.js';
import { throwIfInterrupted } from '../interrupt.js';
import { changedSince, type Kind, type Name, side, sideAsync } from '../listing.js';
import { isUtf8 } from '../paths.js';
import { MANIFEST_HASHES, type ManifestHash, newDigest, ownDigest } from './hash.js';

/**
 * The manifest: a tree described in NDJSON, so that a target this machine
 * cannot mount can still be verified. Line 1 is the header; then one line per
 * directory, depth first, each directory's entries sorted as the verifier
 * walks them; the last line is the end record (a manifest without it was cut
 * short). Names that are not UTF-8 are stored as base64 (`nb`, `lb`, `db`).
 * Every non-directory entry carries its permission bits (`p`, as a number),
 * owner (`u`) and group (`g`); a regular file its size (`s`) and modification
 * time exactly, whole seconds (`m`) and nanoseconds (`mn`); a device its number (`r`, `st_rdev`;
 * optional, as for the directories below). A directory's line carries the
 * directory's own permission bits and owner too (`p`, `u`, `g`; optional: manifests of format 2
 * made before they were written lack them, and verify --metadata then says it could not compare them).
 *
 * {"sms_manifest":2,"root":"/srv","mode":"content","hash":"xxh128","created_at":"…"}
 * {"d":"","p":493,"u":0,"g":0,"e":[{"n":"a.txt","k":"f","s":5,"m":1767323045,"mn":120000000,"p":420,"u":0,"g":0,"h":"…"},{"n":"sub","k":"d"},{"n":"ln","k":"l","l":"a.txt","p":511,"u":0,"g":0}]}
 * {"d":"sub","p":493,"u":0,"g":0,"e":[]}
 * {"end":{"directories":2,"files":2,"sha256":"…"}}
 *
 * Format 1 (before sms-agent 0.2) stored times as whole seconds rounded from a
 * double, which could be a second off, and no owner or mode: it is refused
 * with a message to make the manifest again, never read with those errors.
 */
export const MANIFEST_VERSION = 2;

export const KIND_CODES: Record<Kind, string> = {
  file: 'f',
  dir: 'd',
  symlink: 'l',
  fifo: 'p',
  socket: 's',
  'char-device': 'c',
  'block-device': 'b',
  unknown: 'u',
};
export const KINDS_BY_CODE = Object.fromEntries(
  Object.entries(KIND_CODES).map(([kind, code]) => [code, kind as Kind]),
);

export const HeaderSchema = v.object({
  sms_manifest: v.literal(MANIFEST_VERSION),
  root: v.string(),
  mode: v.picklist(['quick', 'content']),
  hash: v.nullable(v.picklist(MANIFEST_HASHES)),
  created_at: v.string(),
  /** What the manifest leaves out (`--exclude`), when anything: verify must leave it out too. */
  excludes: v.optional(v.array(v.string())),
  /** The directories it describes (`--dir`, relative to `root`), when not the whole root. */
  dirs: v.optional(v.array(v.string())),
});
const EntrySchema = v.object({
  n: v.optional(v.string()),
  nb: v.optional(v.string()),
  k: v.picklist(Object.values(KIND_CODES)),
  s: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  m: v.optional(v.pipe(v.number(), v.integer())),
  mn: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(999_999_999))),
  p: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0o7777))),
  u: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  g: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  h: v.optional(v.pipe(v.string(), v.regex(/^(?:[0-9a-f]{32}|[0-9a-f]{64})$/))),
  /** a device's number (`st_rdev`) */
  r: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  l: v.optional(v.string()),
  lb: v.optional(v.string()),
  err: v.optional(v.string()),
  /** the file changed while it was hashed (content mode): it has no hash */
  c: v.optional(v.literal(1)),
});
export const DirSchema = v.object({
  d: v.optional(v.string()),
  db: v.optional(v.string()),
  p: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0o7777))),
  u: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  g: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  e: v.array(EntrySchema),
  err: v.optional(v.string()),
});
export type DirRecord = v.InferOutput<typeof DirSchema>;

const isInt = (x: unknown, min: number, max = Number.POSITIVE_INFINITY): boolean =>
  typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
const optionalString = (x: unknown): boolean => x === undefined || typeof x === 'string';
const optionalInt = (x: unknown, min: number, max?: number): boolean => x === undefined || isInt(x, min, max);
const KIND_CODE_SET = new Set(Object.values(KIND_CODES));
const HASH = /^(?:[0-9a-f]{32}|[0-9a-f]{64})$/;

/**
 * `v.is(DirSchema, x)`, written out: a directory line is checked on every read
 * of a manifest, a hundred thousand entries a second, where valibot's general
 * walk was a sixth of the verifier's time. A property test holds the two equal.
 */
export function isDirRecord(x: unknown): x is DirRecord {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const d = x as Record<string, unknown>;
  if (
    !optionalString(d.d) ||
    !optionalString(d.db) ||
    !optionalString(d.err) ||
    !optionalInt(d.p, 0, 0o7777) ||
    !optionalInt(d.u, 0) ||
    !optionalInt(d.g, 0) ||
    !Array.isArray(d.e)
  )
    return false;
  for (const e of d.e as unknown[]) {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return false;
    const r = e as Record<string, unknown>;
    if (
      !KIND_CODE_SET.has(r.k as string) ||
      !optionalString(r.n) ||
      !optionalString(r.nb) ||
      !optionalInt(r.s, 0) ||
      !optionalInt(r.m, Number.NEGATIVE_INFINITY) ||
      !optionalInt(r.mn, 0, 999_999_999) ||
      !optionalInt(r.p, 0, 0o7777) ||
      !optionalInt(r.u, 0) ||
      !optionalInt(r.g, 0) ||
      !optionalInt(r.r, 0) ||
      !(r.h === undefined || (typeof r.h === 'string' && HASH.test(r.h))) ||
      !optionalString(r.l) ||
      !optionalString(r.lb) ||
      !optionalString(r.err) ||
      !(r.c === undefined || r.c === 1)
    )
      return false;
  }
  return true;
}

export const EndSchema = v.object({
  end: v.object({
    directories: v.number(),
    files: v.number(),
    sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  }),
});

export type ManifestHeader = v.InferOutput<typeof HeaderSchema>;

/** A manifest that cannot be used: the message says where and why. */
export class ManifestError extends Error {
  override name = 'ManifestError';
}

/** A name as a JSON field (text, without braces): UTF-8 as itself, other bytes as base64: `"n":"name"` or `"nb":"base64"`. */
export function nameJson(name: Name, text: string, bytes: string): string {
  if (typeof name === 'string') return `"${text}":${JSON.stringify(name)}`;
  return isUtf8(name)
    ? `"${text}":${JSON.stringify(name.toString('utf8'))}`
    : `"${bytes}":"${name.toString('base64')}"`;
}

/**
 * The hash (`algorithm`, loaded in this thread by `loadHash`) of a file, or `changed` when its size
 * or modification time is no longer what `before` recorded once it has been read (it was written
 * meanwhile).
 */
export function hashFile(
  path: Name,
  before: FileFacts,
  buffer: Buffer,
  onBytes: (n: number) => void,
  algorithm: ManifestHash,
): { hash: string; changed: boolean } {
  const hash = newDigest(algorithm, buffer);
  const into = hash.input;
  const fd = side('source', () => openSync(path, 'r'));
  try {
    // read to the end, or to the size the file had when listed: a read past it (which answers 0
    // bytes, one more system call per file) is not needed, as a file grown meanwhile is told by
    // its size in changedSince
    let total = 0;
    while (before.size === undefined || total < before.size) {
      const n = side('source', () => readSync(fd, into, 0, into.length, null));
      if (n === 0) break;
      hash.take(n);
      onBytes(n);
      total += n;
    }
    // bytes read other than the listed size (a filesystem whose sizes lag its reads) are a change
    // even where fstat still says the listed size
    return { hash: hash.digest(), changed: total !== before.size || changedSince('source', fd, before) };
  } finally {
    closeSync(fd);
  }
}

/**
 * `hashFile` for the manifest writer, which runs on the main thread: reads
 * asynchronously, so that a signal is heard between chunks even inside one
 * very large file, and stops with `InterruptedError`.
 */
export async function hashFileAsync(
  path: Name,
  before: FileFacts,
  buffer: Buffer,
  onBytes: (n: number) => void,
  algorithm: ManifestHash,
  signal?: AbortSignal,
): Promise<{ hash: string; changed: boolean }> {
  const hash = await ownDigest(algorithm, buffer);
  const into = hash.input;
  const file = await sideAsync('source', () => fsPromises().open(path, 'r'));
  try {
    let total = 0;
    for (;;) {
      const { bytesRead } = await sideAsync('source', () => file.read(into, 0, into.length, null));
      if (bytesRead === 0) break;
      hash.take(bytesRead);
      onBytes(bytesRead);
      total += bytesRead;
      throwIfInterrupted(signal);
    }
    return {
      hash: hash.digest(),
      changed: total !== before.size || changedSince('source', file.fd, before),
    };
  } finally {
    await file.close();
  }
}
