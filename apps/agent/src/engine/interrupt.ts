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
