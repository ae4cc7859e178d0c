import type { Hash } from 'node:crypto';
import { createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { crypto, zlib } from '../../builtins.js';
import { describeError, type Name } from '../listing.js';
import { joinPath } from '../paths.js';
import type { Mode, Progress } from '../types.js';
import type { ManifestDir } from './describe.js';
import { MANIFEST_VERSION, ManifestError } from './format.js';
import { DEFAULT_MANIFEST_HASH, type ManifestHash } from './hash.js';
import { ParallelDescriber } from './parallel.js';
import { comparePaths } from './read.js';

/** True when `output` is a regular file or is not there yet: written as `OUTPUT.partial`, then renamed. */
export function writesThroughRename(output: string): boolean {
  try {
    return statSync(output).isFile();
  } catch {
    return true;
  }
}

/**
 * Whether a root to describe is a directory: not there, or not a directory, is false (no block:
 * the verifier counts its files as missing, as a local verify does); any other failure (permission
 * denied on the way, a loop of links, an I/O error) is a `ManifestError`: a target that cannot be
 * read must never read as one whose files are all missing.
 */
function isDirectory(path: Name): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // not there, or a file on the way to it (ENOTDIR): no such directory
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw new ManifestError(`cannot read ${String(path)}: ${describeError(error)}`);
  }
}

async function writeLine(out: Writable, line: string, digest?: Hash): Promise<void> {
  digest?.update(`${line}\n`);
  if (!out.write(`${line}\n`)) await new Promise<void>((resolve) => out.once('drain', resolve));
}

export interface ManifestOptions {
  mode: Mode;
  /** Content mode's hash of each file (default xxh128). */
  hash?: ManifestHash;
  excludes: string[];
  /** the file to write (`.gz`: gzipped), or `-` for stdout */
  output: string;
  onProgress?: (p: Progress) => void;
  /**
   * Stops writing with `InterruptedError`; no file is left under the output's name (a device or a
   * pipe has had what was written so far, without an end record)
   */
  signal?: AbortSignal;
  /**
   * Only these directories below `dir` ('/'-separated, none inside another), each with what is
   * under it, excludes matched relative to each (as verify --dir does); one that is not a
   * directory gets no block (the verifier counts its files as missing). Default: `dir` itself.
   */
  dirs?: string[];
  /**
   * Threads that list, stat and hash ahead of the writing (0: none, all in this thread). Default:
   * in content mode the cores available (at most 8), on a network filesystem 4 per core (8 to
   * 16), else none.
   */
  workers?: number;
  /**
   * Called at most four times a second while the work moves (entries described, bytes hashed), by the
   * work itself: a thread stuck in a call to a hung mount moves nothing, so it calls nothing either.
   * Over ssh the verifying side's `--io-timeout` counts it as progress (`--heartbeat`).
   */
  heartbeat?: () => void;
}

/**
 * Writes the manifest of `dir`, streamed: the directories being written and
 * those described ahead by the workers in memory, never the whole tree.
 * `output` ending in `.gz` is gzipped; `-` is stdout. A file is written as
 * `OUTPUT.partial` and renamed to its name only once complete, so that an
 * interrupted or failed run never leaves a manifest cut short under the name a
 * verifier would read (a device or a pipe is written to as itself).
 */
export async function writeManifest(dir: string, given: ManifestOptions): Promise<ManifestWritten> {
  // absolute before the walk, which moves the working directory (cwd.ts)
  const options = { ...given, output: given.output === '-' ? '-' : resolve(given.output) };
  dir = resolve(dir);
  // a device or a pipe (-o /dev/null, a FIFO) is written as itself: renaming onto it would replace it
  const temporary =
    options.output === '-' || !writesThroughRename(options.output) ? undefined : `${options.output}.partial`;
  try {
    const written = await writeTo(dir, options, temporary);
    if (temporary) renameSync(temporary, options.output);
    return written;
  } catch (error) {
    if (temporary) rmSync(temporary, { force: true });
    throw error;
  }
}

export interface ManifestWritten {
  directories: number;
  files: number;
  /** The `dirs` that are not directories (so have no block). */
  absent: string[];
}

async function writeTo(
  dir: string,
  options: ManifestOptions,
  temporary: string | undefined,
): Promise<ManifestWritten> {
  // each root's blocks in the order the verifier reads them; `inner` is the path below the root.
  // Looked at before the output is opened: a root that cannot be read leaves no file behind
  const absent: string[] = [];
  const ordered: ManifestDir[] = [];
  for (const root of [...(options.dirs ?? [''])].sort(comparePaths)) {
    if (isDirectory(joinPath(dir, root))) ordered.push({ rel: root, inner: '' });
    else absent.push(root);
  }
  const out: Writable =
    options.output === '-' ? process.stdout : createWriteStream(temporary ?? options.output);
  const sink: Writable = options.output.endsWith('.gz') ? zlib().createGzip() : out;
  if (sink !== out) sink.pipe(out);
  const failed = new Promise<never>((_, reject) => {
    out.once('error', (error) =>
      reject(
        new ManifestError(
          `cannot write ${options.output === '-' ? 'to standard output' : options.output}: ${describeError(error)}`,
        ),
      ),
    );
  });
  const buffer = Buffer.allocUnsafe(256 * 1024);
  const progress: Progress = { entries: 0, bytes: 0, current: '' };
  let last = 0;
  // every line before the end record is hashed: a manifest changed anywhere is refused, never counted
  const digest = crypto().createHash('sha256');
  const hash = options.hash ?? DEFAULT_MANIFEST_HASH;
  let walk: ParallelDescriber | undefined;
  const work = (async () => {
    await writeLine(
      sink,
      JSON.stringify({
        sms_manifest: MANIFEST_VERSION,
        root: dir,
        mode: options.mode,
        hash: options.mode === 'content' ? hash : null,
        created_at: new Date().toISOString(),
        // its scope, so that a verify of another one is refused rather than miscounted
        ...(options.excludes.length > 0 ? { excludes: options.excludes } : {}),
        ...(options.dirs ? { dirs: options.dirs } : {}),
      }),
      digest,
    );
    let directories = 0;
    let files = 0;
    // the heartbeat, told from the work itself (in this thread's own loops too): a thread stuck in a
    // call to a hung mount tells nothing, so none is sent
    const { heartbeat } = options;
    let beaten = Date.now();
    const onActivity = heartbeat
      ? () => {
          if (Date.now() - beaten < HEARTBEAT_MS) return;
          beaten = Date.now();
          heartbeat();
        }
      : undefined;
    walk = new ParallelDescriber(
      dir,
      { ...options, hash, ...(onActivity ? { onActivity } : {}) },
      progress,
      buffer,
    );
    try {
      for await (const described of walk.inOrder(ordered)) {
        directories++;
        files += described.files;
        await writeLine(sink, described.line, digest);
        if (options.onProgress && Date.now() - last > 200) {
          last = Date.now();
          options.onProgress(progress);
        }
      }
    } finally {
      await walk.close();
    }
    await writeLine(sink, JSON.stringify({ end: { directories, files, sha256: digest.digest('hex') } }));
    await new Promise<void>((resolve) => {
      if (out === process.stdout) sink === out ? resolve() : sink.end(resolve);
      else {
        out.once('finish', () => resolve());
        sink.end();
      }
    });
    options.onProgress?.(progress);
    return { directories, files, absent };
  })();
  failed.catch(() => {}); // heard through the race; never unhandled after it
  try {
    return await Promise.race([work, failed]);
  } catch (error) {
    if (out !== process.stdout) out.destroy();
    // the walk may wait for a drain that never comes: its workers must not keep the process alive
    await walk?.close();
    throw error;
  }
}

/**
 * How often `ManifestOptions.heartbeat` may be called: well within the least `--io-timeout` (1 s),
 * with a worker's news at most every 200 ms and the way back over ssh (once a second, the timeout
 * of 1 s ran out between two heartbeats).
 */
const HEARTBEAT_MS = 250;
