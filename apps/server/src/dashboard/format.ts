import type { Verdict } from '@sms/domain';

/** A count with thousands separators: 1,000,000. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A time as operators compare them across machines: `2026-11-28 03:51:56 UTC`. */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** How long ago, in the largest whole unit: `just now`, `5 min ago`, `3 h ago`, `2 days ago`. */
export function formatAgo(ms: number, now: number): string {
  const seconds = Math.round((now - ms) / 1000);
  if (seconds < 60) return seconds < -60 ? 'in the future' : 'just now';
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

/** What each verdict is called on the page. */
export const VERDICT_LABEL: Record<Verdict, string> = {
  inconsistent: 'Inconsistent',
  'no-result': 'No result',
  never: 'Never verified',
  consistent: 'Consistent',
};

/** The four parts of a directory's files, in the order the bars draw them. */
export const PARTS = [
  { key: 'matching', label: 'Matching' },
  { key: 'different', label: 'Different' },
  { key: 'missing', label: 'Missing at target' },
  { key: 'extra', label: 'Extra at target' },
] as const;
export type PartKey = (typeof PARTS)[number]['key'];

/** Characters that reorder the text around them (bidirectional controls). */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/**
 * Text an agent sent (a path, a reason, a directory) as the page shows it: a bidirectional control
 * as `\u{202e}`, so that `invoice\u{202e}fdp.exe` cannot pass for `invoiceexe.pdf` (what the
 * character makes of it); the rest as it is (HTML-escaped by JSX).
 */
export function visible(text: string): string {
  return text.replace(BIDI_CONTROLS, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/**
 * One word for a POSIX shell, for a command the page suggests: as it is when it holds nothing a
 * shell reads specially, else in single quotes (each `'` as `'\''`), so that a pasted command
 * takes a path with blanks, `$(…)` or quotes as that path and runs nothing of it.
 */
export function shellWord(text: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
