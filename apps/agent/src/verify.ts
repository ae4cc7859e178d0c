import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { parsePattern } from './engine/exclude.js';
import { sshfsRemote } from './engine/filesystems.js';
import { InterruptedError, throwIfInterrupted, yieldToEvents } from './engine/interrupt.js';
import type { SourceReadAhead } from './engine/manifest/prefetch.js';
import type { ManifestReader } from './engine/manifest/read.js';
import { displayPath } from './engine/paths.js';
import { isSuspect, recheck } from './engine/recheck.js';
import { type RunOptions, reportInThread, runEngine } from './engine/runner.js';
import type {
  Counts,
  EngineResult,
  MetadataField,
  Mode,
  Progress,
  ReportEntry,
  RootSpec,
  Unit,
  Unreadable,
} from './engine/types.js';
import { plural } from './plural.js';
import type { RemoteEvent, RemoteSession } from './remote/session.js';
import { displayAt, type RemoteTarget, shellQuote } from './remote/target.js';
import { uploadLimitProblem } from './upload/results.js';

/** A problem that prevents verification: the CLI exits 2 with its message. */
export class VerifyError extends Error {
  override name = 'VerifyError';
}

export interface VerifyOptions {
  source: string;
  /** The target directory on this machine; or give `targetManifest`. */
  target?: string;
  /** A manifest of the target made with `sms-agent manifest` (plain or gzipped NDJSON). */
  targetManifest?: string;
  /** A target on another host, reached over ssh: its manifest is made there and read as it arrives. */
  targetRemote?: { target: RemoteTarget; ssh?: string[]; remoteAgent?: string };
  /**
   * Directories below the source to verify one by one (relative to it, or
   * absolute below it); none: the source itself. Each result's `dir_check` is
   * the directory's absolute path, or the `dirCheck` given with it (`run`: the
   * directory as the task names it on the source server, not where it is
   * found here).
   */
  dirs?: readonly (string | DirectorySpec)[];
  mode?: Mode;
  /** Times that differ by at most this many whole seconds count as equal (rsync's --modify-window; default 0). */
  modifyWindow?: number;
  /** Ownership and permission fields compared as well (default none). */
  metadata?: MetadataField[];
  excludes?: string[];
  report?: boolean;
  workers?: number;
  onProgress?: (progress: Progress) => void;
  onEntries?: (entries: ReportEntry[], dirChecks: string[]) => void;
  /** Stops verification with `InterruptedError` (its reason names the signal). */
  signal?: AbortSignal;
  /** Verify every path found different or missing once more after the walk, and count only what still differs. */
  recheck?: boolean;
  /** Seconds to wait before the recheck (default 10, as the SMS agent). */
  recheckDelaySeconds?: number;
  /** Called when the recheck's wait begins, with the number of paths it will look at again. */
  onRecheck?: (paths: number, delaySeconds: number) => void;
  /** Called once the arguments are checked, right before the walk (the CLI opens its report then). */
  onStart?: () => void;
  /**
   * Over ssh: told what the remote side does (a copy of this agent sent, the agent running there);
   * given, the remote agent also sends its heartbeat, told as `progress`.
   */
  onRemote?: (event: RemoteEvent) => void;
}

/** A directory to verify and the `dir_check` its result carries. */
export interface DirectorySpec {
  dir: string;
  dirCheck: string;
}

export interface DirectoryResult {
  /** The absolute path of the verified source directory: the upload's `dir_check`. */
  dirCheck: string;
  source: string;
  target: string;
  counts: Counts;
  consistent: boolean;
  /** Entries that could not be read on either side (files among them count as different). */
  unreadable: number;
  /** Paths that differed during the walk and matched on the recheck (`--recheck`): in no count. */
  transient: number;
  /** Why this result cannot be uploaded as it is (a limit of the API), if it cannot. */
  notUploadable?: string;
}

export interface VerifyResult {
  mode: Mode;
  results: DirectoryResult[];
  notices: string[];
  warnings: string[];
  durationMs: number;
  entriesSeen: number;
  bytesCompared: number;
}

function isDirectory(path: string): boolean | undefined {
  try {
    return statSync(path).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // not there, or a file on the way to it (a target's a/b where a is a file): no such directory
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new VerifyError(`cannot read ${path}: ${code ?? String(error)}`);
  }
}

/** True when both paths lead to one directory (the same path, or links to it). */
function sameDirectory(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * The first absolute symbolic link on the way from `base` down to `base`/`rel` (at or above the
 * directory), as `link -> target`; undefined when there is none or `base` is `/`. On a mounted
 * target such a link names a path of the target's own host, which this host reads instead.
 */
function absoluteLinkBelow(base: string, rel: string): string | undefined {
  if (resolve(base) === '/') return undefined;
  let path = base;
  for (const name of rel.split(sep)) {
    path = resolve(path, name);
    try {
      if (!lstatSync(path).isSymbolicLink()) continue;
      const to = readlinkSync(path);
      if (isAbsolute(to)) return `${path} -> ${to}`;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A `--dir` value (relative to the source, or absolute) as a path relative to the source. */
function relativeDir(source: string, dir: string): string {
  return isAbsolute(dir) ? relative(source, dir) : relative(source, resolve(source, dir));
}

/** The `--dir` values as clean relative paths, outer directories only. */
export function normalizeDirs(source: string, dirs: readonly string[], notices: string[]): string[] {
  const relatives = dirs.map((dir) => {
    const rel = relativeDir(source, dir);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new VerifyError(`--dir ${dir}: is outside the source directory ${source}`);
    }
    return rel;
  });
  const unique = [...new Set(relatives)].sort((a, b) => a.length - b.length || a.localeCompare(b));
  if (unique.length < relatives.length) notices.push('a --dir given more than once is verified once');
  const kept: string[] = [];
  for (const rel of unique) {
    const outer = kept.find((k) => k === '' || rel.startsWith(`${k}${sep}`));
    if (outer !== undefined) {
      notices.push(
        `${resolve(source, rel)} is inside ${resolve(source, outer)}: only ${resolve(source, outer)} is verified, as the SMS agent does`,
      );
    } else kept.push(rel);
  }
  // keep the order the user gave
  return relatives.filter((rel, i) => kept.includes(rel) && relatives.indexOf(rel) === i);
}

/** The warning every run prints when entries could not be read: how many, and the first few with why. */
export function unreadableWarning(dirCheck: string, unreadable: Unreadable): string {
  const named = unreadable.samples.map((s) => `${displayPath(s.path) || '.'} (${s.reason})`).join('; ');
  const more = unreadable.count - unreadable.samples.length;
  return (
    `${plural(unreadable.count, 'entry', 'entries')} of ${dirCheck} could not be read ` +
    `(a file or source directory that cannot be read counts as one different file, a target directory that cannot be listed as one extra file; verify as a user who can read both trees): ` +
    `${named}${more > 0 ? `; and ${more} more (--report FILE names every one)` : ''}`
  );
}

/** The warning for source entries that vanished during the walk: not counted, never silent. */
export function vanishedWarning(dirCheck: string, vanished: Unreadable['vanished']): string {
  const named = vanished.samples.map((s) => `${displayPath(s.path) || '.'} (${s.reason})`).join('; ');
  const more = vanished.count - vanished.samples.length;
  return (
    `${plural(vanished.count, 'entry', 'entries')} of ${dirCheck} vanished from the source during verification ` +
    `(counted in none of the numbers, and what the target has there was not looked at; verify again once the source is still, or --exclude what changes on its own): ` +
    `${named}${more > 0 ? `; and ${more} more (--report FILE names every one)` : ''}`
  );
}

/**
 * The warnings for devices compared by type alone, their number (major:minor) unknown on one side:
 * why it is, and what would read it, as the target was reached (`manifest`: the manifest file;
 * `remote`: over ssh).
 */
export function unnumberedDevicesWarnings(
  dirCheck: string,
  unreadable: Unreadable,
  target: { manifest?: string; remote?: string; recheck?: boolean },
): string[] {
  const said = (n: number, side: string, why: string) =>
    `${plural(n, 'device', 'devices')} of ${dirCheck} ${n === 1 ? 'was' : 'were'} compared by type alone, ` +
    `${n === 1 ? 'its' : 'their'} number (major:minor) unknown at the ${side}: ${why}`;
  const { source, target: atTarget } = unreadable.unnumberedDevices;
  const warnings: string[] = [];
  if (source > 0)
    warnings.push(
      said(
        source,
        'source',
        'it shows every device as 0:0 (through an sshfs mount: SFTP has no field for it); run the agent on the source host itself',
      ),
    );
  if (atTarget > 0)
    warnings.push(
      said(
        atTarget,
        'target',
        target.remote !== undefined
          ? `the sms-agent on ${target.remote} gave none: there, the tree is read through a mount that shows every device as 0:0 (sshfs; verify over ssh to the host that holds it), or that agent is an older one (update it)`
          : target.manifest !== undefined
            ? `the manifest ${target.manifest} gives none (one made by an older sms-agent, or of a tree read through an sshfs mount); make it again with this sms-agent on the target host`
            : `it shows every device as 0:0 (through an sshfs mount: SFTP has no field for it); ${
                target.recheck
                  ? 'compare their numbers on the target host (ls -l)'
                  : 'verified over ssh (--target HOST:PATH, CONSISTENCY_TARGET for run and the daemon), the numbers are read there'
              }`,
      ),
    );
  return warnings;
}

/**
 * Verifies the source against the target: one result per verified directory.
 * Throws `VerifyError` when verification cannot start (a missing source).
 */
export async function verify(options: VerifyOptions): Promise<VerifyResult> {
  // process.hrtime rather than performance.now(): the global `performance` loads node:perf_hooks (0.7 ms of a start)
  const started = process.hrtime.bigint();
  const notices: string[] = [];
  const warnings: string[] = [];
  const source = resolve(options.source);
  const given = [options.target, options.targetManifest, options.targetRemote].filter((t) => t !== undefined);
  if (given.length !== 1) {
    throw new VerifyError(
      'give the target as --target DIR (or host:DIR over ssh) or as --target-manifest FILE (one of them)',
    );
  }
  if (options.recheck && options.targetManifest !== undefined) {
    throw new VerifyError(
      '--recheck looks at the target again, which a manifest cannot: verify a mounted --target, or leave out --recheck',
    );
  }
  if (options.recheck && options.targetRemote !== undefined) {
    throw new VerifyError(
      '--recheck looks at the target again, which verification over ssh (one manifest made there) cannot yet: mount the target (sshfs) and verify it as a directory, or leave out --recheck',
    );
  }
  // a target mounted with sshfs: over ssh, each file is not looked up through the mount (not
  // with --recheck, which over ssh is refused)
  if (options.target !== undefined && !options.recheck) {
    const target = resolve(options.target);
    const remote = sshfsRemote(target);
    if (remote !== undefined)
      notices.push(
        `the target ${target} is an sshfs mount of ${remote}: as --target ${shellQuote(remote)} (CONSISTENCY_TARGET for run and the daemon; --ssh for the options the mount uses) it is verified over ssh instead, by an sms-agent run there, without a round trip through the mount for each file (about twice as fast in the agent's benchmark)`,
      );
  }
  const sourceIsDir = isDirectory(source);
  if (sourceIsDir === undefined) throw new VerifyError(`source directory ${source} does not exist`);
  if (!sourceIsDir) throw new VerifyError(`source ${source} is not a directory`);
  const requested = options.dirs ?? [];
  const dirs =
    requested.length > 0
      ? normalizeDirs(
          source,
          requested.map((d) => (typeof d === 'string' ? d : d.dir)),
          notices,
        )
      : [''];
  // the dir_check given with a directory, by its path relative to the source (the first, when given twice)
  const givenDirChecks = new Map<string, string>();
  for (const d of requested) {
    if (typeof d === 'string') continue;
    const rel = relativeDir(source, d.dir);
    if (!givenDirChecks.has(rel)) givenDirChecks.set(rel, d.dirCheck);
  }
  // the manifest names directories with '/'
  const manifestDirs = dirs.map((d) => d.split(sep).join('/'));
  // a bad pattern is said here, once, before anything runs (not by every worker); the thread that
  // walks compiles them
  for (const pattern of options.excludes ?? []) parsePattern(pattern);
  // the manifest's code (valibot, zlib, readline) is loaded only when a manifest is read: verify starts faster
  const manifest =
    options.targetManifest !== undefined || options.targetRemote !== undefined
      ? await Promise.all([import('./engine/manifest/read.js'), import('./engine/manifest/verify.js')])
      : undefined;
  // the manifest is read once, in its own order: the roots' indices in that order
  const manifestOrder = manifest
    ? manifestDirs
        .map((_, i) => i)
        .sort((a, b) => manifest[0].comparePaths(manifestDirs[a]!, manifestDirs[b]!))
    : undefined;
  let session: RemoteSession | undefined;
  let reader: ManifestReader | undefined;
  let readAhead: SourceReadAhead | undefined;
  if (options.targetRemote) {
    const [remote, { SourceReadAhead }] = await Promise.all([
      import('./remote/manifest.js'),
      import('./engine/manifest/prefetch.js'),
    ]);
    // while ssh connects and the remote agent starts, the source side is read ahead (not while a copy
    // of this agent is sent: the copy moves a chunk per turn of the event loop)
    let sending = false;
    const opening = remote.openRemoteManifest({
      ...options.targetRemote,
      dirs: manifestDirs,
      mode: options.mode ?? 'quick',
      excludes: options.excludes ?? [],
      ...(options.workers === undefined ? {} : { workers: options.workers }),
      ...(options.signal ? { signal: options.signal } : {}),
      onRemote: (event) => {
        if (event === 'copying') sending = true;
        else if (event === 'copied') sending = false;
        options.onRemote?.(event);
      },
      heartbeat: options.onRemote !== undefined,
    });
    let opened = false;
    opening.then(
      () => (opened = true),
      () => (opened = true),
    );
    try {
      const sources = dirs.map((d) => resolve(source, d));
      readAhead = new SourceReadAhead(
        sources,
        options.excludes ?? [],
        (options.metadata ?? []).length > 0,
        manifestOrder!,
      );
      // content mode: the source's files are hashed meanwhile too
      const threads =
        options.mode === 'content' ? manifest![1].sourceHashThreads(sources, options.workers) : 0;
      if (threads > 0) readAhead.startHashing(threads);
      let more = true;
      while (!opened && more) {
        if (sending) await new Promise((resolve) => setTimeout(resolve, 5));
        else {
          more = readAhead.step(1024);
          await yieldToEvents();
        }
      }
      ({ reader, session } = await opening);
    } catch (error) {
      await readAhead?.close();
      // the session is not left running (nobody would read it, and it would never end)
      await opening.then(
        (o) => o.session.close(),
        () => {},
      );
      throw error;
    }
    for (const note of session!.notes) notices.push(note);
    notices.push(`the target's manifest is made on ${session!.destination} by ${session!.agent}`);
  } else if (manifest) reader = await manifest[0].ManifestReader.open(options.targetManifest!);
  try {
    return await verifyAgainst(options, {
      readAhead,
      source,
      dirs,
      givenDirChecks,
      manifestDirs,
      manifestOrder,
      notices,
      warnings,
      started,
      reader,
      session,
      manifest,
    });
  } finally {
    session?.close();
    // the threads hashing the source ahead, if the verification did not take them
    await readAhead?.close();
  }
}

/** Where the target's side comes from, once it is open. */
interface Opened {
  source: string;
  dirs: string[];
  /** The `dir_check` given with a directory (by its relative path), when one was. */
  givenDirChecks: ReadonlyMap<string, string>;
  manifestDirs: string[];
  manifestOrder: number[] | undefined;
  notices: string[];
  warnings: string[];
  /** When the verification started (process.hrtime.bigint()). */
  started: bigint;
  reader: ManifestReader | undefined;
  session: RemoteSession | undefined;
  readAhead: SourceReadAhead | undefined;
  manifest:
    | [typeof import('./engine/manifest/read.js'), typeof import('./engine/manifest/verify.js')]
    | undefined;
}

async function verifyAgainst(options: VerifyOptions, opened: Opened): Promise<VerifyResult> {
  const {
    source,
    dirs,
    givenDirChecks,
    manifestDirs,
    manifestOrder,
    notices,
    warnings,
    started,
    reader,
    session,
    manifest,
    readAhead,
  } = opened;
  const remote = options.targetRemote?.target;
  const target = reader ? reader.header.root : resolve(options.target!);
  if (!reader && sameDirectory(source, target)) {
    warnings.push(
      `the source and the target are the same directory (${source}): it is verified against itself, which says nothing about a migration`,
    );
  }

  const roots: RootSpec[] = [];
  const units: Unit[] = [];
  const described: Pick<DirectoryResult, 'dirCheck' | 'source' | 'target'>[] = [];
  for (const rel of dirs) {
    const sourceDir = resolve(source, rel);
    const targetDir = resolve(target, rel);
    const isDir = isDirectory(sourceDir);
    if (isDir === undefined)
      throw new VerifyError(`source directory ${sourceDir} (--dir ${rel}) does not exist`);
    if (!isDir) throw new VerifyError(`source ${sourceDir} (--dir ${rel}) is not a directory`);
    const targetIsDir = reader ? true : isDirectory(targetDir);
    if (targetIsDir !== true) {
      warnings.push(
        targetIsDir === undefined
          ? `target directory ${targetDir} does not exist: every file of ${sourceDir} counts as missing`
          : `target ${targetDir} is not a directory: every file of ${sourceDir} counts as missing`,
      );
    }
    if (!reader && rel !== '' && targetIsDir === true) {
      // the target's directory is the source's own (through a link): compared with itself, a copy
      // that lacks its data would read consistent
      if (sameDirectory(sourceDir, targetDir) && !sameDirectory(source, target))
        throw new VerifyError(
          `the target's ${rel} is the source's own directory (${realpathSync(sourceDir)}), reached through a symbolic link: it would be verified against itself; verify the directory the target's link stands for (on a mounted target an absolute link names a path of the target's own host: give that path below the target with --dir, or reach the target over ssh)`,
        );
      const link = absoluteLinkBelow(target, rel);
      if (link !== undefined)
        warnings.push(
          `the target's ${rel} is reached through an absolute symbolic link (${link}), followed on this host: on a mounted target it names a path of the target's own host, so other files than the target's may be compared; verify that path below the target with --dir, or reach the target over ssh`,
        );
    }
    units.push({ root: roots.length, kind: targetIsDir ? 'both' : 'source-only', rel: '' });
    roots.push({ source: sourceDir, target: targetDir });
    described.push({
      dirCheck: givenDirChecks.get(rel) ?? sourceDir,
      source: sourceDir,
      target: remote ? displayAt(remote, targetDir) : reader ? `${reader.file} (${targetDir})` : targetDir,
    });
  }

  const suspects: ReportEntry[] = [];
  let entriesSeen = 0;
  let bytesCompared = 0;
  const dirChecks = described.map((d) => d.dirCheck);
  let suspectsReported = 0;
  /** Reports the suspects not reported yet: the run stops before its recheck could settle them. */
  const reportSuspects = () => {
    if (!options.report || suspects.length === suspectsReported) return;
    const rest = suspects.slice(suspectsReported);
    suspectsReported = suspects.length;
    options.onEntries?.(rest, dirChecks);
  };
  // in the signal's event, where an error thrown would end the process: a report that cannot be
  // written is said by the run's own error (its report's last line cannot be written either)
  const reportSuspectsOnAbort = () => {
    try {
      reportSuspects();
    } catch {}
  };
  const run: RunOptions = {
    roots,
    mode: options.mode ?? 'quick',
    modifyWindow: options.modifyWindow ?? 0,
    metadata: options.metadata ?? [],
    excludes: options.excludes ?? [],
    // the recheck needs the paths found different or missing, reported or not
    report: (options.report ?? false) || (options.recheck ?? false),
    onProgress: (p) => {
      entriesSeen = p.entries;
      bytesCompared = p.bytes;
      options.onProgress?.(p);
    },
    onEntries: (entries) => {
      if (!options.recheck) {
        options.onEntries?.(entries, dirChecks);
        return;
      }
      // what the recheck will look at again is reported once it has
      const settled = entries.filter((e) => !isSuspect(e));
      for (const e of entries) if (isSuspect(e)) suspects.push(e);
      // after the signal (the workers' last messages): reported now, as a stuck walk never ends
      if (options.signal?.aborted) reportSuspects();
      if (options.report && settled.length > 0) options.onEntries?.(settled, dirChecks);
    },
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  options.onStart?.();
  let walked: EngineResult;
  // a walk whose worker thread is stuck in a hung mount never ends, nor comes to the catch below: its
  // suspects are reported as the signal that stops it comes
  options.signal?.addEventListener('abort', reportSuspectsOnAbort, { once: true });
  try {
    if (reader && manifest) {
      const [, { ManifestVerifier }] = manifest;
      const reporting = reportInThread(run);
      const verifier = new ManifestVerifier(
        run,
        reader,
        manifestDirs,
        reporting.onTick,
        readAhead,
        run.workers,
      );
      // verify the directories in the manifest's order (unit i is root i)
      const ordered = manifestOrder!.map((root) => units[root]!);
      try {
        await verifier.run(ordered, options.signal);
        await session?.done();
      } catch (error) {
        if (!session || error instanceof InterruptedError) throw error;
        // the session ended because of the signal: the run was interrupted, nothing failed
        throwIfInterrupted(options.signal);
        const { explain } = await import('./remote/manifest.js');
        throw await explain(session, reader.stream, error);
      }
      reporting.finish(verifier.tally);
      for (const root of verifier.missingRoots) {
        warnings.push(
          remote
            ? `target directory ${described[root]!.target} does not exist: every file of ${described[root]!.source} counts as missing`
            : `the manifest ${reader.file} has no directory ${described[root]!.target}: every file of ${described[root]!.source} counts as missing`,
        );
      }
      if (verifier.directoriesWithoutMetadata > 0)
        warnings.push(
          remote
            ? `the sms-agent on the target host gave no mode or owner for ${plural(verifier.directoriesWithoutMetadata, 'directory', 'directories')}, so --metadata did not compare theirs (their files were compared): an sms-agent older than this one gives none; update the one there`
            : `the manifest ${reader.file} gives no mode or owner for ${plural(verifier.directoriesWithoutMetadata, 'directory', 'directories')}, so --metadata did not compare theirs (their files were compared): an sms-agent older than this one writes none; make the manifest again with this one`,
        );
      walked = { counts: verifier.tally.counts, unreadable: verifier.tally.unreadable };
    } else {
      walked = await runEngine(units, run);
    }
  } catch (error) {
    // a walk that ended early (a signal, --io-timeout, a failure) still reports what it held back for
    // the recheck: an incomplete report lists what was found, the paths to copy again first of all
    reportSuspects();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', reportSuspectsOnAbort);
  }
  let transient = roots.map(() => 0);
  if (options.recheck) {
    const delaySeconds = options.recheckDelaySeconds ?? 10;
    // stopped as the walk ended: no recheck is announced
    throwIfInterrupted(options.signal);
    options.onRecheck?.(suspects.length, delaySeconds);
    let second: Awaited<ReturnType<typeof recheck>>;
    try {
      second = await recheck(suspects, walked, { ...run, delaySeconds, signal: options.signal });
    } catch (error) {
      // interrupted during the recheck: the report still gets what the walk found, as it found it
      reportSuspects();
      throw error;
    }
    transient = second.transient;
    if (options.report && second.entries.length > 0) options.onEntries?.(second.entries, dirChecks);
  }
  const results = described.map((d, i) => {
    const c = walked.counts[i]!;
    const unreadable = walked.unreadable[i]!;
    if (unreadable.count > 0) warnings.push(unreadableWarning(d.dirCheck, unreadable));
    if (unreadable.vanished.count > 0) warnings.push(vanishedWarning(d.dirCheck, unreadable.vanished));
    warnings.push(
      ...unnumberedDevicesWarnings(d.dirCheck, unreadable, {
        ...(remote ? { remote: displayAt(remote, '') } : reader ? { manifest: reader.file } : {}),
        ...(options.recheck ? { recheck: true } : {}),
      }),
    );
    const problem = uploadLimitProblem(d.dirCheck, c);
    return {
      ...d,
      counts: c,
      consistent: c.different === 0 && c.missing === 0 && c.extra === 0,
      unreadable: unreadable.count,
      transient: transient[i]!,
      ...(problem ? { notUploadable: problem } : {}),
    };
  });
  return {
    mode: run.mode,
    results,
    notices,
    warnings,
    durationMs: Number(process.hrtime.bigint() - started) / 1e6,
    entriesSeen,
    bytesCompared,
  };
}
