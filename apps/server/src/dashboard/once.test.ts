import { describe, expect, it } from 'vitest';
import { FormOnce } from './once.js';

describe('FormOnce: one-time form tokens', () => {
  it('spends a token once; a form without one (or with a malformed one) is not deduplicated', () => {
    const once = new FormOnce();
    const token = once.issue();
    expect(once.spend(token)).toBe(true);
    expect(once.spend(token)).toBe(false);
    expect(once.spend(once.issue())).toBe(true);
    expect(once.spend(undefined)).toBe(true);
    expect(once.spend(undefined)).toBe(true);
    expect(once.spend('not-a-token')).toBe(true);
    expect(once.spend('not-a-token')).toBe(true);
  });

  it('gives a token back after failed work', () => {
    const once = new FormOnce();
    const token = once.issue();
    expect(once.spend(token)).toBe(true);
    once.release(token);
    expect(once.spend(token)).toBe(true);
    expect(once.spend(token)).toBe(false);
  });

  it('keeps at most the newest tokens, for a bounded time', () => {
    let now = 0;
    const once = new FormOnce(() => now, 3, 1000);
    const tokens = [once.issue(), once.issue(), once.issue(), once.issue()];
    for (const token of tokens) expect(once.spend(token)).toBe(true);
    // the oldest was let go to keep 3: a re-post of it so late is not recognised
    expect(once.spend(tokens[3])).toBe(false);
    expect(once.spend(tokens[0])).toBe(true);
    now = 2000;
    expect(once.spend(tokens[3])).toBe(true); // a day later (here 1 s), forgotten
  });
});
