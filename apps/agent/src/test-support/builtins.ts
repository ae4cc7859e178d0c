import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Node's built-in modules that a verification of two local directories does not need, and that
 * cost its start-up milliseconds when loaded anyway (measured on Node 20: child_process with net and
 * dgram 3 ms, crypto 2.6, worker_threads 1.5, fs/promises 1.1, perf_hooks 0.7, readline 0.6): the
 * agent loads them when first used (src/builtins.ts).
 */
export const LOADED_WHEN_USED = [
  // (net is not here: Node loads it itself for a stdout or stderr that is a pipe)
  'child_process',
  'dgram',
  'crypto',
  'worker_threads',
  'fs/promises',
  'perf_hooks',
  'readline',
  'zlib',
];

/**
 * Writes a script to preload (`node --require`, or NODE_OPTIONS for the executable) that prints,
 * as the process exits, the public built-in modules it loaded: `builtins: events buffer path …`.
 */
export function writeBuiltinsProbe(dir: string): string {
  const file = join(dir, 'builtins-probe.cjs');
  writeFileSync(
    file,
    `process.on('exit', () => {
  const names = process.moduleLoadList
    .filter((m) => m.startsWith('NativeModule ') && !m.startsWith('NativeModule internal/'))
    .map((m) => m.slice('NativeModule '.length));
  process.stderr.write('builtins: ' + names.join(' ') + '\\n');
});
`,
  );
  return file;
}

/** The built-in modules a probed run printed (writeBuiltinsProbe). */
export function loadedBuiltins(stderr: string): string[] {
  const line = /^builtins: (.*)$/m.exec(stderr);
  if (!line) throw new Error(`the run printed no builtins line (was the probe preloaded?):\n${stderr}`);
  return line[1]!.split(' ');
}
