import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set (true) by the single executable's bundle (scripts/build-exe.mjs). */
declare const __SMS_AGENT_EXE__: boolean | undefined;
const IS_EXE = typeof __SMS_AGENT_EXE__ === 'boolean' && __SMS_AGENT_EXE__;

/** What this agent can copy to a remote host to run there: itself. */
export type AgentCopy =
  /**
   * The single executable (for hosts of its platform, with or without Node), and the JavaScript
   * inside it as one CommonJS script (for hosts with Node.js 20.19 or newer, of any platform:
   * about 0.4 MiB to send rather than 95).
   */
  | { kind: 'exe'; file: string; platform: NodeJS.Platform; arch: string; script: () => Buffer }
  /** The npm bundle: one CommonJS script, for hosts with Node.js 20.19 or newer. */
  | { kind: 'bundle'; file: string };

/** The oldest Node.js the bundle runs on (its package's engines). */
export const BUNDLE_NODE = [20, 19] as const;

/**
 * This agent as a file to copy: the executable it runs as, or the bundle it
 * was loaded from; undefined when run from its sources (tests, development)
 * with no bundle built.
 */
export function selfCopy(): AgentCopy | undefined {
  if (IS_EXE)
    return {
      kind: 'exe',
      file: process.execPath,
      platform: process.platform,
      arch: process.arch,
      script: exeScript,
    };
  const here = fileURLToPath(import.meta.url);
  if (basename(here) === 'sms-agent.cjs') return { kind: 'bundle', file: here };
  // from the sources: the package's built bundle, if there is one
  const built = fileURLToPath(new URL('../../dist/sms-agent.cjs', import.meta.url));
  return existsSync(built) ? { kind: 'bundle', file: built } : undefined;
}

/**
 * The executable's own JavaScript as a CommonJS file that Node.js runs: its asset `sms-agent.js`
 * is the bundle wrapped as the function Node makes of a module (scripts/build-exe.mjs), called here
 * as the executable's main script calls it (scripts/exe-loader.cjs).
 */
function exeScript(): Buffer {
  const { getAsset } = process.getBuiltinModule('node:sea') as typeof import('node:sea');
  return Buffer.concat([
    Buffer.from(getAsset('sms-agent.js') as ArrayBuffer),
    Buffer.from('.call(module.exports, exports, require, module, __filename, __dirname);\n'),
  ]);
}

/** `uname -s` and `uname -m` of the hosts an executable built for `platform` and `arch` runs on. */
export function unameOf(platform: string, arch: string): string {
  const system = platform === 'linux' ? 'Linux' : platform === 'darwin' ? 'Darwin' : platform;
  const machine = arch === 'x64' ? 'x86_64' : arch === 'arm64' && platform !== 'darwin' ? 'aarch64' : arch;
  return `${system} ${machine}`;
}

/** True when `version` (as `node --version` prints it) can run the bundle. */
export function nodeRunsBundle(version: string): boolean {
  const match = /^v?(\d+)\.(\d+)/.exec(version.trim());
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > BUNDLE_NODE[0] || (major === BUNDLE_NODE[0] && minor >= BUNDLE_NODE[1]);
}

/** True when `libc` (as `getconf GNU_LIBC_VERSION` prints it, blanks as dashes: `glibc-2.36`) runs Node.js 20: glibc 2.28 or newer. */
export function glibcRunsExecutable(libc: string): boolean {
  const match = /^glibc-(\d+)\.(\d+)/.exec(libc.trim());
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 2 || (major === 2 && minor >= 28);
}
