import { enterDirectory, leaveDirectory } from '../cwd.js';
import type { FileFacts } from '../difference.js';
import { excludeMatcher } from '../exclude.js';
import {
  compareNames,
  type Entry,
  factsOf,
  fileFacts,
  type Listing,
  listOne,
  type Name,
} from '../listing.js';
import { joinPath } from '../paths.js';
import { DEFAULT_MANIFEST_HASH, type ManifestHash } from './hash.js';
import { HASH_CHUNK_BYTES, HASH_CHUNK_FILES, ManifestPool, type QuietReads } from './pool.js';
import { comparePaths } from './read.js';

/** Files of a directory hashed ahead, by name, with their reads (and bytes read) in the same order. */
export interface AheadHashes {
  names: string[];
  reads: Promise<QuietReads>;
}

/**
 * A source directory read ahead: its listing, the facts (or the error) of its entries by name and,
 * in content mode, its files hashed so far.
 */
interface Ahead {
  root: number;
  rel: string;
  /** The directory's path (undefined: a name that is not UTF-8, not hashed ahead). */
  path: string | undefined;
  listing: Listing;
  facts: AheadFacts;
  hashes: AheadHashes[];
  /** The entry at which the hashing ahead goes on. */
  nextToHash: number;
}

/** Numbers held for each regular file: its mode, owner, group, size, and time (seconds, nanoseconds). */
const SLOTS = 6;

/**
 * The facts (or the error) of a directory's entries read ahead, by name. A regular file's facts
 * are held as numbers in one array, not as an object each: objects held from the reading ahead to
 * the comparison outlive the young generation, and moving and marking 100,000 of them cost the
 * garbage collector more than they are worth (about 0.1 s of CPU and 15 MB per 100,000 files
 * here, on 2 cores that ssh and the remote agent share over loopback).
 */
export class AheadFacts {
  private readonly numbers: Float64Array;
  /** Per entry: 0 not read, 1 a regular file's numbers, 2 in `others`. */
  private readonly held: Uint8Array;
  private readonly others = new Map<number, FileFacts | Error>();
  /** The entry after the last one asked for: the comparison asks in the listing's order. */
  private next = 0;

  constructor(private readonly entries: Entry[]) {
    this.numbers = new Float64Array(entries.length * SLOTS);
    this.held = new Uint8Array(entries.length);
  }

  /** Holds the facts (or the error) of entry `index` of the listing. */
  set(index: number, facts: FileFacts | Error): void {
    if (facts instanceof Error || facts.kind !== 'file') {
      this.others.set(index, facts);
      this.held[index] = 2;
      return;
    }
    const at = index * SLOTS;
    this.numbers[at] = facts.mode!;
    this.numbers[at + 1] = facts.uid!;
    this.numbers[at + 2] = facts.gid!;
    this.numbers[at + 3] = facts.size!;
    this.numbers[at + 4] = facts.mtime!;
    this.numbers[at + 5] = facts.mtimeNs!;
    this.held[index] = 1;
  }

  /** The facts of entry `index` if it is a regular file that was read ahead. */
  fileAt(index: number): FileFacts | undefined {
    if (this.held[index] !== 1) return undefined;
    const n = this.numbers;
    const at = index * SLOTS;
    return fileFacts(n[at]!, n[at + 1]!, n[at + 2]!, n[at + 3]!, n[at + 4]!, n[at + 5]!);
  }

  /** The facts (or the error) of the entry named `name`, if it was read ahead. */
  get(name: string): FileFacts | Error | undefined {
    const index = this.indexOf(name);
    if (index < 0) return undefined;
    const held = this.held[index];
    if (held === 2) return this.others.get(index);
    return held === 1 ? this.fileAt(index) : undefined;
  }

  private indexOf(name: string): number {
    const { entries } = this;
    // in the listing's order, past the directories and excluded entries between two files
    for (let i = this.next; i < entries.length && i < this.next + 8; i++) {
      if (entries[i]!.name === name) {
        this.next = i + 1;
        return i;
      }
    }
    let low = 0;
    let high = entries.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const order = compareNames(entries[middle]!.name, name);
      if (order === 0) {
        this.next = middle + 1;
        return middle;
      }
      if (order < 0) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }
}

/** Bytes hashed ahead at most, each file's opening counted as FILE_COST (the last chunk may go past by its own size). */
const MAX_BYTES_AHEAD = 1024 * 1024 * 1024;
/** Files larger than this are not hashed ahead: one would keep a thread from the manifest's files. */
const MAX_FILE_AHEAD = HASH_CHUNK_BYTES;
/** What hashing a file costs beside its bytes (opening and closing it), in bytes, for the budget. */
const FILE_COST = 16 * 1024;

/** Entries read ahead at most (each held as its listing entry, its name and, for a file, 48 bytes of numbers). */
const MAX_AHEAD = 200_000;
/**
 * A directory larger than this ends the reading ahead (the verifier reads it and what follows
 * itself): a step stays short, so that the connection's progress and a signal are heard.
 */
const MAX_DIRECTORY = 20_000;

/**
 * Reads the source side ahead while a target's manifest is still on its way
 * (over ssh: the connection, the remote shell and the remote agent's start
 * take a few tenths of a second): the directories in the order the verifier
 * will ask for them, each listed and its files stat'ed, so that this work is
 * done when the manifest's first lines arrive. What the verifier does not ask
 * for (a directory the target has as a file) is dropped as it passes. In
 * content mode its files are also hashed meanwhile (`startHashing`).
 */
export class SourceReadAhead {
  private readonly queue: Ahead[] = [];
  private readonly stack: { root: number; rel: string }[] = [];
  private readonly excludes;
  /** Each root's place in the verifier's order. */
  private readonly position = new Map<number, number>();
  private held = 0;
  /** Content mode: the threads hashing the files read ahead, with what they are asked to hash. */
  private hashing:
    | {
        pool: ManifestPool;
        hash: ManifestHash;
        /** Bytes (and files, at FILE_COST each) asked for and not yet hashed: about `budget` at most. */
        asked: number;
        budget: number;
        /** Chunks asked for and not yet hashed, at most `chunks`. */
        pending: number;
        chunks: number;
        /** Bytes asked for in all, at most MAX_BYTES_AHEAD. */
        total: number;
        going: boolean;
        /** The threads are still this read-ahead's to close (not handed over by `takePool`). */
        owned: boolean;
      }
    | undefined;
  /** The directory of `queue` whose files are hashed next. */
  private hashAt = 0;

  constructor(
    /** The source directory of each root. */
    private readonly sources: string[],
    excludes: string[],
    /** Ownership and modes are compared (`--metadata`): every entry is stat'ed. */
    private readonly metadata: boolean,
    /** The roots' indices in the order the verifier walks them. */
    order: number[],
  ) {
    this.excludes = excludeMatcher(excludes);
    for (const [i, root] of order.entries()) this.position.set(root, i);
    for (let k = order.length - 1; k >= 0; k--) this.stack.push({ root: order[k]!, rel: '' });
  }

  /** Reads ahead about `budget` entries; false once there is nothing more to read or room to hold it. */
  step(budget: number): boolean {
    let done = 0;
    while (done < budget) {
      if (this.stack.length === 0 || this.held >= MAX_AHEAD) return false;
      const { root, rel } = this.stack.pop()!;
      const dir = joinPath(this.sources[root]!, rel);
      const listing = listOne(dir, false);
      if (listing.ok && listing.entries.length > MAX_DIRECTORY) {
        this.stack.length = 0;
        return false;
      }
      const facts = new AheadFacts(listing.ok ? listing.entries : []);
      const children: string[] = [];
      if (listing.ok) {
        // looked up by name from inside the directory (this loop never waits)
        const back = enterDirectory(dir, listing.entries);
        const byName = back !== undefined;
        try {
          for (const [index, entry] of listing.entries.entries()) {
            // names that are not UTF-8 (and what is under them) are left to the verifier
            if (typeof entry.name !== 'string') continue;
            const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
            if (this.excludes.size > 0 && this.excludes.matches(childRel, entry.kind === 'dir')) continue;
            if (entry.kind === 'dir') children.push(childRel);
            else {
              try {
                facts.set(
                  index,
                  factsOf(
                    'source',
                    byName ? entry.name : joinPath(dir, entry.name),
                    entry.kind,
                    this.metadata,
                  ),
                );
              } catch (error) {
                facts.set(index, error as Error);
              }
            }
          }
        } finally {
          if (back !== undefined) leaveDirectory(back);
        }
        done += listing.entries.length;
        this.held += listing.entries.length;
      }
      const path = typeof dir === 'string' ? dir : undefined;
      this.queue.push({ root, rel, path, listing, facts, hashes: [], nextToHash: 0 });
      for (let k = children.length - 1; k >= 0; k--) this.stack.push({ root, rel: children[k]! });
      this.hashMore();
    }
    return true;
  }

  /**
   * Content mode: hashes the files read ahead, in the verifier's order, on `workers` threads with
   * `hash` (the hash the manifest is expected to name: a manifest's default), a few chunks at a
   * time, until `stopHashing`, and MAX_BYTES_AHEAD at most (a prompt for a password may hold the
   * connection for long). The threads would wait for the manifest otherwise; a file the manifest
   * then does not compare (missing there, or of another size) was hashed for nothing.
   */
  startHashing(workers: number, hash: ManifestHash = DEFAULT_MANIFEST_HASH): void {
    const pool = new ManifestPool(
      workers,
      { role: 'manifest', mode: 'content', hash, excludes: [] },
      () => {},
    );
    // a chunk for each thread (4 at most) and one waiting, about 8 MiB each (a chunk's last file
    // may take it past): what the verifier's first requests wait behind
    const chunks = Math.min(workers, 4) + 1;
    this.hashing = {
      pool,
      hash,
      asked: 0,
      budget: chunks * HASH_CHUNK_BYTES,
      pending: 0,
      chunks,
      total: 0,
      going: true,
      owned: true,
    };
    this.hashMore();
  }

  /** No more files are hashed ahead (those asked for are). */
  stopHashing(): void {
    if (this.hashing) this.hashing.going = false;
  }

  /**
   * The threads hashing ahead, handed over (the caller's to close from now on; they go on hashing
   * ahead until `stopHashing`) if they hash with `hash` and have not failed; otherwise they are
   * ended and what they hashed is dropped.
   */
  takePool(hash: ManifestHash): ManifestPool | undefined {
    const hashing = this.hashing;
    if (!hashing) return undefined;
    if (hashing.hash === hash && !hashing.pool.failed) {
      hashing.owned = false;
      return hashing.pool;
    }
    this.hashing = undefined;
    hashing.going = false;
    for (const ahead of this.queue) ahead.hashes = [];
    void hashing.pool.close();
    return undefined;
  }

  /** Ends the threads hashing ahead (the verification did not start). */
  async close(): Promise<void> {
    this.stopHashing();
    if (this.hashing?.owned) await this.hashing.pool.close();
  }

  /** Asks for the next chunks of files read ahead to be hashed, up to the budget. */
  private hashMore(): void {
    const hashing = this.hashing;
    while (
      hashing?.going &&
      hashing.asked < hashing.budget &&
      hashing.pending < hashing.chunks &&
      hashing.total < MAX_BYTES_AHEAD
    ) {
      const ahead = this.queue[this.hashAt];
      if (!ahead) return;
      const entries = ahead.listing.ok && ahead.path !== undefined ? ahead.listing.entries : [];
      const files: { path: string; facts: FileFacts }[] = [];
      const names: string[] = [];
      let cost = 0;
      while (
        ahead.nextToHash < entries.length &&
        files.length < HASH_CHUNK_FILES &&
        cost < HASH_CHUNK_BYTES
      ) {
        const index = ahead.nextToHash++;
        const name = entries[index]!.name;
        const facts = ahead.facts.fileAt(index);
        // a large file waits for the manifest: if it says another size, it is not read at all
        if (!facts || typeof name !== 'string' || (facts.size ?? 0) > MAX_FILE_AHEAD) continue;
        files.push({ path: joinPath(ahead.path!, name) as string, facts });
        names.push(name);
        // an empty file costs its open and close
        cost += (facts.size ?? 0) + FILE_COST;
      }
      if (ahead.nextToHash >= entries.length) this.hashAt++;
      if (files.length === 0) continue;
      const reads = hashing.pool.hashQuietly(files);
      ahead.hashes.push({ names, reads });
      hashing.asked += cost;
      hashing.pending++;
      hashing.total += cost;
      reads.then(
        () => {
          hashing.asked -= cost;
          hashing.pending--;
          this.hashMore();
        },
        () => {
          // the threads failed: the verifier, which uses them too, says why
          hashing.going = false;
        },
      );
    }
  }

  /** The directory read ahead, if it was (and what came before it is dropped). */
  take(root: number, rel: Name): Ahead | undefined {
    for (;;) {
      const front = this.queue[0];
      if (!front) return undefined;
      const order =
        front.root === root
          ? comparePaths(front.rel, rel)
          : this.position.get(front.root)! - this.position.get(root)!;
      if (order > 0) return undefined;
      this.queue.shift();
      if (this.hashAt > 0) this.hashAt--;
      this.held -= front.listing.ok ? front.listing.entries.length : 0;
      if (order === 0) return front;
    }
  }
}
