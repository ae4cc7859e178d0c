import type { FileFacts } from './difference.js';
import { type ExcludeMatcher, excludeMatcher } from './exclude.js';
import {
  compareNames,
  describeError,
  type Entry,
  KIND_WORDS,
  type Kind,
  type Name,
  SideError,
  toBytes,
  VanishedError,
} from './listing.js';
import { joinPath } from './paths.js';
import {
  type Counts,
  type EngineOptions,
  type EngineResult,
  type ReportEntry,
  type Unit,
  type Unreadable,
  zeroCounts,
  zeroUnreadable,
} from './types.js';

/** How many unreadable entries of each verified directory a run names (the report names them all). */
export const UNREADABLE_SAMPLES = 5;

/**
 * The counts and the report of one verification. The filesystem comparer and
 * the manifest verifier each hold one and count through the functions below,
 * which state the counting rules once.
 */
export class Tally {
  readonly counts: Counts[];
  entries: ReportEntry[] = [];
  /** per root: the entries that could not be read, and the first few of them */
  unreadable: Unreadable[];
  seen = 0;
  bytes = 0;
  current = '';
  private readonly excludes: ExcludeMatcher;
  /** Any excludes at all: when none, no relative path needs to be built to test them. */
  readonly hasExcludes: boolean;

  constructor(
    readonly options: EngineOptions,
    private readonly onTick?: (tally: Tally) => void,
  ) {
    this.excludes = excludeMatcher(options.excludes);
    this.hasExcludes = this.excludes.size > 0;
    this.counts = options.roots.map(zeroCounts);
    this.unreadable = options.roots.map(zeroUnreadable);
  }

  /** A report line (kept only with `report` on), and the API count it is in, if any. */
  report(
    unit: Unit,
    category: ReportEntry['category'],
    path: Name,
    reason: string,
    counted?: ReportEntry['counted'],
    directory?: true,
  ): void {
    if (!this.options.report) return;
    this.entries.push({
      root: unit.root,
      category,
      path: toBytes(path),
      reason,
      ...(counted ? { counted } : {}),
      ...(directory ? { directory } : {}),
    });
  }

  /**
   * An entry that could not be read: reported as an error, counted as
   * unreadable, and its first few kept for the warning every run prints.
   */
  unreadableEntry(unit: Unit, path: Name, reason: string, counted?: 'different' | 'extra'): void {
    const unreadable = this.unreadable[unit.root]!;
    unreadable.count++;
    if (unreadable.samples.length < UNREADABLE_SAMPLES)
      unreadable.samples.push({ root: unit.root, category: 'error', path: toBytes(path), reason });
    if (!this.options.report) return;
    this.entries.push({
      root: unit.root,
      category: 'error',
      path: toBytes(path),
      reason,
      unreadable: true,
      ...(counted ? { counted } : {}),
    });
  }

  /**
   * A source entry that vanished during the walk (a file or a directory): counted in none of the
   * numbers, as a file that is gone is no file to copy, but reported and named in a warning.
   */
  vanishedEntry(unit: Unit, path: Name, reason: string): void {
    const vanished = this.unreadable[unit.root]!.vanished;
    vanished.count++;
    if (vanished.samples.length < UNREADABLE_SAMPLES)
      vanished.samples.push({ root: unit.root, category: 'error', path: toBytes(path), reason });
    this.report(unit, 'error', path, reason);
  }

  /** Notes a pair of devices whose number a side could not tell (compared by type alone), by side. */
  deviceNumbers(unit: Unit, s: FileFacts, t: FileFacts): void {
    if ((s.kind !== 'char-device' && s.kind !== 'block-device') || s.kind !== t.kind) return;
    const unnumbered = this.unreadable[unit.root]!.unnumberedDevices;
    if (s.rdev === undefined) unnumbered.source++;
    if (t.rdev === undefined) unnumbered.target++;
  }

  /** Hands over the counts since the last call (they restart at zero). */
  takeCounts(): Counts[] {
    const taken = this.counts.map((c) => ({ ...c }));
    for (const c of this.counts) Object.assign(c, zeroCounts());
    return taken;
  }

  /** Hands over what could not be read since the last call (the counts restart at zero). */
  takeUnreadable(): Unreadable[] {
    const taken = this.unreadable;
    this.unreadable = this.options.roots.map(zeroUnreadable);
    return taken;
  }

  excluded(rel: Name, kind: Kind): boolean {
    return (
      this.hasExcludes &&
      this.excludes.matches(typeof rel === 'string' ? rel : rel.toString('utf8'), kind === 'dir')
    );
  }

  tick(): void {
    this.seen++;
    if ((this.seen & 255) === 0) this.onTick?.(this);
  }

  /** Hands over the report entries gathered so far. */
  takeEntries(): ReportEntry[] {
    const taken = this.entries;
    this.entries = [];
    return taken;
  }

  tickContent(): void {
    this.onTick?.(this);
  }
}

/** A source directory that could not be listed: vanished (not counted) or unreadable (one different file). */
export function countUnlistedSource(
  tally: Tally,
  unit: Unit,
  listing: { missing: boolean; reason: string },
): void {
  if (listing.missing) {
    tally.vanishedEntry(unit, unit.rel, `source directory vanished during verification (${listing.reason})`);
    return;
  }
  const counts = tally.counts[unit.root]!;
  counts.total++;
  counts.different++;
  tally.unreadableEntry(unit, unit.rel, `cannot list the source directory: ${listing.reason}`, 'different');
}

/**
 * A target directory that cannot be listed (`reason`): one extra file, as what it holds is unknown
 * (a source directory that cannot be listed is one different file). Without it a target directory
 * the source lacks, or one under which the source has no file, would pass as consistent unseen.
 * The source's files under it are counted different by the merge (`targetProblem`).
 */
export function countUnlistedTarget(tally: Tally, unit: Unit, reason: string): void {
  tally.counts[unit.root]!.extra++;
  tally.unreadableEntry(unit, unit.rel, reason, 'extra');
}

/**
 * With `--metadata`: a directory on both sides whose own permissions or owner differ (`reason`, from
 * `describeDirectoryMetadata`) counts as one file, different, as a source directory that cannot be
 * listed does. The API counts files only, and a migration that lost a directory's owner or mode
 * (a service's data directory) must not pass.
 */
export function countDirectoryMetadata(tally: Tally, unit: Unit, reason: string | undefined): void {
  if (reason === undefined) return;
  const counts = tally.counts[unit.root]!;
  counts.total++;
  counts.different++;
  tally.report(unit, 'different', unit.rel, reason, 'different', true);
}

/** The entries of a directory that exists on one side only: all missing (source) or all extra (target). */
export function countOneSided(tally: Tally, unit: Unit, entries: readonly Entry[], children: Unit[]): void {
  const counts = tally.counts[unit.root]!;
  const isSource = unit.kind === 'source-only';
  for (const entry of entries) {
    tally.tick();
    const rel = joinPath(unit.rel, entry.name);
    if (tally.excluded(rel, entry.kind)) continue;
    if (entry.kind === 'dir')
      children.push({
        root: unit.root,
        kind: unit.kind,
        rel,
        ...(unit.targetProblem ? { targetProblem: unit.targetProblem } : {}),
      });
    else if (isSource && unit.targetProblem) {
      counts.total++;
      counts.different++;
      tally.unreadableEntry(unit, rel, unit.targetProblem, 'different');
    } else if (isSource) {
      counts.total++;
      counts.missing++;
      tally.report(unit, 'missing', rel, `${KIND_WORDS[entry.kind]} missing at the target`, 'missing');
    } else {
      counts.extra++;
      tally.report(unit, 'extra', rel, `${KIND_WORDS[entry.kind]} only at the target`, 'extra');
    }
  }
}

/**
 * Merges the sorted listings of one directory present on both sides:
 * counts every file, pushes the subdirectories to visit (in order), and
 * hands pairs of files to `comparePair`.
 */
export function mergeDirectory(
  tally: Tally,
  unit: Unit,
  sourceEntries: readonly Entry[],
  targetEntries: readonly Entry[],
  targetProblem: string | undefined,
  children: Unit[],
  comparePair: (rel: () => Name, name: Name, source: Entry, target: Entry) => void,
): void {
  const counts = tally.counts[unit.root]!;
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
    let sourceOut = false;
    let targetOut = false;
    if (tally.hasExcludes) {
      if (order <= 0 && s) sourceOut = tally.excluded(rel(), s.kind);
      // a name on both sides is matched once, unless one side is a directory and the other not
      if (order >= 0 && t)
        targetOut =
          order === 0 && (s!.kind === 'dir') === (t.kind === 'dir')
            ? sourceOut
            : tally.excluded(rel(), t.kind);
    }
    const src = order <= 0 && s && !sourceOut ? s : undefined;
    const dst = order >= 0 && t && !targetOut ? t : undefined;
    tally.tick();
    if (src && !dst) {
      if (src.kind === 'dir')
        children.push({
          root: unit.root,
          kind: 'source-only',
          rel: rel(),
          // under a target directory that cannot be listed, the target's side is unknown, not empty
          ...(targetProblem ? { targetProblem } : {}),
        });
      else {
        counts.total++;
        if (targetProblem) {
          counts.different++;
          tally.unreadableEntry(unit, rel(), targetProblem, 'different');
        } else {
          counts.missing++;
          tally.report(unit, 'missing', rel(), `${KIND_WORDS[src.kind]} missing at the target`, 'missing');
        }
      }
    } else if (!src && dst) {
      if (dst.kind === 'dir') children.push({ root: unit.root, kind: 'target-only', rel: rel() });
      else {
        counts.extra++;
        tally.report(unit, 'extra', rel(), `${KIND_WORDS[dst.kind]} only at the target`, 'extra');
      }
    } else if (src && dst) {
      if (src.kind === 'dir' && dst.kind === 'dir')
        children.push({ root: unit.root, kind: 'both', rel: rel() });
      else if (src.kind === 'dir') {
        // a target file stands where the source has a directory: the source's files are missing, the file is extra
        children.push({ root: unit.root, kind: 'source-only', rel: rel() });
        counts.extra++;
        tally.report(
          unit,
          'extra',
          rel(),
          `${KIND_WORDS[dst.kind]} at the target where the source has a directory`,
          'extra',
        );
      } else if (dst.kind === 'dir') {
        // a target directory stands where the source has a file: the file differs, the directory's files are extra
        counts.total++;
        counts.different++;
        tally.report(
          unit,
          'different',
          rel(),
          `${KIND_WORDS[src.kind]} at the source, directory at the target`,
          'different',
        );
        children.push({ root: unit.root, kind: 'target-only', rel: rel() });
      } else {
        comparePair(rel, name, src, dst);
      }
    }
  }
}

/** Counts one compared pair of files, given how the comparison went. */
export function countPair(tally: Tally, unit: Unit, rel: () => Name, judge: () => string | undefined): void {
  const counts = tally.counts[unit.root]!;
  let reason: string | undefined;
  try {
    reason = judge();
  } catch (error) {
    if (error instanceof VanishedError) {
      if (error.side === 'source') {
        tally.vanishedEntry(unit, rel(), 'source file vanished during verification');
        return;
      }
      counts.total++;
      counts.missing++;
      tally.report(unit, 'missing', rel(), 'target file vanished during verification', 'missing');
      return;
    }
    counts.total++;
    counts.different++;
    tally.unreadableEntry(
      unit,
      rel(),
      error instanceof SideError ? error.message : `cannot verify: ${describeError(error)}`,
      'different',
    );
    return;
  }
  counts.total++;
  if (reason !== undefined) {
    counts.different++;
    tally.report(unit, 'different', rel(), reason, 'different');
  }
}

/** Adds a part of a walk (one worker's batch) into the whole. */
export function mergeResult(into: EngineResult, part: EngineResult): void {
  part.counts.forEach((c, i) => {
    const t = into.counts[i]!;
    t.total += c.total;
    t.different += c.different;
    t.missing += c.missing;
    t.extra += c.extra;
  });
  part.unreadable.forEach((u, i) => {
    const t = into.unreadable[i]!;
    t.count += u.count;
    t.unnumberedDevices.source += u.unnumberedDevices.source;
    t.unnumberedDevices.target += u.unnumberedDevices.target;
    for (const sample of u.samples) if (t.samples.length < UNREADABLE_SAMPLES) t.samples.push(sample);
    t.vanished.count += u.vanished.count;
    for (const sample of u.vanished.samples)
      if (t.vanished.samples.length < UNREADABLE_SAMPLES) t.vanished.samples.push(sample);
  });
}
