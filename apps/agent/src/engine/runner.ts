import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { workerThreads } from '../builtins.js';
import { Comparer } from './comparer.js';
import { onSlowFilesystem } from './filesystems.js';
import { interruption, throwIfInterrupted, yieldToEvents } from './interrupt.js';
import { mergeResult, type Tally } from './tally.js';
import {
  type EngineOptions,
  type EngineResult,
  type Progress,
  type ReportEntry,
  type RootSpec,
  type Unit,
  zeroCounts,
  zeroUnreadable,
} from './types.js';
import { fromTransfer, type WorkerReply } from './wire.js';

export interface RunOptions extends EngineOptions {
  /** Worker threads; 0 runs in this thread. Default: the cores available (at most 8). */
  workers?: number;
  onProgress?: (progress: Progress) => void;
  /** Called with report entries as they are found (only when `report` is on). */
  onEntries?: (entries: ReportEntry[]) => void;
  /** Stops the run (the workers are ended) with `InterruptedError`; its reason names the signal. */
  signal?: AbortSignal;
}

/** Entries looked at between two looks at the event loop when working in this thread. */
const SLICE = 4096;
/** Entries looked at in this thread before the workers start (a few milliseconds' work). */
const FIRST_SLICE = 1024;
/**
 * Exclude patterns beyond which the workers start at once: compiling thousands (and their first
 * matches) in this thread before the first slice took as long as a worker's start, during which
 * the workers had not begun; they compile their own, in parallel.
 */
const FIRST_SLICE_MAX_EXCLUDES = 500;

/**
 * Set by the bundles (scripts/bundle.mjs, scripts/build-exe.mjs): the worker's own bundle as a
 * string, since one file (the npm bundle, a copy of it on a remote host, the executable) has no
 * worker file beside it to start from (`new Worker(code, { eval: true })`). Run from the compiled
 * sources, the worker starts from its file.
 */
declare const __SMS_AGENT_WORKER_CODE__: string | undefined;
export const EMBEDDED_WORKER =
  typeof __SMS_AGENT_WORKER_CODE__ === 'string' ? __SMS_AGENT_WORKER_CODE__ : undefined;
const WORKER_FILE = fileURLToPath(new URL('./worker.js', import.meta.url));
/** Under a test runner the sources are TypeScript and there is no built worker beside them. */
export const WORKERS_AVAILABLE =
  EMBEDDED_WORKER !== undefined || (existsSync(WORKER_FILE) && import.meta.url.endsWith('.js'));

/** A worker thread: `workerData` is a verification's `EngineOptions` or a manifest's `ManifestWorkerData`. */
export function startWorker(workerData: unknown): Worker {
  return EMBEDDED_WORKER
    ? new (workerThreads().Worker)(EMBEDDED_WORKER, { eval: true, workerData })
    : new (workerThreads().Worker)(WORKER_FILE, { workerData });
}

/**
 * Threads per core when a side is on such a filesystem (at least 8, at most 16): more requests in
 * flight while each waits. Measured through sshfs on 2 cores (100,000 files, fresh mount): 2
 * threads 1.33x rsync's time, 4 0.86x, 8 0.79x, 16 0.84x (and 0.87x against 1.21x once sshfs's
 * cache is warm): beyond that the threads' own start and the FUSE chain's CPU cost more than the
 * waiting they save.
 */
const SLOW_FILESYSTEM_THREADS_PER_CORE = 4;
export const SLOW_FILESYSTEM_WORKERS = { min: 8, max: 16 } as const;

/**
 * Threads by default: the cores available, at most 8; or 4 per core (8 to 16) when a root's
 * source or target is on a network filesystem (its calls wait on the network: with one request in
 * flight per thread, more threads finish sooner; on a local disk more threads than cores do not).
 */
export function defaultWorkers(roots: readonly RootSpec[] = [], slow = anySlowFilesystem(roots)): number {
  return WORKERS_AVAILABLE ? threadsFor(roots, availableParallelism(), slow) : 0;
}

/** `defaultWorkers` with `cores` cores and workers available (`slow`: a root on a network filesystem). */
export function threadsFor(
  roots: readonly RootSpec[],
  cores: number,
  slow = anySlowFilesystem(roots),
): number {
  const n = Math.max(1, cores);
  if (!slow) return Math.min(8, n);
  return Math.min(
    SLOW_FILESYSTEM_WORKERS.max,
    Math.max(SLOW_FILESYSTEM_WORKERS.min, SLOW_FILESYSTEM_THREADS_PER_CORE * n),
  );
}

function anySlowFilesystem(roots: readonly RootSpec[]): boolean {
  return roots.some((r) => onSlowFilesystem(r.source) || onSlowFilesystem(r.target));
}

/**
 * Verifies the units (and everything under them) and returns the counts per
 * root. Directories are handed out depth first from one stack, so memory holds
 * the pending directories, never a list of every path.
 */
export async function runEngine(initial: Unit[], options: RunOptions): Promise<EngineResult> {
  // each root's filesystem is looked at once (statfs, and /proc/self/mountinfo for FUSE)
  const slow = anySlowFilesystem(options.roots);
  const workers = options.workers ?? defaultWorkers(options.roots, slow);
  throwIfInterrupted(options.signal);
  if (workers === 0 || !WORKERS_AVAILABLE) return runInThread(initial, options);

  // A worker thread takes tens of milliseconds to start: in quick mode (stat calls only, so a slice
  // is a few milliseconds) a small tree is verified here before one could, and a large one is
  // handed to the workers after this first slice (at once with many excludes, see above). Content
  // mode reads files, maybe huge ones: it starts with the workers, in parallel, and a signal can end
  // them at once. So does a network filesystem, where a slice in one thread would be a thousand
  // round trips one after the other.
  const stack = [...initial].reverse();
  let result: EngineResult;
  let progress: Progress;
  if (options.mode === 'quick' && !slow && options.excludes.length <= FIRST_SLICE_MAX_EXCLUDES) {
    const reporting = reportInThread(options);
    const first = new Comparer(options, reporting.onTick);
    first.run(stack, FIRST_SLICE);
    result = { counts: first.tally.counts, unreadable: first.tally.takeUnreadable() };
    if (stack.length === 0) {
      reporting.finish(first.tally);
      return result;
    }
    const firstEntries = first.tally.takeEntries();
    if (firstEntries.length > 0) options.onEntries?.(firstEntries);
    progress = { entries: first.tally.seen, bytes: first.tally.bytes, current: '' };
  } else {
    // nothing here: not even the excludes are compiled in this thread, the workers compile theirs
    result = {
      counts: options.roots.map(zeroCounts),
      unreadable: options.roots.map(zeroUnreadable),
    };
    progress = { entries: 0, bytes: 0, current: '' };
    if (stack.length === 0) {
      options.onProgress?.(progress);
      return result;
    }
  }

  const { onProgress, onEntries, workers: _w, signal, ...engine } = options;
  const pool = Array.from({ length: workers }, () => startWorker(engine));
  const idle: Worker[] = [];
  let busy = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      interruption(signal).catch(reject);
      const dispatch = () => {
        while (idle.length > 0 && stack.length > 0) {
          const worker = idle.pop()!;
          // share the stack among the workers; a lone unit still goes whole
          const take = Math.max(1, Math.min(32, Math.floor(stack.length / workers)));
          const units = stack.splice(stack.length - take, take);
          busy++;
          worker.postMessage({ units });
        }
        if (busy === 0 && stack.length === 0) resolve();
      };
      for (const worker of pool) {
        worker.on('error', reject);
        worker.on('exit', (code) => {
          if (code !== 0) reject(new Error(`a verification worker stopped with exit code ${code}`));
        });
        worker.on('message', (raw: WorkerReply) => {
          const reply = fromTransfer<WorkerReply>(raw);
          if (reply.type === 'progress') {
            progress.entries += reply.entries;
            progress.bytes += reply.bytes;
            progress.current = reply.current;
            onProgress?.(progress);
            return;
          }
          if (reply.type === 'entries') {
            onEntries?.(reply.entries);
            return;
          }
          mergeResult(result, reply);
          if (reply.entries.length > 0) onEntries?.(reply.entries);
          progress.entries += reply.seen;
          progress.bytes += reply.bytes;
          stack.push(...reply.remaining);
          busy--;
          idle.push(worker);
          dispatch();
        });
        idle.push(worker);
      }
      dispatch();
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  onProgress?.(progress);
  return result;
}

/**
 * Hands a tally's report entries (in batches of 1000) and progress (at most every 200 ms) to the
 * caller while it works in this thread, and the rest when it is done.
 */
export function reportInThread(options: Pick<RunOptions, 'onEntries' | 'onProgress'>) {
  let last = 0;
  return {
    onTick(tally: Tally) {
      if (tally.entries.length >= 1000) options.onEntries?.(tally.takeEntries());
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      options.onProgress?.({ entries: tally.seen, bytes: tally.bytes, current: tally.current });
    },
    finish(tally: Tally) {
      const rest = tally.takeEntries();
      if (rest.length > 0) options.onEntries?.(rest);
      options.onProgress?.({ entries: tally.seen, bytes: tally.bytes, current: '' });
    },
  };
}

/** Without workers: the same walk in this thread, in slices, so that a signal is heard between them. */
async function runInThread(initial: Unit[], options: RunOptions): Promise<EngineResult> {
  const reporting = reportInThread(options);
  const comparer = new Comparer(options, reporting.onTick);
  const stack = [...initial].reverse();
  while (stack.length > 0) {
    comparer.run(stack, SLICE);
    await yieldToEvents();
    if (options.signal?.aborted) {
      // what was found is handed over before the run ends: an incomplete report lists it
      const found = comparer.tally.takeEntries();
      if (found.length > 0) options.onEntries?.(found);
      throwIfInterrupted(options.signal);
    }
  }
  reporting.finish(comparer.tally);
  return { counts: comparer.tally.counts, unreadable: comparer.tally.unreadable };
}
