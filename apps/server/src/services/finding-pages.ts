import {
  Actions,
  ErrorCodes,
  type FindingCategory,
  FindingLimits,
  type FindingsDirectory,
  type FindingsPage,
  type FindingsQuery,
  RESYNC_CATEGORIES,
  SmsError,
  type StoredFinding,
} from '@sms/domain';
import type { FindingDirectory, FindingStore } from '../storage/finding-store.js';
import type { Principal } from './auth-service.js';
import type { TaskService } from './task-service.js';

/** The position after a finding, as `next_marker` carries it (base64url of `[dir_check, id]`). */
function encodeMarker(dirCheck: string, id: number): string {
  return Buffer.from(JSON.stringify([dirCheck, id])).toString('base64url');
}

function decodeMarker(marker: string): { dir_check: string; id: number } {
  try {
    const value = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      Number.isSafeInteger(value[1]) &&
      (value[1] as number) >= 0
    )
      return { dir_check: value[0], id: value[1] as number };
  } catch {}
  throw new SmsError(
    ErrorCodes.InvalidParameter,
    'marker: not a marker this server gave; pass the next_marker of the previous page unchanged, or none for the first page.',
  );
}

/** A finding with its directory's run, in the order the API gives them. */
export interface OrderedFinding {
  finding: StoredFinding;
  id: number;
  directory: FindingDirectory;
}

/** Directories read at once while walking a task's findings in order. */
const DIRECTORY_PAGE = 200;

/**
 * Reads of a task's current findings (those of the run that made each
 * directory's newest result) as pages, CSV or re-sync lists; FindingService
 * adds the uploads.
 */
export class FindingPages {
  protected readonly findings: FindingStore;

  constructor(
    stores: { findings: FindingStore },
    protected readonly tasks: TaskService,
  ) {
    this.findings = stores.findings;
  }

  /** One page of a task's current findings, in a stable order (by directory, then as sent). */
  async page(principal: Principal, taskId: string, query: FindingsQuery): Promise<FindingsPage> {
    await this.tasks.find(principal, taskId, Actions.getConsistencyCheckResult);
    const limit = query.limit ?? FindingLimits.pageDefault;
    const items: OrderedFinding[] = [];
    const after = query.marker === undefined ? undefined : decodeMarker(query.marker);
    for await (const item of this.ordered(taskId, query, after)) {
      items.push(item);
      if (items.length > limit) break;
    }
    const page = items.slice(0, limit);
    const directories = new Map<string, FindingsDirectory>();
    const describe = (d: FindingDirectory): FindingsDirectory => ({
      dir_check: d.dir_check,
      run_id: d.run_id,
      finished_time: d.finished_time,
      truncated: d.truncated,
    });
    if (query.dir_check !== undefined) {
      const [only] = await this.findings.findingDirectories(taskId, { dirCheck: query.dir_check, limit: 1 });
      if (only) directories.set(only.dir_check, describe(only));
    }
    for (const item of page)
      if (!directories.has(item.directory.dir_check))
        directories.set(item.directory.dir_check, describe(item.directory));
    const last = page.at(-1);
    return {
      task_id: taskId,
      findings: page.map((i) => i.finding),
      directories: [...directories.values()],
      ...(items.length > limit && last
        ? { next_marker: encodeMarker(last.directory.dir_check, last.id) }
        : {}),
    };
  }

  /**
   * Every current finding that matches, for an export: the caller's right to
   * read is checked before the first is read. A re-sync list (`resync`)
   * takes different and missing unless told, and names one directory: a
   * task with findings in several must be given `dir_check`.
   */
  async export(
    principal: Principal,
    taskId: string,
    query: FindingsQuery,
    options: { resync: boolean },
  ): Promise<AsyncGenerator<OrderedFinding>> {
    await this.tasks.find(principal, taskId, Actions.getConsistencyCheckResult);
    if (options.resync && query.dir_check === undefined) {
      const directories = await this.findings.findingDirectories(taskId, { limit: 2 });
      if (directories.length > 1) {
        throw new SmsError(
          ErrorCodes.InvalidParameter,
          'dir_check: this task has findings in more than one directory, and a re-sync list is relative to one; name it with dir_check (the task page lists them).',
        );
      }
    }
    const categories: readonly FindingCategory[] | undefined =
      query.category ?? (options.resync ? RESYNC_CATEGORIES : undefined);
    return this.ordered(
      taskId,
      { ...query, ...(categories ? { category: [...categories] } : {}) },
      undefined,
    );
  }

  /** The current findings that match, in order, after `after` when given: a directory at a time, a page at a time. */
  private async *ordered(
    taskId: string,
    query: Pick<FindingsQuery, 'dir_check' | 'category'>,
    after: { dir_check: string; id: number } | undefined,
  ): AsyncGenerator<OrderedFinding> {
    let from = after?.dir_check;
    let skipFrom = false;
    for (;;) {
      const directories = await this.findings.findingDirectories(taskId, {
        ...(query.dir_check === undefined ? {} : { dirCheck: query.dir_check }),
        ...(from === undefined ? {} : { from }),
        limit: DIRECTORY_PAGE,
      });
      for (const directory of directories) {
        if (skipFrom && directory.dir_check === from) continue;
        let afterId = after && directory.dir_check === after.dir_check ? after.id : 0;
        for (;;) {
          const rows = await this.findings.directoryFindings(taskId, directory, {
            afterId,
            limit: 1000,
            ...(query.category ? { categories: query.category } : {}),
          });
          for (const row of rows) {
            yield {
              id: row.id,
              directory,
              finding: {
                dir_check: row.dir_check,
                category: row.category,
                path: row.path,
                ...(row.path_base64 === null ? {} : { path_base64: row.path_base64 }),
                reason: row.reason,
                run_id: row.run_id,
                finished_time: directory.finished_time,
              },
            };
          }
          if (rows.length < 1000) break;
          afterId = rows.at(-1)!.id;
        }
      }
      if (directories.length < DIRECTORY_PAGE || query.dir_check !== undefined) return;
      from = directories.at(-1)!.dir_check;
      skipFrom = true;
    }
  }
}
