import type { ViteUserConfig } from 'vitest/config';

/**
 * One test setup for every package: the default reporter for people, a JSON
 * report that `scripts/test.mjs` sums into the `N passed, N failed` line, and
 * type tests (`*.test-d.ts`) run by `vitest --typecheck`.
 */
export const sharedTestConfig: NonNullable<ViteUserConfig['test']> = {
  include: ['src/**/*.test.ts'],
  reporters: ['default', 'json'],
  outputFile: { json: '.test-results/vitest.json' },
  typecheck: { enabled: true, include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  testTimeout: 20_000,
  hookTimeout: 60_000,
};
