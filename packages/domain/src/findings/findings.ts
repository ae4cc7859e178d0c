import * as v from 'valibot';
import { DirCheckSchema, EpochMillisSchema } from '../consistency-result/consistency-result.js';
import { Limits } from '../limits/index.js';
import { displayPath, isUtf8Bytes } from '../paths/index.js';
import { TaskIdSchema } from '../task-id/index.js';
import { noNul, wellFormed } from '../text/index.js';

/**
 * Findings: the per-path lines behind a directory's four counts, our
 * extension of the SMS API (`/v3/tasks/{task_id}/consistency-result/files`).
 * The SMS endpoints and their limits are unchanged by it.
 */

/**
 * The header that names the run an upload belongs to: one `sms-agent verify`
 * is one run, whatever number of uploads it sends. An upload without it is a
 * run of its own.
 */
export const RUN_ID_HEADER = 'X-Sms-Run-Id';

/** A run id: a UUID the agent makes (`crypto.randomUUID()`), any case. */
export const RunIdSchema = v.pipe(
  v.string(),
  v.regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
    'expected a UUID such as 2f1c9c3e-5b7a-4d2e-9a41-0c8e6f1d2b3a',
  ),
);
export type RunId = v.InferOutput<typeof RunIdSchema>;

/** The limits of findings, ours (the API has none for them but the per-directory count). */
export const FindingLimits = {
  /** Findings of one directory in one run: the API's most files per directory; beyond it, a truncation marker. */
  perDirectoryPerRun: Limits.fileCountMax,
  /** `path`: 1..4096 characters (Linux's PATH_MAX), relative to `dir_check`. */
  pathMaxLength: 4096,
  /** `path_base64`: the base64 of at most 4096 bytes. */
  pathBase64MaxLength: Math.ceil(4096 / 3) * 4,
  /** `reason`: 0..1024 characters. */
  reasonMaxLength: 1024,
  /** One NDJSON line of an upload, in bytes (its newline not counted). */
  lineMaxBytes: 16_384,
  /** A page of `GET …/files`: 1..1000 findings, 100 when not given. */
  pageMax: 1000,
  pageDefault: 100,
  /** `marker`: at most this many characters. */
  markerMaxLength: 2048,
} as const;

/** What a finding says of a path, as the agent's `--report` says it. */
export const FINDING_CATEGORIES = ['different', 'missing', 'extra', 'error', 'transient'] as const;
export const FindingCategorySchema = v.picklist(
  FINDING_CATEGORIES,
  `expected one of ${FINDING_CATEGORIES.join(', ')}`,
);
export type FindingCategory = v.InferOutput<typeof FindingCategorySchema>;

/** The categories a re-sync list holds unless told otherwise: what must be copied again. */
export const RESYNC_CATEGORIES: readonly FindingCategory[] = ['different', 'missing'];

/** How a finding names `dir_check` itself (its own mode or owner differs, or it cannot be listed). */
export const DIR_CHECK_ITSELF = '.';

/**
 * `path`: relative to `dir_check`, 1..4096 characters, no NUL, no empty, `.` or `..` segment, not
 * absolute; or `.` alone, `dir_check` itself.
 */
export const FindingPathSchema = v.pipe(
  v.string(),
  v.minLength(1, 'expected a path relative to dir_check, not an empty string'),
  v.maxLength(FindingLimits.pathMaxLength),
  noNul('a path cannot hold a NUL character'),
  wellFormed(),
  v.check(
    (path) =>
      path === DIR_CHECK_ITSELF ||
      (!path.startsWith('/') && path.split('/').every((s) => s !== '' && s !== '.' && s !== '..')),
    'expected a path relative to dir_check, without a leading /, empty, . or .. segments (or . alone, dir_check itself)',
  ),
);

/**
 * `path_base64`: the path's bytes, only when they are not UTF-8; `path` is
 * then their `displayPath` (each invalid byte as `\xNN`), so that the rules
 * of `path` hold for the bytes too.
 */
export const PathBase64Schema = v.pipe(
  v.string(),
  v.minLength(4, 'expected the base64 of the path bytes'),
  v.maxLength(FindingLimits.pathBase64MaxLength),
  v.regex(
    /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
    'expected standard base64 (RFC 4648, padded)',
  ),
);

/** One finding: one line of the agent's `--report`. */
export const FindingSchema = v.pipe(
  v.strictObject({
    dir_check: DirCheckSchema,
    category: FindingCategorySchema,
    path: FindingPathSchema,
    path_base64: v.optional(PathBase64Schema),
    reason: v.pipe(v.string(), v.maxLength(FindingLimits.reasonMaxLength), noNul(), wellFormed()),
  }),
  // only once every field is valid: the bytes must be a name that is not UTF-8, shown as `path`
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed || dataset.issues || dataset.value.path_base64 === undefined) return;
    const bytes = base64Bytes(dataset.value.path_base64);
    if (isUtf8Bytes(bytes)) {
      addIssue({
        message: 'path_base64 is only for a name that is not UTF-8; a UTF-8 name goes in path alone',
      });
    } else if (displayPath(bytes) !== dataset.value.path) {
      addIssue({
        message: `path must show the bytes of path_base64 (each byte that is not UTF-8 as \\xNN): expected ${JSON.stringify(displayPath(bytes)).slice(0, 200)}`,
      });
    }
  }),
);
export type Finding = v.InferOutput<typeof FindingSchema>;

/**
 * The line that says a directory had more findings in this run than were
 * sent (more than `FindingLimits.perDirectoryPerRun`): its list is cut.
 */
export const TruncationMarkerSchema = v.strictObject({
  dir_check: DirCheckSchema,
  truncated: v.literal(true),
});
export type TruncationMarker = v.InferOutput<typeof TruncationMarkerSchema>;

/** One line of a findings upload: a finding, or a truncation marker (a line with `truncated`). */
export const FindingsLineSchema = v.lazy((input) =>
  typeof input === 'object' && input !== null && 'truncated' in input
    ? TruncationMarkerSchema
    : FindingSchema,
);
export type FindingsLine = Finding | TruncationMarker;

export function isTruncationMarker(line: FindingsLine): line is TruncationMarker {
  return 'truncated' in line;
}

/** The 200 body of `POST …/consistency-result/files`. */
export const UploadFindingsResponseSchema = v.strictObject({
  run_id: RunIdSchema,
  /** Findings stored by this request (a replay answers the first request's answer again). */
  stored: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** Directories whose newest result is from a later run: their lines were not kept. */
  superseded_dirs: v.array(DirCheckSchema),
});
export type UploadFindingsResponse = v.InferOutput<typeof UploadFindingsResponseSchema>;

/** The formats of `GET …/consistency-result/files`: a JSON page, CSV, or a re-sync list. */
export const FINDINGS_FORMATS = ['json', 'csv', 'files-from'] as const;

/** A category filter: one category or several, comma-separated (`different,missing`). */
export const FindingCategoryListSchema = v.pipe(
  v.string(),
  v.transform((text) => text.split(',')),
  v.array(FindingCategorySchema),
  v.minLength(1),
);

/** The query of `GET …/consistency-result/files`, as strings from the URL. */
export const FindingsQuerySchema = v.strictObject({
  dir_check: v.optional(DirCheckSchema),
  category: v.optional(FindingCategoryListSchema),
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[0-9]{1,7}$/, 'expected a whole number'),
      v.transform(Number),
      v.minValue(1),
      v.maxValue(FindingLimits.pageMax),
    ),
  ),
  marker: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(FindingLimits.markerMaxLength))),
  format: v.optional(v.picklist(FINDINGS_FORMATS, `expected one of ${FINDINGS_FORMATS.join(', ')}`)),
  null: v.optional(v.picklist(['0', '1'], 'expected 1 (NUL-separated) or 0 (one path a line)')),
  bom: v.optional(
    v.picklist(['0', '1'], 'expected 1 (the CSV starts with a UTF-8 byte order mark, for Excel) or 0 (none)'),
  ),
});
export type FindingsQuery = v.InferOutput<typeof FindingsQuerySchema>;

/** A finding as the server keeps it: with the run it came from and when that run's result was stored. */
export const StoredFindingSchema = v.strictObject({
  ...FindingSchema.pipe[0].entries,
  run_id: RunIdSchema,
  finished_time: EpochMillisSchema,
});
export type StoredFinding = v.InferOutput<typeof StoredFindingSchema>;

/** A directory of a page: the run its findings are from, when, and whether its list was cut. */
export const FindingsDirectorySchema = v.strictObject({
  dir_check: DirCheckSchema,
  run_id: RunIdSchema,
  finished_time: EpochMillisSchema,
  truncated: v.boolean(),
});
export type FindingsDirectory = v.InferOutput<typeof FindingsDirectorySchema>;

/**
 * A JSON page of `GET …/consistency-result/files`: findings in a stable
 * order (by `dir_check`, then as the agent sent them), the directories they
 * belong to, and `next_marker` when there are more.
 */
export const FindingsPageSchema = v.strictObject({
  task_id: TaskIdSchema,
  findings: v.array(StoredFindingSchema),
  directories: v.array(FindingsDirectorySchema),
  next_marker: v.optional(v.string()),
});
export type FindingsPage = v.InferOutput<typeof FindingsPageSchema>;

/** The bytes of standard base64 (no Buffer: the domain runs in browsers too). */
export function base64Bytes(b64: string): Uint8Array {
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

const encoder = new TextEncoder();

/**
 * One entry of a re-sync list (for `rsync --files-from`, relative to
 * `dir_check`): the path's own bytes (from `path_base64` when it has one),
 * ended by a newline, or by NUL when `nul` (for `rsync --from0`, and for
 * names that hold a newline). Undefined for a name that holds a newline or a
 * carriage return when not `nul`: a list of lines cannot hold it. A path that starts with `#`
 * or `;`, which rsync would read as a comment, is written `./#…`.
 */
export function resyncEntry(
  finding: Pick<Finding, 'path' | 'path_base64'>,
  nul: boolean,
): Uint8Array | undefined {
  const path =
    finding.path_base64 === undefined ? encoder.encode(finding.path) : base64Bytes(finding.path_base64);
  // one path a line cannot name a path that holds a line break (rsync ends a line at LF or CR):
  // only the NUL-separated list has it
  if (!nul && (path.includes(0x0a) || path.includes(0x0d))) return undefined;
  // rsync reads a line that starts with # or ; as a comment (with --from0 too): `./` keeps it a path
  const dot = path[0] === 0x23 || path[0] === 0x3b ? 2 : 0;
  const entry = new Uint8Array(dot + path.length + 1);
  if (dot) entry.set([0x2e, 0x2f]);
  entry.set(path, dot);
  entry[dot + path.length] = nul ? 0 : 0x0a;
  return entry;
}
