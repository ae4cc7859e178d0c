import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built server's bin, as users run it. */
export const SERVER_BIN = fileURLToPath(new URL('../../bin/sms-server.js', import.meta.url));

export interface ServerProcess {
  url: string;
  /** The port it listens on (from `url`), to start it again on the same one. */
  port: number;
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `sms-server serve` on a free port and resolves once it listens. */
export function startServerProcess(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [SERVER_BIN, 'serve'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', SMS_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in ${timeoutMs} ms:\n${stdout.join('')}\n${stderr.join('')}`));
    }, timeoutMs);
    let buffered = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout.push(chunk);
      buffered += chunk;
      const match = /"msg":"listening","url":"([^"]+)"/.exec(buffered);
      if (match?.[1]) {
        clearTimeout(timer);
        buffered = '';
        resolve({
          url: match[1],
          port: Number(new URL(match[1]).port),
          child,
          stdout,
          stderr,
          stop: (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
        });
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
    exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`server exited with ${code} before listening:\n${stdout.join('')}\n${stderr.join('')}`),
      );
    });
  });
}

/** Runs the server's CLI to completion. */
export function runServerCli(
  args: string[],
  env: Record<string, string>,
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SERVER_BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdin.end(input ?? '');
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
