import { enterDirectory, leaveDirectory } from '../cwd.js';
import type { ExcludeMatcher } from '../exclude.js';
import { InterruptedError } from '../interrupt.js';
import { describeError, directoryFacts, factsOf, listOne, type Name, SideError } from '../listing.js';
import { joinPath } from '../paths.js';
import type { Mode } from '../types.js';
import { hashFile, hashFileAsync, KIND_CODES, nameJson } from './format.js';
import type { ManifestHash } from './hash.js';

/** Files up to this size are hashed with synchronous reads (about 10 ms each at SHA-256's speed, 2 ms at xxh128's). */
export const SYNC_HASH_MAX = 16 * 1024 * 1024;

/** A directory of the manifest: its path below the manifest's root, and below the root excludes match from. */
export interface ManifestDir {
  rel: Name;
  inner: Name;
}

/** One directory described: its manifest line (without the newline) and its subdirectories, in order. */
export interface DescribedDir {
  line: string;
  children: ManifestDir[];
  files: number;
  entries: number;
}

export interface DescribeOptions {
  mode: Mode;
  /** Content mode's hash, loaded in this thread (`loadHash`). */
  hash: ManifestHash;
  excludes: ExcludeMatcher;
  /** Read buffer for hashing (content mode). */
  buffer: Buffer;
  /** Told of bytes hashed as they are read. */
  onBytes: (n: number) => void;
  /** Told of each entry described, as it is (a large directory takes long: its work still moves). */
  onEntry?: () => void;
  /**
   * Hashes a file larger than `SYNC_HASH_MAX` with asynchronous reads and gives the event loop a
   * turn between files (the main thread, where a signal must be heard); without it every file is
   * read with synchronous calls (a worker thread, which is ended to stop it).
   */
  interruptible?: { signal?: AbortSignal | undefined; pause: () => Promise<void> };
}

/**
 * Lists directory `root`/`dir.rel`, stats (and in content mode hashes) each entry, and writes its
 * manifest line: the work of one line, the same in the main thread and in a worker.
 */
export async function describeDirectory(
  root: string,
  dir: ManifestDir,
  options: DescribeOptions,
): Promise<DescribedDir> {
  const { rel, inner } = dir;
  const path = joinPath(root, rel);
  const listing = listOne(path, typeof rel !== 'string');
  const described: DescribedDir = { line: '', children: [], files: 0, entries: 0 };
  if (!listing.ok) {
    described.line = `{${nameJson(rel, 'd', 'db')},"e":[],"err":${JSON.stringify(listing.reason)}}`;
    return described;
  }
  // each entry's JSON written as text: objects grown field by field make JSON.stringify ten times slower
  const records: string[] = [];
  // quick mode never waits in this loop: its entries are looked up by name from inside the
  // directory (content mode may wait for a file's reads, when other work runs on this thread)
  const back = options.mode === 'quick' ? enterDirectory(path, listing.entries) : undefined;
  const byName = back !== undefined;
  try {
    for (const entry of listing.entries) {
      if (options.excludes.size > 0) {
        const childInner = joinPath(inner, entry.name);
        if (
          options.excludes.matches(
            typeof childInner === 'string' ? childInner : childInner.toString('utf8'),
            entry.kind === 'dir',
          )
        )
          continue;
      }
      described.entries++;
      options.onEntry?.();
      const name = nameJson(entry.name, 'n', 'nb');
      if (entry.kind === 'dir') {
        described.children.push({ rel: joinPath(rel, entry.name), inner: joinPath(inner, entry.name) });
        records.push(`{${name},"k":"d"}`);
        continue;
      }
      described.files++;
      let record = '';
      let kind = KIND_CODES[entry.kind];
      try {
        // every entry's mode and owner: the manifest serves verify --metadata too
        const facts = factsOf('source', byName ? entry.name : joinPath(path, entry.name), entry.kind, true);
        kind = KIND_CODES[facts.kind];
        if (facts.size !== undefined) record += `,"s":${facts.size}`;
        if (facts.mtime !== undefined) record += `,"m":${facts.mtime}`;
        if (facts.mtimeNs !== undefined) record += `,"mn":${facts.mtimeNs}`;
        if (facts.link) record += `,${nameJson(facts.link, 'l', 'lb')}`;
        if (facts.rdev !== undefined) record += `,"r":${facts.rdev}`;
        record += `,"p":${facts.mode},"u":${facts.uid},"g":${facts.gid}`;
        if (options.mode === 'content' && facts.kind === 'file') {
          const file = joinPath(path, entry.name);
          const interruptible = options.interruptible;
          // a small file is read with synchronous calls (each asynchronous one costs a round trip to
          // libuv's threads: with a few per file, most of the time on small files); in the main
          // thread a large one asynchronously, so that a signal is heard while it is read
          const read =
            interruptible && (facts.size ?? 0) > SYNC_HASH_MAX
              ? await hashFileAsync(
                  file,
                  facts,
                  options.buffer,
                  options.onBytes,
                  options.hash,
                  interruptible.signal,
                )
              : hashFile(file, facts, options.buffer, options.onBytes, options.hash);
          if (interruptible) await interruptible.pause();
          // written while it was hashed: no hash to trust, and the verifier says so
          record += read.changed ? ',"c":1' : `,"h":"${read.hash}"`;
        }
      } catch (error) {
        if (error instanceof InterruptedError) throw error;
        record += `,"err":${JSON.stringify(error instanceof SideError ? error.problem : describeError(error))}`;
      }
      records.push(`{${name},"k":"${kind}"${record}}`);
    }
  } finally {
    if (back !== undefined) leaveDirectory(back);
  }
  // the directory's own mode and owner, for verify --metadata (a described root, the manifest's or a
  // --dir, given as a symbolic link is followed, as its listing was)
  const own = directoryFacts('target', path, inner.length === 0);
  const ownRecord = own ? `,"p":${own.mode},"u":${own.uid},"g":${own.gid}` : '';
  described.line = `{${nameJson(rel, 'd', 'db')}${ownRecord},"e":[${records.join(',')}]}`;
  return described;
}
