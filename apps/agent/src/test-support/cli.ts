import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built agent, as users run it. */
export const AGENT_BIN = fileURLToPath(new URL('../../bin/sms-agent.js', import.meta.url));

/** Runs `sms-agent` to completion (bounded in time) with only the given environment. */
export function runAgent(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  /** The working directory it runs in (default: this process's). */
  cwd?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AGENT_BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(cwd ? { cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`sms-agent ${args.join(' ')} did not finish in ${timeoutMs} ms:\n${stdout}\n${stderr}`),
      );
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A running `sms-agent` (a daemon): its stderr so far, a wait for a line of it, and its exit. */
export interface AgentProcess {
  child: ReturnType<typeof spawn>;
  stderr: () => string;
  /** Resolves with the stderr so far once it matches `pattern`; rejects after `timeoutMs`. */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** Starts `sms-agent` with only the given environment, and leaves it running. */
export function startAgent(args: string[], env: Record<string, string> = {}): AgentProcess {
  const child = spawn(process.execPath, [AGENT_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(stderr)) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve(stderr);
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`sms-agent ${args.join(' ')} said no ${pattern} in ${timeoutMs} ms:\n${stderr}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  return { child, stderr: () => stderr, waitFor, exited };
}
