import {
  closeSync,
  type Dirent,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  type Stats,
} from 'node:fs';
import { compileExcludes, type ExcludeRule, isExcluded } from './exclude.js';
import { displayPath, joinPath } from './paths.js';
import {
  type Counts,
  type EngineOptions,
  type Mode,
  type ReportEntry,
  type Unit,
  zeroCounts,
} from './types.js';

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

/** What is known of one non-directory entry, from the filesystem or from a manifest. */
export interface FileFacts {
  kind: Kind;
  size?: number;
  /** modification time, whole seconds */
  mtime?: number;
  /** a symbolic link's target, as bytes */
  link?: Buffer;
}

export function kindOf(entry: Dirent<Buffer> | Dirent | Stats): Kind {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'dir';
  if (entry.isSymbolicLink()) return 'symlink';
  if (entry.isFIFO()) return 'fifo';
  if (entry.isSocket()) return 'socket';
  if (entry.isCharacterDevice()) return 'char-device';
  if (entry.isBlockDevice()) return 'block-device';
  return 'unknown';
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

const REPLACEMENT = '\uFFFD';

/**
 * Lists a directory sorted by name. Names are read as strings, which is
 * fastest; a name that is not valid UTF-8 decodes with U+FFFD in it, and then
 * the directory is read again as bytes (`bytes: true`), so that every name is
 * exact. `needsBytes` says a string listing met such a name.
 */
function list(path: Name, bytes: boolean): Listing | { ok: true; needsBytes: true } {
  try {
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
    return { ok: false, missing: code === 'ENOENT' || code === 'ENOTDIR', reason: code };
  }
}

/** Lists one directory; falls back to bytes when a name needs them. */
export function listOne(path: Name, bytes: boolean): Listing {
  const first = list(path, bytes);
  return 'needsBytes' in first ? (list(path, true) as Listing) : first;
}

/** Lists both sides in the same form (strings, or bytes when either side needs them), so they merge in one order. */
function listBoth(source: Name, target: Name, bytes: boolean): { source: Listing; target: Listing } {
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
    readonly code: string,
  ) {
    super(`${side}: ${code}`);
  }
}

/** A file that was listed but is gone when it is read. */
export class VanishedError extends Error {
  constructor(readonly side: 'source' | 'target') {
    super(`${side} vanished`);
  }
}

export function side<T>(which: 'source' | 'target', work: () => T): T {
  try {
    return work();
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') throw new VanishedError(which);
    throw new SideError(which, code);
  }
}

/** Facts of a non-directory entry on disk; throws `VanishedError` or `SideError`. */
export function factsOf(which: 'source' | 'target', path: Name, kind: Kind): FileFacts {
  if (kind === 'symlink')
    return { kind, link: side(which, () => readlinkSync(path, { encoding: 'buffer' })) };
  if (kind !== 'file') return { kind };
  const stats = side(which, () => lstatSync(path, { throwIfNoEntry: false }));
  if (!stats) throw new VanishedError(which);
  // it may have been replaced since it was listed
  const now = kindOf(stats);
  if (now !== 'file') return now === 'symlink' ? factsOf(which, path, now) : { kind: now };
  return { kind: 'file', size: stats.size, mtime: Math.floor(stats.mtimeMs / 1000) };
}

/**
 * The rules for two non-directory entries: why they differ, `undefined` when
 * they match, or `'content'` when only their bytes can tell (content mode,
 * same size).
 */
export function describeDifference(s: FileFacts, t: FileFacts, mode: Mode): string | undefined | 'content' {
  if (s.kind !== t.kind) return `${KIND_WORDS[s.kind]} at the source, ${KIND_WORDS[t.kind]} at the target`;
  if (s.kind === 'symlink') {
    return s.link && t.link && s.link.equals(t.link)
      ? undefined
      : `link target ${displayPath(s.link ?? Buffer.alloc(0))} at the source, ${displayPath(t.link ?? Buffer.alloc(0))} at the target`;
  }
  // FIFOs, sockets and devices: compared by type only, never opened (opening a FIFO blocks)
  if (s.kind !== 'file') return undefined;
  if (s.size !== t.size) return `size ${s.size} at the source, ${t.size} at the target`;
  if (mode === 'quick') {
    return s.mtime === t.mtime
      ? undefined
      : `modification time ${new Date((s.mtime ?? 0) * 1000).toISOString()} at the source, ${new Date((t.mtime ?? 0) * 1000).toISOString()} at the target`;
  }
  return s.size === 0 ? undefined : 'content';
}

/**
 * The counts and the report of one verification, and the rules that turn two
 * sorted listings of one directory into counts and further directories. The
 * filesystem comparer and the manifest verifier both count through here.
 */
export abstract class Tally {
  readonly counts: Counts[];
  entries: ReportEntry[] = [];
  seen = 0;
  bytes = 0;
  current = '';
  protected readonly excludes: ExcludeRule[];
  protected readonly mode: Mode;

  constructor(
    protected readonly options: EngineOptions,
    private readonly onTick?: (tally: Tally) => void,
  ) {
    this.excludes = compileExcludes(options.excludes);
    this.mode = options.mode;
    this.counts = options.roots.map(() => zeroCounts());
  }

  protected report(unit: Unit, category: ReportEntry['category'], path: Name, reason: string): void {
    if (this.options.report) this.entries.push({ root: unit.root, category, path: toBytes(path), reason });
  }

  protected excluded(rel: Name, kind: Kind): boolean {
    return (
      this.excludes.length > 0 &&
      isExcluded(this.excludes, typeof rel === 'string' ? rel : rel.toString('utf8'), kind === 'dir')
    );
  }

  protected tick(): void {
    this.seen++;
    if ((this.seen & 255) === 0) this.onTick?.(this);
  }

  /** Hands over the report entries gathered so far. */
  takeEntries(): ReportEntry[] {
    const taken = this.entries;
    this.entries = [];
    return taken;
  }

  /** A source directory that could not be listed: vanished (not counted) or unreadable (one different file). */
  protected sourceUnlisted(unit: Unit, listing: { missing: boolean; reason: string }): void {
    if (listing.missing) {
      this.report(
        unit,
        'error',
        unit.rel,
        `source directory vanished during verification (${listing.reason})`,
      );
      return;
    }
    const counts = this.counts[unit.root]!;
    counts.total++;
    counts.different++;
    this.report(unit, 'error', unit.rel, `cannot list source directory: ${listing.reason}`);
  }

  /** The entries of a directory that exists on one side only: all missing (source) or all extra (target). */
  protected countOneSided(unit: Unit, entries: readonly Entry[], children: Unit[]): void {
    const counts = this.counts[unit.root]!;
    const isSource = unit.kind === 'source-only';
    for (const entry of entries) {
      this.tick();
      const rel = joinPath(unit.rel, entry.name);
      if (this.excluded(rel, entry.kind)) continue;
      if (entry.kind === 'dir') children.push({ root: unit.root, kind: unit.kind, rel });
      else if (isSource) {
        counts.total++;
        counts.missing++;
        this.report(unit, 'missing', rel, `${KIND_WORDS[entry.kind]} missing at the target`);
      } else {
        counts.extra++;
        this.report(unit, 'extra', rel, `${KIND_WORDS[entry.kind]} only at the target`);
      }
    }
  }

  /**
   * Merges the sorted listings of one directory present on both sides:
   * counts every file, pushes the subdirectories to visit (in order), and
   * hands pairs of files to `comparePair`.
   */
  protected mergeListings(
    unit: Unit,
    sourceEntries: readonly Entry[],
    targetEntries: readonly Entry[],
    targetProblem: string | undefined,
    children: Unit[],
    comparePair: (rel: () => Name, name: Name, source: Entry, target: Entry) => void,
  ): void {
    const counts = this.counts[unit.root]!;
    let i = 0;
    let j = 0;
    while (i < sourceEntries.length || j < targetEntries.length) {
      const s = sourceEntries[i];
      const t = targetEntries[j];
      const order = s && t ? compareNames(s.name, t.name) : s ? -1 : 1;
      if (order < 0) i++;
      else if (order > 0) j++;
      else {
        i++;
        j++;
      }
      const name = (order <= 0 ? s : t)!.name;
      // The relative path is built only when needed (excludes, a report line, a new unit): most files need none.
      let relPath: Name | undefined;
      const rel = () => {
        relPath ??= joinPath(unit.rel, name);
        return relPath;
      };
      const src =
        order <= 0 && s && !(this.excludes.length > 0 && this.excluded(rel(), s.kind)) ? s : undefined;
      const dst =
        order >= 0 && t && !(this.excludes.length > 0 && this.excluded(rel(), t.kind)) ? t : undefined;
      this.tick();
      if (src && !dst) {
        if (src.kind === 'dir') children.push({ root: unit.root, kind: 'source-only', rel: rel() });
        else {
          counts.total++;
          if (targetProblem) {
            counts.different++;
            this.report(unit, 'error', rel(), targetProblem);
          } else {
            counts.missing++;
            this.report(unit, 'missing', rel(), `${KIND_WORDS[src.kind]} missing at the target`);
          }
        }
      } else if (!src && dst) {
        if (dst.kind === 'dir') children.push({ root: unit.root, kind: 'target-only', rel: rel() });
        else {
          counts.extra++;
          this.report(unit, 'extra', rel(), `${KIND_WORDS[dst.kind]} only at the target`);
        }
      } else if (src && dst) {
        if (src.kind === 'dir' && dst.kind === 'dir')
          children.push({ root: unit.root, kind: 'both', rel: rel() });
        else if (src.kind === 'dir') {
          // a target file stands where the source has a directory: the source's files are missing, the file is extra
          children.push({ root: unit.root, kind: 'source-only', rel: rel() });
          counts.extra++;
          this.report(
            unit,
            'extra',
            rel(),
            `${KIND_WORDS[dst.kind]} at the target where the source has a directory`,
          );
        } else if (dst.kind === 'dir') {
          // a target directory stands where the source has a file: the file differs, the directory's files are extra
          counts.total++;
          counts.different++;
          this.report(
            unit,
            'different',
            rel(),
            `${KIND_WORDS[src.kind]} at the source, directory at the target`,
          );
          children.push({ root: unit.root, kind: 'target-only', rel: rel() });
        } else {
          comparePair(rel, name, src, dst);
        }
      }
    }
  }

  /** Counts one compared pair of files, given how the comparison went. */
  protected countPair(unit: Unit, rel: () => Name, judge: () => string | undefined): void {
    const counts = this.counts[unit.root]!;
    let reason: string | undefined;
    try {
      reason = judge();
    } catch (error) {
      if (error instanceof VanishedError) {
        if (error.side === 'source') {
          this.report(unit, 'error', rel(), 'source file vanished during verification');
          return;
        }
        counts.total++;
        counts.missing++;
        this.report(unit, 'missing', rel(), 'target file vanished during verification');
        return;
      }
      counts.total++;
      counts.different++;
      this.report(
        unit,
        'error',
        rel(),
        `cannot verify: ${error instanceof SideError ? `${error.side}: ${error.code}` : errorCode(error)}`,
      );
      return;
    }
    counts.total++;
    if (reason !== undefined) {
      counts.different++;
      this.report(unit, 'different', rel(), reason);
    }
  }

  protected tickContent(): void {
    this.onTick?.(this);
  }
}

const CHUNK = 1024 * 1024;

/**
 * Verifies a source against a target on this machine, one directory at a
 * time. It holds only the listings of the directory it is in; subdirectories
 * become new units. Everything is synchronous: it runs in a worker thread (or
 * in the CLI's own thread for small jobs and tests), where sync calls are the fastest.
 */
export class Comparer extends Tally {
  private readonly sourceChunk = Buffer.allocUnsafe(CHUNK);
  private readonly targetChunk = Buffer.allocUnsafe(CHUNK);

  /**
   * Works through the stack (depth first) until it is empty or `budget`
   * entries were looked at; what is left stays on the stack.
   */
  run(stack: Unit[], budget = Number.POSITIVE_INFINITY): void {
    const stop = this.seen + budget;
    const children: Unit[] = [];
    while (stack.length > 0 && this.seen < stop) {
      this.process(stack.pop()!, children);
      // visit the subdirectories in order: the first one on top
      for (let k = children.length - 1; k >= 0; k--) stack.push(children[k]!);
      children.length = 0;
    }
  }

  private process(unit: Unit, children: Unit[]): void {
    const root = this.options.roots[unit.root]!;
    const sourceDir = joinPath(root.source, unit.rel);
    const targetDir = joinPath(root.target, unit.rel);
    const bytes = typeof unit.rel !== 'string';
    this.current = typeof sourceDir === 'string' ? sourceDir : displayPath(sourceDir);

    if (unit.kind !== 'both') {
      const source = unit.kind === 'source-only';
      const listing = listOne(source ? sourceDir : targetDir, bytes);
      if (listing.ok) this.countOneSided(unit, listing.entries, children);
      else if (source) this.sourceUnlisted(unit, listing);
      else if (!listing.missing)
        this.report(unit, 'error', unit.rel, `cannot list target directory: ${listing.reason}`);
      return;
    }
    const { source, target } = listBoth(sourceDir, targetDir, bytes);
    if (!source.ok) {
      this.sourceUnlisted(unit, source);
      return;
    }
    const targetProblem =
      target.ok || target.missing ? undefined : `cannot list target directory: ${target.reason}`;
    this.mergeListings(
      unit,
      source.entries,
      target.ok ? target.entries : [],
      targetProblem,
      children,
      (rel, name, s, t) => {
        const sourcePath = joinPath(sourceDir, name);
        const targetPath = joinPath(targetDir, name);
        this.countPair(unit, rel, () => {
          const verdict = describeDifference(
            factsOf('source', sourcePath, s.kind),
            factsOf('target', targetPath, t.kind),
            this.mode,
          );
          if (verdict !== 'content') return verdict;
          return this.sameBytes(sourcePath, targetPath) ? undefined : 'content differs';
        });
      },
    );
  }

  /** Compares the bytes chunk by chunk, stopping at the first differing chunk. */
  private sameBytes(sourcePath: Name, targetPath: Name): boolean {
    const sfd = side('source', () => openSync(sourcePath, 'r'));
    let tfd: number | undefined;
    try {
      tfd = side('target', () => openSync(targetPath, 'r'));
      for (;;) {
        const a = side('source', () => readSync(sfd, this.sourceChunk, 0, CHUNK, null));
        const b = side('target', () => readSync(tfd!, this.targetChunk, 0, CHUNK, null));
        this.bytes += a;
        if (a !== b) return false;
        if (a === 0) return true;
        if (!this.sourceChunk.subarray(0, a).equals(this.targetChunk.subarray(0, b))) return false;
        if ((this.bytes & (16 * CHUNK - 1)) < CHUNK) this.tickContent();
      }
    } finally {
      closeSync(sfd);
      if (tfd !== undefined) closeSync(tfd);
    }
  }
}
