import { type FindingsQuery, FindingsQuerySchema, resyncEntry, type StoredFinding } from '@sms/domain';
import type { Context, Hono } from 'hono';
import type { Principal } from '../../services/auth-service.js';
import { validateInput } from '../body.js';
import type { AppEnv } from '../context.js';
import { authenticate, principalOf } from '../middleware/authenticate.js';
import { TASK_PATH, taskIdOf } from './task-path.js';

/** The CSV's columns, in order. */
export const CSV_COLUMNS = [
  'dir_check',
  'category',
  'path',
  'path_base64',
  'reason',
  'run_id',
  'finished_time',
] as const;

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote, line break, tab or semicolon. A
 * cell of free text (`text`) that a spreadsheet would read as a formula is neutralised with a `'`
 * (OWASP's advice): at its start (`=`, `+`, `-`, `@`, tab or CR), and after each `;` or tab that
 * `=`, `+`, `-` or `@` follows, since a spreadsheet that splits rows at `;` (the list separator of
 * many European locales) or at tabs honours quotes only at a cell's start, and would make that part
 * a cell of its own. The machine-made columns (category, path_base64, run_id, finished_time) are
 * never changed: base64 may start with `+`.
 */
export function csvCell(value: string, text = true): string {
  const safe = text ? value.replace(/^[=+\-@\t\r]/, "'$&").replace(/([;\t])(?=[=+\-@])/g, "$1'") : value;
  return /[",;\t\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The CSV columns people or agents wrote, which a spreadsheet must not run. */
const TEXT_COLUMNS = new Set<string>(['dir_check', 'path', 'reason']);

export function csvRow(finding: StoredFinding): string {
  const cells: Record<(typeof CSV_COLUMNS)[number], string> = {
    dir_check: finding.dir_check,
    category: finding.category,
    path: finding.path,
    path_base64: finding.path_base64 ?? '',
    reason: finding.reason,
    run_id: finding.run_id,
    finished_time: new Date(finding.finished_time).toISOString(),
  };
  return `${CSV_COLUMNS.map((c) => csvCell(cells[c], TEXT_COLUMNS.has(c))).join(',')}\r\n`;
}

/** Rows put in the stream at once. */
const STREAM_BATCH = 500;

/** An async source as a byte stream, a batch of items at a time, read only as fast as the client takes it. */
function streamOf<T>(
  items: AsyncGenerator<T>,
  encode: (item: T) => Uint8Array | string | undefined,
  head?: string,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const parts: Uint8Array[] = [];
      if (!started && head !== undefined) parts.push(encoder.encode(head));
      started = true;
      for (let n = 0; n < STREAM_BATCH; n++) {
        const next = await items.next();
        if (next.done) {
          for (const part of parts) controller.enqueue(part);
          controller.close();
          return;
        }
        const out = encode(next.value);
        if (out !== undefined) parts.push(typeof out === 'string' ? encoder.encode(out) : out);
      }
      for (const part of parts) controller.enqueue(part);
    },
    async cancel() {
      await items.return(undefined);
    },
  });
}

/** U+FEFF, the byte order mark: written as UTF-8 it is EF BB BF, which tells a spreadsheet the encoding. */
const UTF8_BOM = '\uFEFF';

/** CSV when asked by `format=csv` or by an `Accept` that names text/csv and not JSON first. */
function wantsCsv(c: Context<AppEnv>, format: string | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  const accept = c.req.header('accept') ?? '';
  return /\btext\/csv\b/i.test(accept) && !/^\s*application\/json\b/i.test(accept);
}

/**
 * A task's findings streamed as CSV or as a re-sync list (`format`), read
 * only as fast as the client takes them: what the API and the dashboard's
 * downloads send.
 */
export async function exportFindings(
  c: Context<AppEnv>,
  principal: Principal,
  taskId: string,
  query: FindingsQuery & { format: 'csv' | 'files-from' },
): Promise<Response> {
  const findings = c.get('deps').findings;
  if (query.format === 'files-from') {
    const nul = query.null === '1';
    const items = await findings.export(principal, taskId, query, { resync: true });
    return c.body(
      streamOf(items, (item) => resyncEntry(item.finding, nul)),
      200,
      {
        'content-type': nul ? 'application/octet-stream' : 'text/plain; charset=utf-8',
        'content-disposition': `attachment; filename="${taskId}-resync${nul ? '.from0' : '.txt'}"`,
        'cache-control': 'no-store',
      },
    );
  }
  const items = await findings.export(principal, taskId, query, { resync: false });
  // Excel reads a CSV without a byte order mark in the system's code page: every name outside
  // ASCII (Chinese, accented) comes out garbled. Scripts would see the mark in the first header.
  const header = `${query.bom === '1' ? UTF8_BOM : ''}${CSV_COLUMNS.join(',')}\r\n`;
  return c.body(
    streamOf(items, (item) => csvRow(item.finding), header),
    200,
    {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${taskId}-findings.csv"`,
      'cache-control': 'no-store',
    },
  );
}

/**
 * `GET /v3/tasks/{task_id}/consistency-result/files` (ours): a task's
 * current findings as a JSON page (`limit`, `marker`), as CSV (`Accept:
 * text/csv` or `format=csv`), or as a re-sync list for `rsync --files-from`
 * (`format=files-from`, `null=1` for `--from0`); filtered by `dir_check` and
 * `category`. Read permission as for `ShowConsistencyResult`.
 */
export function registerFindingsList(app: Hono<AppEnv>): void {
  app.get(`${TASK_PATH}/consistency-result/files`, authenticate, async (c) => {
    const taskId = taskIdOf(c);
    const query = validateInput(FindingsQuerySchema, c.req.query(), 'query');
    const principal = principalOf(c);
    if (query.format === 'files-from' || wantsCsv(c, query.format))
      return exportFindings(c, principal, taskId, {
        ...query,
        format: query.format === 'files-from' ? 'files-from' : 'csv',
      });
    return c.json(await c.get('deps').findings.page(principal, taskId, query));
  });
}
