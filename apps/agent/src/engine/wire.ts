import type { Counts, ReportEntry, Unit, Unreadable } from './types.js';

export interface WorkerRequest {
  units: Unit[];
}

export type WorkerReply =
  | { type: 'progress'; entries: number; bytes: number; current: string }
  | { type: 'entries'; entries: ReportEntry[] }
  | {
      type: 'done';
      remaining: Unit[];
      counts: Counts[];
      unreadable: Unreadable[];
      entries: ReportEntry[];
      seen: number;
      bytes: number;
    };

/** Buffers cross a thread as plain Uint8Arrays: give them their Buffer face back. */
export function fromTransfer<T>(value: unknown): T {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength) as T;
  if (Array.isArray(value)) return value.map((v) => fromTransfer(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = fromTransfer(v);
    return out as T;
  }
  return value as T;
}
