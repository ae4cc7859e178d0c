import type { Progress } from '../engine/types.js';

/** `--io-timeout`: the verification made no progress for that long (as rsync's `--timeout`); exit 2. */
export class StallError extends Error {
  override name = 'StallError';
  /**
   * The stopped work had not ended when the grace was over: a thread of it is waiting inside a call
   * to the hung mount, which no exit ends (Node joins its threads as it exits), only SIGKILL.
   */
  stuck = false;
}

/** Set once a stopped verification left a thread inside a call to a hung mount (`StallError.stuck`). */
let threadsStuck = false;

/** Whether a stopped verification left a thread inside a call to a hung mount (this process can then only end by SIGKILL). */
export const anyThreadStuck = (): boolean => threadsStuck;

/**
 * Ends this process with SIGKILL, after saying why, when a stopped verification left a thread
 * inside a call to a hung mount: an exit waits for every thread (Node joins them), so it would
 * never end; SIGKILL does (status 137, which a shell reads as a failure too).
 */
export function killIfStuck(say: (line: string) => void): void {
  if (!threadsStuck) return;
  say(
    'sms-agent: a thread is still waiting inside a call to the mount that stopped answering, which only SIGKILL ends: this process ends itself so (exit status 137)',
  );
  process.kill(process.pid, 'SIGKILL');
}

/**
 * How long a stopped verification gets to end its own work (its worker threads, the ssh session and
 * the remote copy of the agent removed) before the run goes on without it: a thread waiting on a
 * hung mount never ends.
 */
export const STALL_GRACE_MS = 5_000;

export interface StallWatch {
  /** Aborted once the verification stalled. */
  signal: AbortSignal;
  /**
   * The walk began (or, over ssh, the agent runs there): the clock runs from now. Before, ssh
   * connects (its own ConnectTimeout), a copy of this agent is sent and the arguments are checked.
   */
  start(): void;
  /** Progress reported: entries or bytes that moved restart the clock. */
  saw(progress: Progress): void;
  /** Progress without figures (the remote agent's heartbeat): restarts the clock. */
  beat(): void;
  /** The clock stops for good: the recheck (its delay, then its work on this thread, which no timer could stop). */
  hold(): void;
  /** The work's result, or a `StallError` once it stalled, after the work was given the grace to end once stopped. */
  race<T>(work: Promise<T>): Promise<T>;
}

/**
 * Watches a verification's progress (entries looked at, bytes compared) and, once none came for
 * `seconds`, stops it: `signal` aborts and `race` rejects with a `StallError` saying where it was.
 * The main thread must be free to notice: a call it makes itself into a hung mount cannot be timed out.
 */
export function stallWatch(seconds: number, graceMs = STALL_GRACE_MS): StallWatch {
  const controller = new AbortController();
  const limitMs = seconds * 1000;
  let last = performance.now();
  let seen = { entries: -1, bytes: -1 };
  let current = '';
  let held = true;
  let stall: StallError | undefined;
  const listeners: Array<(error: StallError) => void> = [];
  const every = Math.min(1000, limitMs / 4);
  let ticked = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    // a tick far later than due: this thread was busy with work of its own (which no timer can
    // stop), and what the workers and the remote told meanwhile is still to be read: the clock is
    // looked at on the next tick, once it has been
    const late = now - ticked > 2 * every + 250;
    ticked = now;
    if (late || held || now - last < limitMs) return;
    clearInterval(timer);
    stall = new StallError(
      `no progress for ${seconds} s${current === '' ? '' : ` (last at ${current})`}: a filesystem or the target's host stopped answering (a hung NFS, SMB or sshfs mount; over ssh, the remote agent waiting on one); the verification was stopped: look at what it was reading, then verify again (--io-timeout sets how long to wait)`,
    );
    for (const listener of listeners) listener(stall);
    controller.abort(stall.message);
  }, every);
  return {
    signal: controller.signal,
    start(): void {
      if (stall) return;
      held = false;
      last = performance.now();
    },
    saw(progress: Progress): void {
      if (progress.current !== '') current = progress.current;
      if (progress.entries === seen.entries && progress.bytes === seen.bytes) return;
      seen = { entries: progress.entries, bytes: progress.bytes };
      last = performance.now();
    },
    beat(): void {
      last = performance.now();
    },
    hold(): void {
      held = true;
    },
    async race<T>(work: Promise<T>): Promise<T> {
      work.catch(() => {});
      const stalled = new Promise<StallError>((resolve) => {
        if (stall) resolve(stall);
        else listeners.push(resolve);
      });
      try {
        const first = await Promise.race([work.then((value) => ({ value })), stalled]);
        if (!(first instanceof StallError)) return first.value;
        let wait: NodeJS.Timeout | undefined;
        const ended = await Promise.race([
          work.then(
            () => true,
            () => true,
          ),
          new Promise<false>((resolve) => {
            wait = setTimeout(() => resolve(false), graceMs);
          }),
        ]);
        clearTimeout(wait);
        first.stuck = !ended;
        threadsStuck ||= first.stuck;
        throw first;
      } finally {
        clearInterval(timer);
      }
    },
  };
}
