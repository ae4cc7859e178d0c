import { ExcludeMatcher } from '../exclude.js';
import { onSlowFilesystem } from '../filesystems.js';
import { interruption, pacer, throwIfInterrupted } from '../interrupt.js';
import { displayPath, joinPath } from '../paths.js';
import { defaultWorkers, WORKERS_AVAILABLE } from '../runner.js';
import type { Mode, Progress } from '../types.js';
import { type DescribedDir, describeDirectory, type ManifestDir } from './describe.js';
import { loadHash, type ManifestHash } from './hash.js';
import { ManifestPool } from './pool.js';

/** Directories handed to the workers ahead of the one being written, per worker. */
const AHEAD_PER_WORKER = 4;
/** Directories handed out ahead and not yet written, at most, per worker (their lines wait in memory). */
const HELD_PER_WORKER = 64;

interface Slot {
  dir: ManifestDir;
  result?: Promise<DescribedDir>;
}

/**
 * Describes a tree's directories depth first, in the manifest's order, on worker threads: the
 * directories next in that order are listed, stat'ed and (content mode) hashed ahead, several at a
 * time, while this thread writes the lines in order. Until the workers have started (tens of
 * milliseconds), and without them (`workers` 0, quick mode on a local disk by default, or run from
 * the sources), this thread describes each directory itself, so a small tree never waits for a
 * thread to start.
 */
export class ParallelDescriber {
  private readonly pool: ManifestPool | undefined;
  private readonly excludes: ExcludeMatcher;
  private readonly stopped: Promise<never>;
  /** Lets a signal be heard at least every 50 ms. */
  private readonly pause: () => Promise<void>;
  /** Directories handed to the workers and not yet written (their lines, once described, wait in memory). */
  private held = 0;

  constructor(
    private readonly root: string,
    private readonly options: {
      mode: Mode;
      hash: ManifestHash;
      excludes: string[];
      workers?: number;
      signal?: AbortSignal;
      /** Told as the work moves: entries described (here, or by a worker at most every 200 ms) and bytes hashed. */
      onActivity?: () => void;
    },
    private readonly progress: Progress,
    private readonly buffer: Buffer,
  ) {
    this.excludes = new ExcludeMatcher(options.excludes);
    const { signal } = options;
    this.stopped = interruption(signal);
    this.pause = pacer(signal);
    // quick mode on a local disk is stat calls, which threads speed up little (measured on 100,000
    // files: 0.51 s in this thread, 0.49 s with 2 workers) and which slow the other side of a
    // verify sharing the cores; hashing, and waiting on a network filesystem, they do speed up
    let workers = 0;
    if (WORKERS_AVAILABLE && options.workers !== undefined) workers = options.workers;
    else if (WORKERS_AVAILABLE) {
      const slow = onSlowFilesystem(root);
      if (options.mode === 'content' || slow) workers = defaultWorkers([], slow);
    }
    if (workers > 0)
      this.pool = new ManifestPool(
        workers,
        { role: 'manifest', mode: options.mode, hash: options.hash, excludes: options.excludes },
        (n) => this.hashed(n),
      );
  }

  /** Bytes hashed, here or by a worker (none: a worker's entries described): the work moves. */
  private hashed(n: number): void {
    this.progress.bytes += n;
    this.options.onActivity?.();
  }

  /** Starts the directories next in order (the top of the stack) on the workers. */
  private ahead(stack: Slot[]): void {
    const pool = this.pool;
    const workers = pool?.online.length ?? 0;
    if (!pool || workers === 0) return;
    for (
      let i = stack.length - 1;
      i >= 0 && pool.inFlight < workers * AHEAD_PER_WORKER && this.held < workers * HELD_PER_WORKER;
      i--
    ) {
      const slot = stack[i]!;
      if (slot.result) continue;
      slot.result = pool.describe(this.root, slot.dir);
      this.held++;
    }
  }

  /** Described in this thread, a signal heard between large files. */
  private here(dir: ManifestDir): Promise<DescribedDir> {
    return describeDirectory(this.root, dir, {
      mode: this.options.mode,
      hash: this.options.hash,
      excludes: this.excludes,
      buffer: this.buffer,
      onBytes: (n) => this.hashed(n),
      ...(this.options.onActivity ? { onEntry: this.options.onActivity } : {}),
      interruptible: {
        signal: this.options.signal,
        pause: () => this.pause(),
      },
    });
  }

  /** Each directory under `initial` (in order), described, depth first. */
  async *inOrder(initial: ManifestDir[]): AsyncGenerator<DescribedDir> {
    const stack: Slot[] = [...initial].reverse().map((dir) => ({ dir }));
    // threads asked for by number are waited for, so that they do the work even on a small tree
    const started = this.options.workers !== undefined ? this.pool?.started : undefined;
    await Promise.race([Promise.all([started, loadHash(this.options.hash)]), this.stopped]);
    while (stack.length > 0) {
      await this.pause();
      this.ahead(stack);
      const slot = stack.pop()!;
      if (slot.result) this.held--;
      const path = joinPath(this.root, slot.dir.rel);
      this.progress.current = typeof path === 'string' ? path : displayPath(path);
      if (!slot.result && this.pool && this.pool.online.length > 0)
        slot.result = this.pool.describe(this.root, slot.dir);
      const described = slot.result
        ? await Promise.race([slot.result, this.stopped])
        : await this.here(slot.dir);
      throwIfInterrupted(this.options.signal);
      this.progress.entries += described.entries;
      yield described;
      for (let k = described.children.length - 1; k >= 0; k--) stack.push({ dir: described.children[k]! });
    }
  }

  /** Ends the workers. */
  async close(): Promise<void> {
    await this.pool?.close();
  }
}
