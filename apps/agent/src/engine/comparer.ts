import { closeSync, openSync, readSync } from 'node:fs';
import { describeDifference, describeDirectoryMetadata, type FileFacts } from './difference.js';
import {
  CHANGED_WHILE_READ,
  changedSince,
  directoryFacts,
  factsOf,
  type Kind,
  listBoth,
  listOne,
  type Name,
  side,
} from './listing.js';
import { displayPath, joinPath } from './paths.js';
import {
  countDirectoryMetadata,
  countOneSided,
  countPair,
  countUnlistedSource,
  countUnlistedTarget,
  mergeDirectory,
  Tally,
} from './tally.js';
import type { EngineOptions, Unit } from './types.js';

const CHUNK = 256 * 1024;

/**
 * Verifies a source against a target on this machine, one directory at a
 * time. It holds only the listings of the directory it is in; subdirectories
 * become new units. Everything is synchronous: it runs in a worker thread (or
 * in the CLI's own thread for small jobs and tests), where sync calls are the fastest.
 */
export class Comparer {
  readonly tally: Tally;
  private readonly options: EngineOptions;
  private readonly sourceChunk = Buffer.allocUnsafe(CHUNK);
  private readonly targetChunk = Buffer.allocUnsafe(CHUNK);

  constructor(options: EngineOptions, onTick?: (tally: Tally) => void) {
    this.options = options;
    this.tally = new Tally(options, onTick);
  }

  /**
   * Works through the stack (depth first) until it is empty or `budget`
   * entries were looked at; what is left stays on the stack.
   */
  run(stack: Unit[], budget = Number.POSITIVE_INFINITY): void {
    const stop = this.tally.seen + budget;
    const children: Unit[] = [];
    while (stack.length > 0 && this.tally.seen < stop) {
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
    this.tally.current = typeof sourceDir === 'string' ? sourceDir : displayPath(sourceDir);

    if (unit.kind !== 'both') {
      const source = unit.kind === 'source-only';
      const listing = listOne(source ? sourceDir : targetDir, bytes);
      if (listing.ok) countOneSided(this.tally, unit, listing.entries, children);
      else if (source) countUnlistedSource(this.tally, unit, listing);
      else if (!listing.missing)
        countUnlistedTarget(this.tally, unit, `cannot list the target directory: ${listing.reason}`);
      return;
    }
    const { source, target } = listBoth(sourceDir, targetDir, bytes);
    if (!source.ok) {
      countUnlistedSource(this.tally, unit, source);
      return;
    }
    if (target.ok && this.options.metadata.length > 0) {
      const reason = this.judgeDirectory(sourceDir, targetDir, unit.rel.length === 0);
      if (reason !== null) countDirectoryMetadata(this.tally, unit, reason);
    }
    const targetProblem =
      target.ok || target.missing ? undefined : `cannot list the target directory: ${target.reason}`;
    if (targetProblem) countUnlistedTarget(this.tally, unit, targetProblem);
    mergeDirectory(
      this.tally,
      unit,
      source.entries,
      target.ok ? target.entries : [],
      targetProblem,
      children,
      (rel, name, s, t) => {
        const sourcePath = joinPath(sourceDir, name);
        const targetPath = joinPath(targetDir, name);
        countPair(this.tally, unit, rel, () => this.judge(sourcePath, targetPath, s.kind, t.kind, unit));
      },
    );
  }

  /**
   * Why two entries (listed as `sourceKind` and `targetKind`) differ, or undefined when they match.
   * Throws `VanishedError` or `SideError` when a side cannot be read. With the walk's `unit`, what
   * could not be compared is noted in the tally (a recheck looks again at what was noted).
   */
  judge(
    sourcePath: Name,
    targetPath: Name,
    sourceKind: Kind,
    targetKind: Kind,
    unit?: Unit,
  ): string | undefined {
    const metadata = this.options.metadata.length > 0;
    const source = factsOf('source', sourcePath, sourceKind, metadata);
    const target = factsOf('target', targetPath, targetKind, metadata);
    if (unit) this.tally.deviceNumbers(unit, source, target);
    const verdict = describeDifference(source, target, this.options);
    if (verdict !== 'content') return verdict;
    return this.compareBytes(sourcePath, targetPath, source, target);
  }

  /**
   * Why two directories' own mode or owner differ (`--metadata`), undefined when they match, or
   * null when either is no longer a directory (its listing stands). `root`: a verified directory,
   * followed when it is a symbolic link.
   */
  judgeDirectory(sourceDir: Name, targetDir: Name, root: boolean): string | undefined | null {
    const source = directoryFacts('source', sourceDir, root);
    const target = source && directoryFacts('target', targetDir, root);
    return source && target ? describeDirectoryMetadata(source, target, this.options) : null;
  }

  /**
   * Compares the bytes chunk by chunk, stopping at the first differing chunk;
   * a file whose size or time changed while it was read is not compared at all.
   */
  private compareBytes(
    sourcePath: Name,
    targetPath: Name,
    sourceFacts: FileFacts,
    targetFacts: FileFacts,
  ): string | undefined {
    const sfd = side('source', () => openSync(sourcePath, 'r'));
    let tfd: number | undefined;
    try {
      tfd = side('target', () => openSync(targetPath, 'r'));
      let same: boolean;
      for (;;) {
        const a = side('source', () => readSync(sfd, this.sourceChunk, 0, CHUNK, null));
        const b = side('target', () => readSync(tfd!, this.targetChunk, 0, CHUNK, null));
        this.tally.bytes += a;
        if (a !== b || !this.sourceChunk.subarray(0, a).equals(this.targetChunk.subarray(0, b))) {
          same = false;
          break;
        }
        if (a === 0) {
          same = true;
          break;
        }
        if ((this.tally.bytes & (16 * CHUNK - 1)) < CHUNK) this.tally.tickContent();
      }
      const changed = [
        changedSince('source', sfd, sourceFacts) ? 'source' : undefined,
        changedSince('target', tfd, targetFacts) ? 'target' : undefined,
      ].filter(Boolean);
      if (changed.length > 0) return `${CHANGED_WHILE_READ} (at the ${changed.join(' and the ')})`;
      return same ? undefined : 'content differs';
    } finally {
      closeSync(sfd);
      if (tfd !== undefined) closeSync(tfd);
    }
  }
}
