/**
 * Group commit: items that arrive together (in one turn of the event loop)
 * are committed together by `commit`, one transaction and one fsync for the
 * batch, and each caller is answered only after that commit. SQLite has one
 * writer, whose thread waits for each fsync, so one fsync per upload would
 * cap the server at the disk's fsync rate. While a batch commits, the next
 * one gathers. A batch that fails for one of its items (as `alone` tells) is
 * committed again one item at a time, so that the item the database refuses
 * fails alone, not the others with it; one that fails for the whole database
 * (its disk full, say) is not tried again item by item, which would only fail
 * as many times more.
 */
export class GroupCommit<Item, Outcome> {
  private queue: { item: Item; resolve: (outcome: Outcome) => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly commit: (batch: Item[]) => Promise<Outcome[]>,
    /** Whether a batch's failure may be one item's, worth committing each again alone (default: yes). */
    private readonly alone: (error: unknown) => boolean = () => true,
  ) {}

  /** Resolves with the item's outcome once the batch that holds it is committed. */
  add(item: Item): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    try {
      const outcomes = await this.commit(batch.map((entry) => entry.item));
      for (const [i, entry] of batch.entries()) entry.resolve(outcomes[i]!);
    } catch (error) {
      if (batch.length === 1 || !this.alone(error)) for (const entry of batch) entry.reject(error);
      // each alone, in order (what fails for all, a full disk, fails each again)
      else
        for (const entry of batch) {
          try {
            entry.resolve((await this.commit([entry.item]))[0]!);
          } catch (alone) {
            entry.reject(alone);
          }
        }
    } finally {
      this.scheduled = this.queue.length > 0;
      if (this.scheduled) setImmediate(() => void this.flush());
    }
  }
}
