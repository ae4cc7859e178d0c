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

interface Entry {
  name: Buffer;
  kind: Kind;
}

function kindOf(dirent: Dirent<Buffer> | import('node:fs').Stats): Kind {
  if (dirent.isFile()) return 'file';
  if (dirent.isDirectory()) return 'dir';
  if (dirent.isSymbolicLink()) return 'symlink';
  if (dirent.isFIFO()) return 'fifo';
  if (dirent.isSocket()) return 'socket';
  if (dirent.isCharacterDevice()) return 'char-device';
  if (dirent.isBlockDevice()) return 'block-device';
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

function list(path: Buffer): Listing {
  try {
    const entries = (readdirSync(path, { withFileTypes: true, encoding: 'buffer' }) as Dirent<Buffer>[]).map(
      (d) => ({
        name: d.name,
        kind: kindOf(d),
      }),
    );
    entries.sort((a, b) => Buffer.compare(a.name, b.name));
    return { ok: true, entries };
  } catch (error) {
    const code = errorCode(error);
    return { ok: false, missing: code === 'ENOENT' || code === 'ENOTDIR', reason: code };
  }
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

  private report(unit: Unit, category: ReportEntry['category'], path: Buffer, reason: string): void {
    if (this.options.report) this.entries.push({ root: unit.root, category, path, reason });
  }

  private excluded(rel: Buffer, kind: Kind): boolean {
    return this.excludes.length > 0 && isExcluded(this.excludes, rel.toString('utf8'), kind === 'dir');
  }

  private tick(): void {
    this.seen++;
    if ((this.seen & 255) === 0) this.onTick?.(this);
  }

  private process(unit: Unit, stack: Unit[]): void {
    const root = this.options.roots[unit.root]!;
    const counts = this.counts[unit.root]!;
    const sourceDir = joinPath(root.source, unit.rel);
    const targetDir = joinPath(root.target, unit.rel);
    this.current = displayPath(sourceDir);

    if (unit.kind === 'target-only') {
      const target = list(targetDir);
      if (!target.ok) {
        if (!target.missing)
          this.report(unit, 'error', unit.rel, `cannot list target directory: ${target.reason}`);
        return;
      }
      for (const entry of target.entries) {
        this.tick();
        const rel = joinPath(unit.rel, entry.name);
        if (this.excluded(rel, entry.kind)) continue;
        if (entry.kind === 'dir') stack.push({ root: unit.root, kind: 'target-only', rel });
        else {
          counts.extra++;
          this.report(unit, 'extra', rel, `${KIND_WORDS[entry.kind]} only at the target`);
        }
      }
      return;
    }

    const source = list(sourceDir);
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

    if (unit.kind === 'source-only') {
      for (const entry of source.entries) {
        this.tick();
        const rel = joinPath(unit.rel, entry.name);
        if (this.excluded(rel, entry.kind)) continue;
        if (entry.kind === 'dir') stack.push({ root: unit.root, kind: 'source-only', rel });
        else {
          counts.total++;
          counts.missing++;
          this.report(unit, 'missing', rel, `${KIND_WORDS[entry.kind]} missing at the target`);
        }
      }
      return;
    }

    const target = list(targetDir);
    const targetEntries = target.ok ? target.entries : [];
    const targetProblem =
      target.ok || target.missing ? undefined : `cannot list target directory: ${target.reason}`;
    const sourceEntries = source.entries;
    let i = 0;
    let j = 0;
    while (i < sourceEntries.length || j < targetEntries.length) {
      const s = sourceEntries[i];
      const t = targetEntries[j];
      const order = s && t ? Buffer.compare(s.name, t.name) : s ? -1 : 1;
      if (order < 0) i++;
      else if (order > 0) j++;
      else {
        i++;
        j++;
      }
      const name = (order <= 0 ? s : t)!.name;
      const rel = joinPath(unit.rel, name);
      const src = order <= 0 && s && !this.excluded(rel, s.kind) ? s : undefined;
      const dst = order >= 0 && t && !this.excluded(rel, t.kind) ? t : undefined;
      this.tick();
      if (src && !dst) {
        if (src.kind === 'dir') stack.push({ root: unit.root, kind: 'source-only', rel });
        else {
          counts.total++;
          if (targetProblem) {
            counts.different++;
            this.report(unit, 'error', rel, targetProblem);
          } else {
            counts.missing++;
            this.report(unit, 'missing', rel, `${KIND_WORDS[src.kind]} missing at the target`);
          }
        }
      } else if (!src && dst) {
        if (dst.kind === 'dir') stack.push({ root: unit.root, kind: 'target-only', rel });
        else {
          counts.extra++;
          this.report(unit, 'extra', rel, `${KIND_WORDS[dst.kind]} only at the target`);
        }
      } else if (src && dst) {
        if (src.kind === 'dir' && dst.kind === 'dir') stack.push({ root: unit.root, kind: 'both', rel });
        else if (src.kind === 'dir') {
          // a target file stands where the source has a directory: the source's files are missing, the file is extra
          stack.push({ root: unit.root, kind: 'source-only', rel });
          counts.extra++;
          this.report(
            unit,
            'extra',
            rel,
            `${KIND_WORDS[dst.kind]} at the target where the source has a directory`,
          );
        } else if (dst.kind === 'dir') {
          // a target directory stands where the source has a file: the file differs, the directory's files are extra
          counts.total++;
          counts.different++;
          this.report(
            unit,
            'different',
            rel,
            `${KIND_WORDS[src.kind]} at the source, directory at the target`,
          );
          stack.push({ root: unit.root, kind: 'target-only', rel });
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
    rel: Buffer,
    sourcePath: Buffer,
    targetPath: Buffer,
    sourceKind: Kind,
    targetKind: Kind,
  ): void {
    const differ = (reason: string, category: 'different' | 'error' = 'different') => {
      counts.different++;
      this.report(unit, category, rel, reason);
    };
    let reason: string | undefined;
    try {
      reason = this.difference(sourcePath, targetPath, sourceKind, targetKind);
    } catch (error) {
      if (error instanceof VanishedError) {
        if (error.side === 'source') {
          this.report(unit, 'error', rel, 'source file vanished during verification');
          return;
        }
        counts.total++;
        counts.missing++;
        this.report(unit, 'missing', rel, 'target file vanished during verification');
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
    sourcePath: Buffer,
    targetPath: Buffer,
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
  private sameBytes(sourcePath: Buffer, targetPath: Buffer, size: number): boolean {
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
