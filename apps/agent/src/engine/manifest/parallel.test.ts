import { afterAll, describe, expect, it } from 'vitest';
import { treePair } from '../../test-support/tree.js';
import type { Progress } from '../types.js';
import { ParallelDescriber } from './parallel.js';

// The remote agent's heartbeat (verify over ssh with --io-timeout) comes from the work itself: a
// large directory described in this thread tells each entry as it goes, not only once it is done.
const pair = treePair(Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`f${i}`, ''])), undefined);
afterAll(() => pair.cleanup());

describe('ParallelDescriber', () => {
  it('tells its activity for each entry of a directory described in this thread, while it is', async () => {
    let told = 0;
    const progress: Progress = { entries: 0, bytes: 0, current: '' };
    const walk = new ParallelDescriber(
      pair.src,
      { mode: 'quick', hash: 'xxh128', excludes: [], workers: 0, onActivity: () => told++ },
      progress,
      Buffer.allocUnsafe(64 * 1024),
    );
    try {
      for await (const described of walk.inOrder([{ rel: '', inner: '' }])) {
        // told before the directory's line was yielded: as it was described
        expect(described.entries).toBe(2000);
        expect(told).toBeGreaterThanOrEqual(2000);
      }
    } finally {
      await walk.close();
    }
  });
});
