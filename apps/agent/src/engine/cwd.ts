import { isMainThread } from 'node:worker_threads';

/** Where `leaveDirectory` returns: the working directory before `enterDirectory`. */
let back = '';

/** Entries a directory needs before it is worth entering (two more system calls for it). */
export const ENTER_AT = 4;

/**
 * Moves the process's working directory to `dir` so that its entries can be looked up by their
 * names: the kernel then resolves one component for each `lstat` rather than the whole path
 * (about a quarter less time per `lstat` five levels down: 100,000 files in 0.27 s rather than
 * 0.36 s here). True when it moved: the caller then runs only synchronous code (no await, nothing
 * else runs on this thread meanwhile) until `leaveDirectory`. False (a worker thread, which cannot
 * move, a working directory that is gone, or a directory that cannot be entered): use full paths.
 *
 * The working directory is the whole process's: while it is moved, any path relative to it that
 * another thread or libuv's threads used would be looked up inside `dir`. Every path the agent
 * uses is made absolute when it is given (the CLI's options, `verify`'s source and target,
 * `writeManifest`'s output), and worker threads are handed absolute paths only.
 */
export function enterDirectory(dir: string): boolean {
  if (!isMainThread) return false;
  try {
    back = process.cwd();
    process.chdir(dir);
    return true;
  } catch {
    return false;
  }
}

/** Back to where the process was before `enterDirectory` (or `/`, if that is gone: never inside a tree). */
export function leaveDirectory(): void {
  try {
    process.chdir(back);
  } catch {
    process.chdir('/');
  }
}
