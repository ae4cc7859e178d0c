// How both bundles of the agent are made (scripts/bundle.mjs: the npm package's ES module;
// scripts/build-exe.mjs: the single executable's CommonJS script), so that they are built alike:
// the agent's version compiled in (a bundle has no package.json beside its modules), TypeScript read
// with the package's tsconfig, and minified (V8 reads the whole file at every start).
import { readFileSync } from 'node:fs';
import { build } from 'rolldown';

const here = new URL('..', import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(`${here}package.json`, 'utf8'));

/** The agent's version, as its bundles print it. */
export const agentVersion = version;

/**
 * Bundles `input` (relative to the package) into one file: `format` 'esm' or 'cjs', `define` the
 * compile-time constants beyond the version.
 */
export function bundleAgent(input, file, format, define = {}) {
  return build({
    cwd: here,
    input,
    platform: 'node',
    tsconfig: 'tsconfig.json',
    transform: { define: { __SMS_AGENT_VERSION__: JSON.stringify(version), ...define } },
    logLevel: 'warn',
    output: { file, format, codeSplitting: false, minify: true },
  });
}
