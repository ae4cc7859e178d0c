// How both bundles of the agent, CommonJS scripts, are made (scripts/bundle.mjs: the npm
// package's; scripts/build-exe.mjs: the single executable's), so that they are built alike:
// the agent's version compiled in (a bundle has no package.json beside its modules), TypeScript read
// with the package's tsconfig, and minified (V8 reads the whole file at every start).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'rolldown';

const here = new URL('..', import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(`${here}package.json`, 'utf8'));

/** The agent's version, as its bundles print it. */
export const agentVersion = version;

/**
 * commander requires node:child_process when it loads, for subcommands that are executables of their
 * own (which the agent has none of): with net and dgram behind it that is 3 ms of every start. This
 * plugin makes commander require it at its first spawn instead. A commander that no longer has the
 * line stops the build, so that the next upgrade looks at it again.
 */
const commanderLoadsChildProcessWhenUsed = {
  name: 'sms-agent:commander-child-process-when-used',
  transform(code, id) {
    if (!/[\\/]commander[\\/]lib[\\/]command\.js$/.test(id)) return null;
    const eager = "const childProcess = require('node:child_process');";
    if (!code.includes(eager))
      throw new Error(
        `${id} no longer has "${eager}": look at how this commander loads child_process and update ${import.meta.url}`,
      );
    return code.replace(
      eager,
      "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };",
    );
  },
};

/**
 * Bundles `input` (relative to the package) into one CommonJS script, `file`: `define` the
 * compile-time constants beyond the version.
 */
export async function bundleAgent(input, file, define = {}) {
  await build({
    cwd: here,
    input,
    platform: 'node',
    tsconfig: 'tsconfig.json',
    transform: { define: { __SMS_AGENT_VERSION__: JSON.stringify(version), ...define } },
    logLevel: 'warn',
    plugins: [commanderLoadsChildProcessWhenUsed],
    // strict, as the ES module the package shipped before was (and every ES module is): CommonJS
    // output is otherwise sloppy
    output: { file, format: 'cjs', codeSplitting: false, minify: true, strict: true },
  });
  // A script compiled by vm.Script (the executable's, and the package's on Node.js 20: how their code
  // cache is used) has no module loader for import(): a builtin imported dynamically fails at run
  // time there (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so the sources import builtins statically
  // or through src/builtins.ts.
  const code = readFileSync(resolve(here, file), 'utf8');
  const found = /\bimport\(\s*["'`]/.exec(code);
  if (found)
    throw new Error(
      `${file} keeps a dynamic import(…) at ${found.index} (${code.slice(found.index, found.index + 60)}…): import node builtins statically; a workspace package there means it was not built yet (pnpm build first)`,
    );
}
