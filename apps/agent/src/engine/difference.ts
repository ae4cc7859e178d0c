import { KIND_WORDS, type Kind } from './listing.js';
import { displayPath } from './paths.js';
import type { Mode } from './types.js';

/** What is known of one non-directory entry, from the filesystem or from a manifest. */
export interface FileFacts {
  kind: Kind;
  size?: number;
  /** modification time, whole seconds */
  mtime?: number;
  /** a symbolic link's target, as bytes */
  link?: Buffer;
}

/**
 * The rules for two non-directory entries: why they differ, `undefined` when
 * they match, or `'content'` when only their bytes can tell (content mode,
 * same size).
 */
export function describeDifference(s: FileFacts, t: FileFacts, mode: Mode): string | undefined | 'content' {
  if (s.kind !== t.kind) return `${KIND_WORDS[s.kind]} at the source, ${KIND_WORDS[t.kind]} at the target`;
  if (s.kind === 'symlink') {
    return s.link && t.link && s.link.equals(t.link)
      ? undefined
      : `link target ${displayPath(s.link ?? Buffer.alloc(0))} at the source, ${displayPath(t.link ?? Buffer.alloc(0))} at the target`;
  }
  // FIFOs, sockets and devices: compared by type only, never opened (opening a FIFO blocks)
  if (s.kind !== 'file') return undefined;
  if (s.size !== t.size) return `size ${s.size} at the source, ${t.size} at the target`;
  if (mode === 'quick') {
    return s.mtime === t.mtime
      ? undefined
      : `modification time ${new Date((s.mtime ?? 0) * 1000).toISOString()} at the source, ${new Date((t.mtime ?? 0) * 1000).toISOString()} at the target`;
  }
  return s.size === 0 ? undefined : 'content';
}
