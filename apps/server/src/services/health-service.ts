import type { Dialect } from '../db/schema.js';
import { failureKind } from '../storage/handle.js';

/** What `/readyz` says: the storage answers, or why not. */
export type Readiness =
  | { ready: true; storage: Dialect }
  | { ready: false; storage: Dialect; reason: string };

/** Whether the server can serve: its storage answers a trivial query. */
export class HealthService {
  constructor(private readonly storage: { dialect: Dialect; ping(): Promise<void> }) {}

  async readiness(): Promise<Readiness> {
    try {
      await this.storage.ping();
      return { ready: true, storage: this.storage.dialect };
    } catch (error) {
      // the kind of failure, not the driver's words (anyone may ask: they can name the database's
      // host and port); the log has them
      const reason = failureKind((error as { cause?: unknown })?.cause ?? error);
      return { ready: false, storage: this.storage.dialect, reason };
    }
  }
}
