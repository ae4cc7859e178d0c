import { randomUUID } from 'node:crypto';

const TOKEN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * One-time tokens for the forms whose answer shows a secret once (add a
 * webhook, create an access key): a browser that reloads that answer posts
 * the form again, which must not add a second webhook or key. Each rendering
 * of the form carries a new token; the first post of a token does the work,
 * a later one is told it was done. Kept in this process (the newest 10,000,
 * for a day): behind a load balancer without sticky sessions, a reload that
 * reaches another instance is not recognised.
 */
export class FormOnce {
  private readonly spent = new Map<string, number>();

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly keep = 10_000,
    private readonly forMs = 24 * 60 * 60 * 1000,
  ) {}

  /** A token for one rendering of a form. */
  issue(): string {
    return randomUUID();
  }

  /**
   * Spends `token`: true the first time (do the work), false when it was
   * spent before (a re-post). A form without a token (a page rendered before
   * tokens, a script) is not deduplicated: true.
   */
  spend(token: string | undefined): boolean {
    if (token === undefined || !TOKEN.test(token)) return true;
    const now = this.clock();
    for (const [old, at] of this.spent) {
      if (this.spent.size < this.keep && now - at < this.forMs) break;
      this.spent.delete(old);
    }
    if (this.spent.has(token)) return false;
    this.spent.set(token, now);
    return true;
  }

  /** Gives a token back after its work failed, so that sending the form again tries again. */
  release(token: string | undefined): void {
    if (token !== undefined) this.spent.delete(token);
  }
}
