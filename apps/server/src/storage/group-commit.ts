/**
 * Group commit: items that arrive together (in one turn of the event loop)
 * are committed together by `commit`, one transaction and one fsync for the
 * batch, and each caller is answered only after that commit. SQLite has one
 * writer, whose thread waits for each fsync, so one fsync per upload would
 * cap the server at the disk's fsync rate. While a batch commits, the next
 * one gathers. A batch that fails is committed again one item at a time, so
 * that one item the database refuses fails alone, not the others with it.
 */
export class GroupCommit<Item, Outcome> {
  private queue: { item: Item; resolve: (outcome: Outcome) => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;

  constructor(private readonly commit: (batch: Item[]) => Promise<Outcome[]>) {}

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
      if (batch.length === 1) batch[0]!.reject(error);
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
