import type { Dialect } from '../db/schema.js';

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
      const reason = error instanceof Error ? error.message.slice(0, 300) : 'storage did not answer';
      return { ready: false, storage: this.storage.dialect, reason };
    }
  }
}
