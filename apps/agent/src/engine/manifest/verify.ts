import { describeDifference, describeDirectoryMetadata, type FileFacts } from '../difference.js';
import { interruption, pacer } from '../interrupt.js';
import {
  CHANGED_WHILE_READ,
  directoryFacts,
  type Entry,
  factsOf,
  type Kind,
  listOne,
  type Name,
  SideError,
  toBytes,
} from '../listing.js';
import { displayPath, joinPath } from '../paths.js';
import { defaultWorkers, WORKERS_AVAILABLE } from '../runner.js';
import {
  countDirectoryMetadata,
  countOneSided,
  countPair,
  countUnlistedSource,
  countUnlistedTarget,
  mergeDirectory,
  Tally,
} from '../tally.js';
import type { EngineOptions, Unit } from '../types.js';
import { hashFile, ManifestError } from './format.js';
import { DEFAULT_MANIFEST_HASH, loadHash, type ManifestHash } from './hash.js';
import { ManifestPool, type QuietReads } from './pool.js';
import type { SourceReadAhead } from './prefetch.js';
import type { DirBlock, ManifestReader } from './read.js';

/** A source file hashed on a worker, with the facts it was compared with. */
type HashedFile = { facts: FileFacts; read: { hash: string; changed: boolean } | Error };
/** The source files of a directory hashed on the workers, by name. */
type Hashed = Map<string, HashedFile>;
/** An entry of the manifest. */
type TargetEntry = DirBlock['entries'][number];
/** A pair whose source file is being hashed: counted once it is. */
interface Deferred {
  path: Name;
  name: string;
  sourcePath: Name;
  kind: Kind;
  target: TargetEntry;
}

/**
 * Directories (and their files) whose hashing may be under way while the next ones are merged:
 * enough to keep the workers busy while this thread reads the manifest and lists the source.
 */
const MAX_PENDING_DIRECTORIES = 16;
const MAX_PENDING_FILES = 4096;

/** Threads that hash the source in content mode: `workers` if given, else one per core (at most 8). */
export function sourceHashThreads(sources: string[], workers: number | undefined): number {
  if (!WORKERS_AVAILABLE) return 0;
  return workers ?? defaultWorkers(sources.map((source) => ({ source, target: source })));
}

/**
 * Verifies source directories against a manifest: the same rules as against
 * a mounted target, walking in the manifest's order (one thread; the source
 * side's reads and hashes are the work).
 */
/**
 * A manifest describes its tree without what its `--exclude` patterns match, and only its `--dir`
 * directories: a verify that leaves out less, or looks elsewhere, would count what the manifest
 * never looked at as missing. Refused, saying what to give (a manifest of an older agent says
 * neither, and is taken as it is).
 */
function checkScope(reader: ManifestReader, excludes: readonly string[], targetRoots: readonly Name[]): void {
  // `- *.log` (rsync's rule prefix, as an --exclude-from line may have it) is `*.log`
  const rule = (pattern: string) => (pattern.startsWith('- ') ? pattern.slice(2) : pattern);
  const given = new Set(excludes.map(rule));
  const left = (reader.header.excludes ?? []).filter((pattern) => !given.has(rule(pattern)));
  if (left.length > 0)
    throw new ManifestError(
      `${reader.file} was made with ${left.map((p) => `--exclude ${JSON.stringify(p)}`).join(' ')}: what that leaves out is not in it, and would count as missing; verify with the same excludes, or make the manifest without them`,
    );
  const dirs = reader.header.dirs;
  // `--dir .` (or the tree's own path) describes the whole tree
  if (!dirs || dirs.includes('')) return;
  const outside = targetRoots
    .map((root) => (typeof root === 'string' ? root : root.toString('utf8')))
    .find((root) => !dirs.some((dir) => root === dir || root.startsWith(`${dir}/`)));
  if (outside !== undefined)
    throw new ManifestError(
      `${reader.file} describes only ${dirs.map((d) => `--dir ${JSON.stringify(d)}`).join(' ')} of ${reader.header.root}, not ${outside === '' ? 'the whole tree' : JSON.stringify(outside)}: verify those with --dir, or make the manifest of what you verify`,
    );
}

export class ManifestVerifier {
  readonly tally: Tally;
  private readonly buffer = Buffer.allocUnsafe(256 * 1024);
  /** Roots whose directory the manifest does not have. */
  readonly missingRoots = new Set<number>();
  /** Directories on both sides whose own mode and owner the manifest does not give (made by an older sms-agent). */
  directoriesWithoutMetadata = 0;
  /** Units whose directory the manifest itself listed as a directory (so it must describe it). */
  private readonly listedByManifest = new WeakSet<Unit>();
  private pool: ManifestPool | undefined;
  /** Directories whose files the workers are hashing, oldest first: their pairs are counted once hashed. */
  private readonly pending: { unit: Unit; hashed: Promise<Hashed>; deferred: Deferred[] }[] = [];
  private pendingFiles = 0;
  private stopped: Promise<never> = new Promise(() => {});
  /** The source side's files are hashed as the manifest's were. */
  private readonly hash: ManifestHash;

  constructor(
    private readonly options: EngineOptions,
    private readonly reader: ManifestReader,
    /** Each root's path inside the manifest. */
    private readonly targetRoots: Name[],
    onTick?: (tally: Tally) => void,
    /** The source side read ahead while the manifest was on its way, if it was. */
    private readonly readAhead?: SourceReadAhead,
    /** Threads that hash the source in content mode (0: none; default: one per core, at most 8). */
    private readonly workers?: number,
  ) {
    this.tally = new Tally(options, onTick);
    this.hash = reader.header.hash ?? DEFAULT_MANIFEST_HASH;
    if (options.mode === 'content' && reader.header.mode !== 'content') {
      throw new ManifestError(
        `${reader.file} has no content hashes (it was made in quick mode): make it with --mode content, or verify with --mode quick`,
      );
    }
    checkScope(reader, options.excludes, targetRoots);
  }

  /** Verifies the units (one per root, in the manifest's order) and everything under them. */
  async run(initial: Unit[], signal?: AbortSignal): Promise<void> {
    if (this.options.mode === 'content') await loadHash(this.hash);
    this.stopped = interruption(signal);
    // content mode hashes the source on worker threads, a directory's files at once
    if (this.options.mode === 'content') {
      // the threads that hashed the source ahead while the manifest was on its way go on (their
      // number was reckoned then); otherwise as many as the source's filesystems call for
      this.pool = this.readAhead?.takePool(this.hash);
      const workers = this.pool
        ? 0
        : sourceHashThreads(
            this.options.roots.map((r) => r.source),
            this.workers,
          );
      if (workers > 0)
        this.pool = new ManifestPool(
          workers,
          { role: 'manifest', mode: 'content', hash: this.hash, excludes: [] },
          () => {},
        );
    }
    if (this.pool)
      this.pool.onBytes = (n) => {
        this.tally.bytes += n;
        // a large file hashed is progress while it lasts (the progress line, --io-timeout)
        this.tally.tickContent();
      };
    else await this.readAhead?.close();
    try {
      await this.walk(initial, signal);
    } finally {
      await this.pool?.close();
    }
  }

  private async walk(initial: Unit[], signal?: AbortSignal): Promise<void> {
    const pause = pacer(signal);
    for (const root of initial) {
      const stack: Unit[] = [root];
      while (stack.length > 0) {
        // the reader's lines may all be buffered: let a signal be heard now and then
        await pause();
        const unit = stack.pop()!;
        const children: Unit[] = [];
        await this.process(unit, children);
        for (let k = children.length - 1; k >= 0; k--) stack.push(children[k]!);
      }
    }
    while (this.pending.length > 0) await this.settleOldest();
    await this.reader.finish();
  }

  private async process(unit: Unit, children: Unit[]): Promise<void> {
    const root = this.options.roots[unit.root]!;
    const sourceDir = joinPath(root.source, unit.rel);
    this.tally.current = typeof sourceDir === 'string' ? sourceDir : displayPath(sourceDir);
    const manifestPath = joinPath(this.targetRoots[unit.root]!, unit.rel);
    const ahead = unit.kind === 'target-only' ? undefined : this.readAhead?.take(unit.root, unit.rel);
    if (unit.kind === 'source-only') {
      const listing = ahead?.listing ?? listOne(sourceDir, typeof unit.rel !== 'string');
      if (listing.ok) countOneSided(this.tally, unit, listing.entries, children);
      else countUnlistedSource(this.tally, unit, listing);
      return;
    }
    const block = await this.reader.blockFor(manifestPath);
    // the manifest has come: its files are hashed as it asks
    this.readAhead?.stopHashing();
    if (!block && unit.rel.length === 0) this.missingRoots.add(unit.root);
    else if (!block && (unit.kind === 'target-only' || this.listedByManifest.has(unit))) {
      // the manifest named this directory but has no line for it: damaged, not empty
      throw new ManifestError(
        `${this.reader.file} lists the directory ${typeof manifestPath === 'string' ? manifestPath : displayPath(manifestPath)} but does not describe it: make it again`,
      );
    }
    if (unit.kind === 'target-only') {
      if (block?.err)
        countUnlistedTarget(
          this.tally,
          unit,
          `cannot list the target directory (when the manifest was made): ${block.err}`,
        );
      else if (block) countOneSided(this.tally, unit, block.entries, children);
      return;
    }
    let source = ahead?.listing ?? listOne(sourceDir, typeof unit.rel !== 'string');
    if (!source.ok) {
      countUnlistedSource(this.tally, unit, source);
      return;
    }
    const targetEntries = block?.entries ?? [];
    // both sides in one form, so that they merge in one order
    if (
      targetEntries.some((e) => typeof e.name !== 'string') &&
      source.entries.some((e) => typeof e.name === 'string')
    ) {
      source = listOne(toBytes(sourceDir), true);
      if (!source.ok) {
        countUnlistedSource(this.tally, unit, source);
        return;
      }
    }
    if (block && !block.err && this.options.metadata.length > 0)
      this.compareDirectory(unit, sourceDir, block);
    const sourceEntries = source.entries;
    const targetProblem = block?.err
      ? `cannot list the target directory (when the manifest was made): ${block.err}`
      : undefined;
    if (targetProblem) countUnlistedTarget(this.tally, unit, targetProblem);
    // with workers, the files to hash are sent to them now and their pairs counted once hashed, while
    // the next directories are merged: the workers hash while this thread reads the manifest and lists
    const hashing = this.pool
      ? this.hashAhead(unit, sourceDir, sourceEntries, targetEntries, ahead)
      : undefined;
    const deferred: Deferred[] = [];
    mergeDirectory(
      this.tally,
      unit,
      sourceEntries,
      targetEntries,
      targetProblem,
      children,
      (rel, name, s, t) => {
        // the merge hands back the manifest's own entry
        const target = t as TargetEntry;
        const sourcePath = joinPath(sourceDir, name);
        // a pair being hashed is held as data (its path made now), not as a closure that would keep
        // this directory's listings alive until it is counted; its facts are the ones it was hashed with
        if (typeof name === 'string' && hashing?.names.has(name))
          deferred.push({ path: rel(), name, sourcePath, kind: s.kind, target });
        else {
          const known = typeof name === 'string' ? ahead?.facts.get(name) : undefined;
          this.countSourcePair(unit, rel, sourcePath, s.kind, target, known, undefined);
        }
      },
    );
    for (const child of children) if (child.kind === 'both') this.listedByManifest.add(child);
    if (hashing && deferred.length > 0) {
      this.pending.push({ unit, hashed: hashing.hashed, deferred });
      this.pendingFiles += deferred.length;
      while (this.pending.length > MAX_PENDING_DIRECTORIES || this.pendingFiles > MAX_PENDING_FILES)
        await this.settleOldest();
    }
  }

  /** With `--metadata`: the directory's own mode and owner against the manifest's (which older manifests lack). */
  private compareDirectory(unit: Unit, sourceDir: Name, block: DirBlock): void {
    if (!block.facts) {
      this.directoriesWithoutMetadata++;
      return;
    }
    const source = directoryFacts('source', sourceDir, unit.rel.length === 0);
    if (source)
      countDirectoryMetadata(this.tally, unit, describeDirectoryMetadata(source, block.facts, this.options));
  }

  /** Counts the pairs of the oldest directory whose files are being hashed, once they are. */
  private async settleOldest(): Promise<void> {
    const { unit, hashed, deferred } = this.pending.shift()!;
    this.pendingFiles -= deferred.length;
    const reads = await Promise.race([hashed, this.stopped]);
    for (const d of deferred)
      this.countSourcePair(unit, () => d.path, d.sourcePath, d.kind, d.target, undefined, reads.get(d.name));
  }

  /**
   * Counts a pair of files: the source's (its facts read ahead, or hashed on a worker, if they were)
   * against the manifest's entry.
   */
  private countSourcePair(
    unit: Unit,
    rel: () => Name,
    sourcePath: Name,
    kind: Kind,
    target: TargetEntry,
    known: FileFacts | Error | undefined,
    pre: HashedFile | undefined,
  ): void {
    countPair(this.tally, unit, rel, () => {
      if (target.err) throw new SideError('target', `${target.err} (when the manifest was made)`);
      if (known instanceof Error) throw known;
      const source =
        pre?.facts ?? known ?? factsOf('source', sourcePath, kind, this.options.metadata.length > 0);
      this.tally.deviceNumbers(unit, source, target.facts!);
      const verdict = describeDifference(source, target.facts!, this.options);
      if (verdict !== 'content') return verdict;
      if (target.changed) return `${CHANGED_WHILE_READ} (at the target, while the manifest was made)`;
      if (pre?.read instanceof Error) throw pre.read;
      const read =
        pre?.read ??
        hashFile(
          sourcePath,
          source,
          this.buffer,
          (n) => {
            this.tally.bytes += n;
            this.tally.tickContent();
          },
          this.hash,
        );
      if (read.changed) return `${CHANGED_WHILE_READ} (at the source)`;
      return read.hash === target.hash ? undefined : 'content differs';
    });
  }

  /**
   * Content mode with workers: the files of a source directory that the merge will hash (those
   * whose size and time match the manifest's), hashed on the workers at once, by name with the
   * facts they were compared with. Names that are not UTF-8 are left to the merge.
   */
  private hashAhead(
    unit: Unit,
    sourceDir: Name,
    sourceEntries: Entry[],
    targetEntries: TargetEntry[],
    ahead: ReturnType<SourceReadAhead['take']>,
  ): { names: Set<string>; hashed: Promise<Hashed> } {
    const hashed: Hashed = new Map();
    const none = { names: new Set<string>(), hashed: Promise.resolve(hashed) };
    if (typeof sourceDir !== 'string') return none;
    const targets = new Map<string, TargetEntry>();
    for (const t of targetEntries)
      if (typeof t.name === 'string' && t.kind === 'file' && t.hash && !t.err && !t.changed)
        targets.set(t.name, t);
    if (targets.size === 0) return none;
    // the files hashed ahead, by name: their batch's reads and their place in it
    const early = new Map<string, { reads: Promise<QuietReads>; index: number }>();
    for (const { names, reads } of ahead?.hashes ?? [])
      for (const [index, name] of names.entries()) early.set(name, { reads, index });
    const used: { name: string; facts: FileFacts; reads: Promise<QuietReads>; index: number }[] = [];
    const files: { path: string; facts: FileFacts }[] = [];
    const names: string[] = [];
    for (const s of sourceEntries) {
      if (typeof s.name !== 'string' || s.kind !== 'file') continue;
      const target = targets.get(s.name);
      if (!target) continue;
      // what the merge leaves out is not read
      if (this.tally.hasExcludes && this.tally.excluded(joinPath(unit.rel, s.name), 'file')) continue;
      let facts = ahead?.facts.get(s.name);
      if (facts instanceof Error) continue;
      const path = joinPath(sourceDir, s.name) as string;
      try {
        facts ??= factsOf('source', path, s.kind, this.options.metadata.length > 0);
      } catch {
        continue; // the merge stats it again and counts what it finds
      }
      if (describeDifference(facts, target.facts!, this.options) !== 'content') continue;
      // hashed ahead with the same facts (read ahead), or hashed now
      const before = early.get(s.name);
      if (before) used.push({ name: s.name, facts, ...before });
      else {
        files.push({ path, facts });
        names.push(s.name);
      }
    }
    if (files.length === 0 && used.length === 0) return none;
    const reading = Promise.all([
      files.length > 0 ? this.pool!.hash(files) : [],
      Promise.all(used.map((u) => u.reads)),
    ]).then(([reads, earlier]) => {
      for (let i = 0; i < names.length; i++)
        hashed.set(names[i]!, { facts: files[i]!.facts, read: reads[i]! });
      for (const [i, { name, facts, index }] of used.entries()) {
        const read = earlier[i]!.reads[index]!;
        // its bytes were not told as they were read (nobody knew yet whether they are compared)
        this.tally.bytes += earlier[i]!.bytes[index]!;
        hashed.set(name, { facts, read });
      }
      return hashed;
    });
    // awaited when its directory is counted; handled now, so that it is never an unhandled rejection
    // when the walk stops before (an interruption, a report that cannot be written)
    reading.catch(() => {});
    return { names: new Set([...names, ...used.map((u) => u.name)]), hashed: reading };
  }
}
