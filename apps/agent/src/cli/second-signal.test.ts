import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// the compiled module (the package's build): a child process cannot load the TypeScript source
const SHARED = fileURLToPath(new URL('../../dist/cli/shared.js', import.meta.url));

/**
 * A child whose work never heeds its abort (a clean stop that hangs: a worker stuck on a dead NFS
 * server): it is sent `first`, then `second`; resolves with how it ended.
 */
function twoSignals(first: NodeJS.Signals, second: NodeJS.Signals) {
  const script = `
    const { interruptible } = await import(${JSON.stringify(SHARED)});
    await interruptible((signal) => new Promise(() => {
      signal.addEventListener('abort', () => console.log('aborted ' + signal.reason));
      setInterval(() => {}, 1000);
      console.log('ready');
    }));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>(
    (resolve, reject) => {
      const limit = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`still running 5 s after ${first} then ${second}: ${out}`));
      }, 5000);
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (chunk.includes('ready')) child.kill(first);
        if (chunk.includes('aborted')) setTimeout(() => child.kill(second), 100);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(limit);
        resolve({ code, signal, out });
      });
    },
  );
}

describe('a second signal while a run stops', () => {
  it.each([
    ['SIGINT', 'SIGTERM'],
    ['SIGTERM', 'SIGINT'],
    ['SIGINT', 'SIGINT'],
  ] as const)('%s then %s ends the process at once', async (first, second) => {
    const ended = await twoSignals(first, second);
    expect(ended.out).toContain(`aborted ${first}`);
    expect(ended.signal).toBe(second);
  });
});
