import { closeSync, type Dirent, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
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

type Kind = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device' | 'unknown';

/** A name or path: a string when its bytes are valid UTF-8 (fast), else the exact bytes. */
export type Name = string | Buffer;

interface Entry {
  name: Name;
  kind: Kind;
}

function kindOf(entry: Dirent<Buffer> | Dirent | import('node:fs').Stats): Kind {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'dir';
  if (entry.isSymbolicLink()) return 'symlink';
  if (entry.isFIFO()) return 'fifo';
  if (entry.isSocket()) return 'socket';
  if (entry.isCharacterDevice()) return 'char-device';
  if (entry.isBlockDevice()) return 'block-device';
  return 'unknown';
}

const KIND_WORDS: Record<Kind, string> = {
  file: 'file',
  dir: 'directory',
  symlink: 'symbolic link',
  fifo: 'FIFO',
  socket: 'socket',
  'char-device': 'character device',
  'block-device': 'block device',
  unknown: 'unknown entry',
};

type Listing = { ok: true; entries: Entry[] } | { ok: false; missing: boolean; reason: string };

function errorCode(error: unknown): string {
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
    entries.sort((a, b) =>
      (a.name as string) < (b.name as string) ? -1 : (a.name as string) > (b.name as string) ? 1 : 0,
    );
    return { ok: true, entries };
  } catch (error) {
    const code = errorCode(error);
    return { ok: false, missing: code === 'ENOENT' || code === 'ENOTDIR', reason: code };
  }
}

/** Lists one side; falls back to bytes when a name needs them. */
function listOne(path: Name, bytes: boolean): { listing: Listing; bytes: boolean } {
  const first = list(path, bytes);
  if ('needsBytes' in first) return { listing: list(path, true) as Listing, bytes: true };
  return { listing: first, bytes };
}

/** Lists both sides in the same form (strings, or bytes when either side needs them), so they merge in one order. */
function listBoth(
  source: Name,
  target: Name,
  bytes: boolean,
): { source: Listing; target: Listing; bytes: boolean } {
  const s = list(source, bytes);
  const t = list(target, bytes);
  if ('needsBytes' in s || 'needsBytes' in t) {
    return { source: list(source, true) as Listing, target: list(target, true) as Listing, bytes: true };
  }
  return { source: s, target: t, bytes };
}

function compareNames(a: Name, b: Name): number {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(toBytes(a), toBytes(b));
}

function toBytes(name: Name): Buffer {
  return typeof name === 'string' ? Buffer.from(name) : name;
}

const CHUNK = 1024 * 1024;

/**
 * The rules of the count, for one directory at a time. It holds only the
 * listings of the directory it is in; subdirectories become new units.
 * Everything is synchronous: it runs in a worker thread (or in the CLI's own
 * thread for small jobs and tests), where sync calls are the fastest.
 */
export class Comparer {
  readonly counts: Counts[];
  entries: ReportEntry[] = [];
  seen = 0;
  bytes = 0;
  current = '';
  private readonly excludes: ExcludeRule[];
  private readonly mode: Mode;
  private readonly sourceChunk = Buffer.allocUnsafe(CHUNK);
  private readonly targetChunk = Buffer.allocUnsafe(CHUNK);

  constructor(
    private readonly options: EngineOptions,
    private readonly onTick?: (comparer: Comparer) => void,
  ) {
    this.excludes = compileExcludes(options.excludes);
    this.mode = options.mode;
    this.counts = options.roots.map(() => zeroCounts());
  }

  /**
   * Works through the stack (depth first) until it is empty or `budget`
   * entries were looked at; what is left stays on the stack.
   */
  run(stack: Unit[], budget = Number.POSITIVE_INFINITY): void {
    const stop = this.seen + budget;
    while (stack.length > 0 && this.seen < stop) {
      const unit = stack.pop()!;
      this.process(unit, stack);
    }
  }

  private report(unit: Unit, category: ReportEntry['category'], path: Name, reason: string): void {
    if (this.options.report) this.entries.push({ root: unit.root, category, path: toBytes(path), reason });
  }

  private excluded(rel: Name, kind: Kind): boolean {
    return isExcluded(this.excludes, typeof rel === 'string' ? rel : rel.toString('utf8'), kind === 'dir');
  }

  private tick(): void {
    this.seen++;
    if ((this.seen & 255) === 0) this.onTick?.(this);
  }

  /** Files of a directory that exists on one side only: all missing (source) or all extra (target). */
  private oneSided(unit: Unit, stack: Unit[], dir: Name, bytes: boolean, counts: Counts): void {
    const { listing } = listOne(dir, bytes);
    const isSource = unit.kind === 'source-only';
    if (!listing.ok) {
      if (listing.missing) {
        if (isSource)
          this.report(
            unit,
            'error',
            unit.rel,
            `source directory vanished during verification (${listing.reason})`,
          );
      } else if (isSource) {
        counts.total++;
        counts.different++;
        this.report(unit, 'error', unit.rel, `cannot list source directory: ${listing.reason}`);
      } else {
        this.report(unit, 'error', unit.rel, `cannot list target directory: ${listing.reason}`);
      }
      return;
    }
    for (const entry of listing.entries) {
      this.tick();
      const rel = joinPath(unit.rel, entry.name);
      if (this.excludes.length > 0 && this.excluded(rel, entry.kind)) continue;
      if (entry.kind === 'dir') stack.push({ root: unit.root, kind: unit.kind, rel });
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

  private process(unit: Unit, stack: Unit[]): void {
    const root = this.options.roots[unit.root]!;
    const counts = this.counts[unit.root]!;
    const sourceDir = joinPath(root.source, unit.rel);
    const targetDir = joinPath(root.target, unit.rel);
    const bytes = typeof unit.rel !== 'string';
    this.current = typeof sourceDir === 'string' ? sourceDir : displayPath(sourceDir);

    if (unit.kind !== 'both') {
      this.oneSided(unit, stack, unit.kind === 'target-only' ? targetDir : sourceDir, bytes, counts);
      return;
    }

    const listed = listBoth(sourceDir, targetDir, bytes);
    const source = listed.source;
    if (!source.ok) {
      if (source.missing) {
        // vanished while we walked: its files are no longer there to count
        this.report(
          unit,
          'error',
          unit.rel,
          `source directory vanished during verification (${source.reason})`,
        );
      } else {
        // unreadable: its files cannot be counted, and the directory cannot be called consistent
        counts.total++;
        counts.different++;
        this.report(unit, 'error', unit.rel, `cannot list source directory: ${source.reason}`);
      }
      return;
    }
    const target = listed.target;
    const targetEntries = target.ok ? target.entries : [];
    const targetProblem =
      target.ok || target.missing ? undefined : `cannot list target directory: ${target.reason}`;
    const sourceEntries = source.entries;
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
        if (src.kind === 'dir') stack.push({ root: unit.root, kind: 'source-only', rel: rel() });
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
        if (dst.kind === 'dir') stack.push({ root: unit.root, kind: 'target-only', rel: rel() });
        else {
          counts.extra++;
          this.report(unit, 'extra', rel(), `${KIND_WORDS[dst.kind]} only at the target`);
        }
      } else if (src && dst) {
        if (src.kind === 'dir' && dst.kind === 'dir')
          stack.push({ root: unit.root, kind: 'both', rel: rel() });
        else if (src.kind === 'dir') {
          // a target file stands where the source has a directory: the source's files are missing, the file is extra
          stack.push({ root: unit.root, kind: 'source-only', rel: rel() });
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
          stack.push({ root: unit.root, kind: 'target-only', rel: rel() });
        } else {
          this.compareFiles(
            unit,
            counts,
            rel,
            joinPath(sourceDir, name),
            joinPath(targetDir, name),
            src.kind,
            dst.kind,
          );
        }
      }
    }
  }

  private compareFiles(
    unit: Unit,
    counts: Counts,
    rel: () => Name,
    sourcePath: Name,
    targetPath: Name,
    sourceKind: Kind,
    targetKind: Kind,
  ): void {
    const differ = (reason: string, category: 'different' | 'error' = 'different') => {
      counts.different++;
      this.report(unit, category, rel(), reason);
    };
    let reason: string | undefined;
    try {
      reason = this.difference(sourcePath, targetPath, sourceKind, targetKind);
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
      differ(
        `cannot verify: ${error instanceof SideError ? `${error.side}: ${error.code}` : errorCode(error)}`,
        'error',
      );
      return;
    }
    counts.total++;
    if (reason !== undefined) differ(reason);
  }

  /** Why two non-directory entries differ, or undefined when they match. */
  private difference(
    sourcePath: Name,
    targetPath: Name,
    sourceKind: Kind,
    targetKind: Kind,
  ): string | undefined {
    if (sourceKind !== targetKind)
      return `${KIND_WORDS[sourceKind]} at the source, ${KIND_WORDS[targetKind]} at the target`;
    if (sourceKind === 'symlink') {
      const from = side('source', () => readlinkSync(sourcePath, { encoding: 'buffer' }));
      const to = side('target', () => readlinkSync(targetPath, { encoding: 'buffer' }));
      return from.equals(to)
        ? undefined
        : `link target ${displayPath(from)} at the source, ${displayPath(to)} at the target`;
    }
    // FIFOs, sockets and devices: compared by type only, never opened (opening a FIFO blocks)
    if (sourceKind !== 'file') return undefined;
    const s = side('source', () => lstatSync(sourcePath, { throwIfNoEntry: false }));
    const t = side('target', () => lstatSync(targetPath, { throwIfNoEntry: false }));
    if (!s) throw new VanishedError('source');
    if (!t) throw new VanishedError('target');
    // it may have been replaced since it was listed
    if (!s.isFile() || !t.isFile()) {
      const sk = kindOf(s);
      const tk = kindOf(t);
      return sk === tk ? undefined : `${KIND_WORDS[sk]} at the source, ${KIND_WORDS[tk]} at the target`;
    }
    if (s.size !== t.size) return `size ${s.size} at the source, ${t.size} at the target`;
    if (this.mode === 'quick') {
      const sm = Math.floor(s.mtimeMs / 1000);
      const tm = Math.floor(t.mtimeMs / 1000);
      return sm === tm
        ? undefined
        : `modification time ${new Date(sm * 1000).toISOString()} at the source, ${new Date(tm * 1000).toISOString()} at the target`;
    }
    return this.sameBytes(sourcePath, targetPath, s.size) ? undefined : 'content differs';
  }

  /** Compares the bytes chunk by chunk, stopping at the first differing chunk. */
  private sameBytes(sourcePath: Name, targetPath: Name, size: number): boolean {
    if (size === 0) return true;
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
        if ((this.bytes & (16 * CHUNK - 1)) < CHUNK) this.onTick?.(this);
      }
    } finally {
      closeSync(sfd);
      if (tfd !== undefined) closeSync(tfd);
    }
  }

  /** Hands over the report entries gathered so far. */
  takeEntries(): ReportEntry[] {
    const taken = this.entries;
    this.entries = [];
    return taken;
  }
}

class VanishedError extends Error {
  constructor(readonly side: 'source' | 'target') {
    super(`${side} vanished`);
  }
}

class SideError extends Error {
  constructor(
    readonly side: 'source' | 'target',
    readonly code: string,
  ) {
    super(`${side}: ${code}`);
  }
}

function side<T>(which: 'source' | 'target', work: () => T): T {
  try {
    return work();
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') throw new VanishedError(which);
    throw new SideError(which, code);
  }
}
