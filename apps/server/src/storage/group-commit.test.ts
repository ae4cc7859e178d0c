import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';
import { knownFailureKind } from './handle.js';

/** A group commit whose commits fail as `fail` says, recording each batch it was given. */
function committing(fail: (batch: string[]) => Error | undefined) {
  const batches: string[][] = [];
  const group = new GroupCommit<string, string>(
    async (batch) => {
      batches.push(batch);
      const error = fail(batch);
      if (error) throw error;
      return batch.map((item) => `stored ${item}`);
    },
    (error) => knownFailureKind(error) === undefined,
  );
  return { group, batches };
}

const settled = (outcomes: PromiseSettledResult<string>[]) =>
  outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message));

describe('GroupCommit', () => {
  it("commits each item again alone when a batch fails for one item's sake", async () => {
    const refused = Object.assign(new Error('refused'), { code: 'SQLITE_CONSTRAINT_TRIGGER' });
    const { group, batches } = committing((batch) => (batch.includes('b') ? refused : undefined));
    const outcomes = await Promise.allSettled(['a', 'b', 'c'].map((item) => group.add(item)));
    expect(settled(outcomes)).toEqual(['stored a', 'refused', 'stored c']);
    expect(batches).toEqual([['a', 'b', 'c'], ['a'], ['b'], ['c']]);
  });

  it('does not when it failed for the whole database (its disk full): each would fail again', async () => {
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    const { group, batches } = committing(() => new Error('Storage failed', { cause: full }));
    const outcomes = await Promise.allSettled(['a', 'b', 'c'].map((item) => group.add(item)));
    expect(settled(outcomes)).toEqual(['Storage failed', 'Storage failed', 'Storage failed']);
    expect(batches).toEqual([['a', 'b', 'c']]);
  });
});
