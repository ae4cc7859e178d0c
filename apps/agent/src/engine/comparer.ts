import { closeSync, openSync, readSync } from 'node:fs';
import { describeDifference } from './difference.js';
import { factsOf, listBoth, listOne, type Name, side } from './listing.js';
import { displayPath, joinPath } from './paths.js';
import { countOneSided, countPair, countUnlistedSource, mergeDirectory, Tally } from './tally.js';
import type { EngineOptions, Unit } from './types.js';

const CHUNK = 1024 * 1024;

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
        this.tally.report(unit, 'error', unit.rel, `cannot list target directory: ${listing.reason}`);
      return;
    }
    const { source, target } = listBoth(sourceDir, targetDir, bytes);
    if (!source.ok) {
      countUnlistedSource(this.tally, unit, source);
      return;
    }
    const targetProblem =
      target.ok || target.missing ? undefined : `cannot list target directory: ${target.reason}`;
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
        countPair(this.tally, unit, rel, () => {
          const verdict = describeDifference(
            factsOf('source', sourcePath, s.kind),
            factsOf('target', targetPath, t.kind),
            this.options.mode,
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
        this.tally.bytes += a;
        if (a !== b) return false;
        if (a === 0) return true;
        if (!this.sourceChunk.subarray(0, a).equals(this.targetChunk.subarray(0, b))) return false;
        if ((this.tally.bytes & (16 * CHUNK - 1)) < CHUNK) this.tally.tickContent();
      }
    } finally {
      closeSync(sfd);
      if (tfd !== undefined) closeSync(tfd);
    }
  }
}
