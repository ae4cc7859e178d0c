import type { FileFacts } from '../difference.js';
import { excludeMatcher } from '../exclude.js';
import { factsOf, type Listing, listOne, type Name } from '../listing.js';
import { joinPath } from '../paths.js';
import { comparePaths } from './read.js';

/** A source directory read ahead: its listing, and the facts (or the error) of its entries by name. */
interface Ahead {
  root: number;
  rel: string;
  listing: Listing;
  facts: Map<string, FileFacts | Error>;
}

/** Entries read ahead at most: about 200 bytes each held. */
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
 * for (a directory the target has as a file) is dropped as it passes.
 */
export class SourceReadAhead {
  private readonly queue: Ahead[] = [];
  private readonly stack: { root: number; rel: string }[] = [];
  private readonly excludes;
  /** Each root's place in the verifier's order. */
  private readonly position = new Map<number, number>();
  private held = 0;

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
      const facts = new Map<string, FileFacts | Error>();
      const children: string[] = [];
      if (listing.ok) {
        for (const entry of listing.entries) {
          // names that are not UTF-8 (and what is under them) are left to the verifier
          if (typeof entry.name !== 'string') continue;
          const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
          if (this.excludes.size > 0 && this.excludes.matches(childRel, entry.kind === 'dir')) continue;
          if (entry.kind === 'dir') children.push(childRel);
          else {
            try {
              facts.set(entry.name, factsOf('source', joinPath(dir, entry.name), entry.kind, this.metadata));
            } catch (error) {
              facts.set(entry.name, error as Error);
            }
          }
        }
        done += listing.entries.length;
        this.held += listing.entries.length;
      }
      this.queue.push({ root, rel, listing, facts });
      for (let k = children.length - 1; k >= 0; k--) this.stack.push({ root, rel: children[k]! });
    }
    return true;
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
      this.held -= front.listing.ok ? front.listing.entries.length : 0;
      if (order === 0) return front;
    }
  }
}
