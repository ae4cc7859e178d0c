/** A run stopped by a signal (SIGINT, SIGTERM) before it ended: nothing it found is complete. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor(readonly signal: string) {
    super(`interrupted by ${signal}`);
  }
}

/** Throws `InterruptedError` once the signal has fired; its reason is the signal's name. */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError(String(signal.reason));
}

/**
 * Lets the event loop run (signal handlers, I/O callbacks) between slices of
 * synchronous work, which would otherwise hold it until the whole run ends.
 */
export function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Rejects with `InterruptedError` once the signal fires (at once if it has): to race against work
 * that waits. Marked handled, so a race that ended otherwise leaves no unhandled rejection.
 */
export function interruption(signal: AbortSignal | undefined): Promise<never> {
  const stopped = new Promise<never>((_, reject) => {
    if (!signal) return;
    const stop = () => reject(new InterruptedError(String(signal.reason)));
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
  stopped.catch(() => {});
  return stopped;
}

/**
 * A pause for a loop of synchronous work: once `everyMs` have passed since the last, lets the event
 * loop run (so that a signal is heard) and throws `InterruptedError` if the signal fired.
 */
export function pacer(signal: AbortSignal | undefined, everyMs = 50): () => Promise<void> {
  let yielded = Date.now();
  return async () => {
    if (Date.now() - yielded <= everyMs) return;
    await yieldToEvents();
    throwIfInterrupted(signal);
    yielded = Date.now();
  };
}
