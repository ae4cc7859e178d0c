import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ManifestPool as Pool } from './pool.js';

// The pool as built (worker threads start from the built worker, not from these TypeScript sources).
const BUILT = fileURLToPath(new URL('../../../dist/engine/manifest/pool.js', import.meta.url));

describe('the manifest workers', () => {
  it('share requests sent before any has started, rather than queue them all on the first', async () => {
    const { ManifestPool } = (await import(BUILT)) as { ManifestPool: typeof Pool };
    const pool = new ManifestPool(
      3,
      { role: 'manifest', mode: 'content', hash: 'xxh128', excludes: [] },
      () => {},
    );
    try {
      // at once, in this turn of the event loop: no worker can have said it is online
      const gone = { path: '/nonexistent/sms-agent-pool-test', facts: { kind: 'file' as const, size: 1 } };
      const asked = [0, 1, 2, 3, 4, 5].map(() => pool.hash([gone]));
      const load = (pool as unknown as { load: Map<unknown, number> }).load;
      expect([...load.values()]).toEqual([2, 2, 2]);
      // each answered (a file that is not there: the error the verifier counts)
      for (const reads of await Promise.all(asked)) expect(reads[0]).toBeInstanceOf(Error);
      expect([...load.values()]).toEqual([0, 0, 0]);
    } finally {
      await pool.close();
    }
  });
});
