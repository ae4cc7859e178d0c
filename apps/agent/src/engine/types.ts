/** `quick`: type, size and modification time (whole seconds). `content`: type, size and bytes. */
export type Mode = 'quick' | 'content';

/** How a directory unit is judged: both sides present, or only one side (all missing / all extra). */
export type UnitKind = 'both' | 'source-only' | 'target-only';

/** One directory to verify: `rel` is its path below the root, as bytes (empty for the root). */
export interface Unit {
  root: number;
  kind: UnitKind;
  /** a string while every name on the way is UTF-8; the exact bytes below a name that is not */
  rel: string | Buffer;
  /**
   * Why the target side is unknown (a target directory above could not be listed): then the
   * source's files count as different and unreadable, not as missing.
   */
  targetProblem?: string;
}

/** A verified directory: its source and target as absolute paths (bytes). */
export interface RootSpec {
  source: string;
  target: string;
}

export interface Counts {
  total: number;
  different: number;
  missing: number;
  extra: number;
}

/**
 * A report line's category: `error` is a path that could not be read (or
 * vanished); `transient` one that differed during the walk and matched on
 * the recheck (`--recheck`), counted in none of the API's numbers.
 */
export type Category = 'different' | 'missing' | 'extra' | 'error' | 'transient';

/** One inconsistent (or unverifiable, vanished, or transient) path of one root. */
export interface ReportEntry {
  root: number;
  category: Category;
  /** relative to the root, as bytes */
  path: Buffer;
  reason: string;
  /** the API count this path is in, if any */
  counted?: 'different' | 'missing' | 'extra';
  /** it could not be read on one side (or its directory could not be listed) */
  unreadable?: true;
  /** a directory, counted for its own mode or owner (`--metadata`) */
  directory?: true;
}

/** The entries of one verified directory that could not be read: how many, and the first few. */
export interface Unreadable {
  count: number;
  samples: ReportEntry[];
  /**
   * Devices on both sides whose number (major:minor) a side could not tell, by that side: compared
   * by type alone (through sshfs every device reads 0:0; a manifest of an older agent gives none).
   */
  unnumberedDevices: { source: number; target: number };
  /** Source entries gone between their listing and their reading (counted in none of the numbers), and the first few. */
  vanished: { count: number; samples: ReportEntry[] };
}

/** Ownership and permission fields `--metadata` may compare. */
export const METADATA_FIELDS = ['mode', 'uid', 'gid'] as const;
export type MetadataField = (typeof METADATA_FIELDS)[number];

export interface EngineOptions {
  roots: RootSpec[];
  mode: Mode;
  /** times that differ by at most this many whole seconds are equal (default 0) */
  modifyWindow: number;
  /** ownership and permission fields compared as well (default none) */
  metadata: MetadataField[];
  excludes: string[];
  /** Collect every inconsistent path (for `--report`); off, only the counts are kept. */
  report: boolean;
}

export interface Progress {
  /** entries looked at (files and directories, both sides) */
  entries: number;
  /** bytes of file content read and compared (content mode) */
  bytes: number;
  /** the directory being verified, for the display */
  current: string;
}

/** What a walk found, per verified directory: the API's counts, and what could not be read. */
export interface EngineResult {
  counts: Counts[];
  unreadable: Unreadable[];
}

export const zeroCounts = (): Counts => ({ total: 0, different: 0, missing: 0, extra: 0 });

export const zeroUnreadable = (): Unreadable => ({
  count: 0,
  samples: [],
  unnumberedDevices: { source: 0, target: 0 },
  vanished: { count: 0, samples: [] },
});
