import { lstatSync, type Stats } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Comparer } from './comparer.js';
import { InterruptedError, pacer } from './interrupt.js';
import { errorCode, kindOf, type Name, SideError, sideError, VanishedError } from './listing.js';
import { isUtf8, joinPath } from './paths.js';
import { UNREADABLE_SAMPLES } from './tally.js';
import type { EngineOptions, EngineResult, ReportEntry } from './types.js';

/**
 * The second look of `--recheck` (the SMS agent's `CONSISTENCY_RECHECK`):
 * every path counted different or missing during the walk is verified once
 * more after a delay, and only what still differs is counted. A log written
 * during the walk then does not fail a migration; a file that really differs
 * still does. What matched on the second look is reported as `transient`.
 */

/** The second look at one path: equal now, or why it still differs (and in which count). */
type Second =
  | { equal: true }
  | { equal: false; counted: 'different' | 'missing'; reason: string; unreadable: boolean }
  | { equal: false; keep: true };

function pathOf(root: string, rel: Buffer): Name {
  return joinPath(root, isUtf8(rel) ? rel.toString('utf8') : rel);
}

/** The entry at `path`, undefined when there is none (also below a file: ENOTDIR); else `SideError`. */
function statAgain(which: 'source' | 'target', path: Name): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (error) {
    if (errorCode(error) === 'ENOTDIR') return undefined;
    throw sideError(which, error);
  }
}

/**
 * A directory counted different for its own mode or owner (`--metadata`), looked at again; the first
 * verdict stands when either side is no longer a directory (its files were counted by the walk).
 */
function lookAgainAtDirectory(comparer: Comparer, source: Name, target: Name, root: boolean): Second {
  const reason = comparer.judgeDirectory(source, target, root);
  if (reason === null) return { equal: false, keep: true };
  return reason === undefined
    ? { equal: true }
    : { equal: false, counted: 'different', reason, unreadable: false };
}

function lookAgain(comparer: Comparer, suspect: ReportEntry, source: Name, target: Name): Second {
  let sourceStats: Stats | undefined;
  try {
    sourceStats = statAgain('source', source);
  } catch {
    // the source cannot be read now: the first verdict stands
    return { equal: false, keep: true };
  }
  // a directory counted for its own mode or owner is compared again as a directory
  if (suspect.directory) return lookAgainAtDirectory(comparer, source, target, suspect.path.length === 0);
  // a source gone or now a directory: nothing to compare as a file, the first verdict stands
  if (!sourceStats || sourceStats.isDirectory()) return { equal: false, keep: true };
  let targetStats: Stats | undefined;
  try {
    targetStats = statAgain('target', target);
  } catch (error) {
    // a target that cannot be read (a directory on the way not searchable) is no missing file
    return { equal: false, counted: 'different', reason: (error as SideError).message, unreadable: true };
  }
  if (!targetStats)
    return { equal: false, counted: 'missing', reason: 'missing at the target', unreadable: false };
  if (targetStats.isDirectory())
    return { equal: false, counted: 'different', reason: 'directory at the target', unreadable: false };
  try {
    const reason = comparer.judge(source, target, kindOf(sourceStats), kindOf(targetStats));
    return reason === undefined
      ? { equal: true }
      : { equal: false, counted: 'different', reason, unreadable: false };
  } catch (error) {
    if (error instanceof VanishedError)
      return error.side === 'target'
        ? { equal: false, counted: 'missing', reason: 'missing at the target', unreadable: false }
        : { equal: false, keep: true };
    if (error instanceof SideError)
      return { equal: false, counted: 'different', reason: error.message, unreadable: true };
    throw error;
  }
}

/**
 * Rechecks the suspects (report entries counted different or missing) after
 * `delaySeconds`, correcting `walked` in place; returns the entries to report
 * (the suspects as they now are, matched ones as `transient`) and how many
 * matched in each verified directory.
 */
export async function recheck(
  suspects: readonly ReportEntry[],
  walked: EngineResult,
  options: EngineOptions & { delaySeconds: number; signal?: AbortSignal | undefined },
): Promise<{ entries: ReportEntry[]; transient: number[] }> {
  const transient = options.roots.map(() => 0);
  if (suspects.length === 0) return { entries: [], transient };
  try {
    await sleep(options.delaySeconds * 1000, undefined, options.signal ? { signal: options.signal } : {});
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw new InterruptedError(String(options.signal?.reason));
    throw error;
  }
  const comparer = new Comparer(options);
  const entries: ReportEntry[] = [];
  const pause = pacer(options.signal);
  for (const suspect of suspects) {
    await pause();
    const root = options.roots[suspect.root]!;
    const second = lookAgain(
      comparer,
      suspect,
      pathOf(root.source, suspect.path),
      pathOf(root.target, suspect.path),
    );
    if ('keep' in second) {
      entries.push(suspect);
      continue;
    }
    const counts = walked.counts[suspect.root]!;
    const unreadable = walked.unreadable[suspect.root]!;
    const was = suspect.counted as 'different' | 'missing';
    if (!second.equal && second.counted === was && second.unreadable === Boolean(suspect.unreadable)) {
      // still as it was: the walk's own words stand
      entries.push(suspect);
      continue;
    }
    if (suspect.unreadable) {
      unreadable.count--;
      unreadable.samples = unreadable.samples.filter((s) => !s.path.equals(suspect.path));
    }
    counts[was]--;
    if (second.equal) {
      // a directory is a file of the counts only while its own mode or owner differs
      if (suspect.directory) counts.total--;
      transient[suspect.root]!++;
      entries.push({
        root: suspect.root,
        category: 'transient',
        path: suspect.path,
        reason: `equal on the recheck ${options.delaySeconds} s later (during the walk: ${suspect.reason})`,
      });
      continue;
    }
    counts[second.counted]++;
    if (second.unreadable) {
      unreadable.count++;
      if (unreadable.samples.length < UNREADABLE_SAMPLES)
        unreadable.samples.push({ ...suspect, category: 'error', reason: second.reason });
    }
    entries.push({
      root: suspect.root,
      category: second.unreadable ? 'error' : second.counted,
      path: suspect.path,
      reason: `${second.reason} (on the recheck; during the walk: ${suspect.reason})`,
      counted: second.counted,
      ...(second.unreadable ? { unreadable: true as const } : {}),
    });
  }
  return { entries, transient };
}

/** True for an entry the recheck looks at again: one counted different or missing. */
export function isSuspect(entry: ReportEntry): boolean {
  return entry.counted === 'different' || entry.counted === 'missing';
}
