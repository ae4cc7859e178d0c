import type { FindingCategory } from '@sms/domain';
import { Store } from './handle.js';

/** A finding as a row: the line the agent sent, with its task, run and upload (batch). */
export interface FindingRow {
  dir_check: string;
  category: FindingCategory;
  path: string;
  path_base64: string | null;
  reason: string;
}

/** A finding as a page shows it: the row's id orders it within its directory. */
export interface StoredFindingRow extends FindingRow {
  id: number;
  run_id: string;
}

/** The run that made a directory's newest result, and when it was stored. */
export interface DirectoryRun {
  dir_check: string;
  /** Null for a result stored before runs were kept: no findings can be of it. */
  run_id: string | null;
  finished_time: number;
}

/** A directory's current findings: of the run of its newest result. */
export interface FindingDirectory {
  dir_check: string;
  run_id: string;
  finished_time: number;
  findings: number;
  truncated: boolean;
}

/** Where a page starts: after this finding of this directory. */
export interface FindingsCursor {
  dir_check: string;
  id: number;
}

/** Values of one `in (…)` list, far below SQLite's and PostgreSQL's limits on parameters. */
export const IN_LIST_CHUNK = 500;

/** The queries of findings that write nothing: which run is current, what is stored, the pages' rows. FindingStore adds the writes. */
export class FindingReads extends Store {
  /** The run of each named directory's newest result; directories without one are left out. */
  async currentRuns(taskId: string, dirChecks: readonly string[]): Promise<Map<string, DirectoryRun>> {
    return this.run('read directory runs', async () => {
      const runs = new Map<string, DirectoryRun>();
      for (let i = 0; i < dirChecks.length; i += IN_LIST_CHUNK) {
        const rows = await this.db
          .selectFrom('task_directories as td')
          .innerJoin('consistency_uploads as u', 'u.id', 'td.upload_id')
          .select(['td.dir_check', 'u.run_id', 'td.finished_time'])
          .where('td.task_id', '=', taskId)
          .where('td.dir_check', 'in', dirChecks.slice(i, i + IN_LIST_CHUNK))
          .execute();
        for (const row of rows) runs.set(row.dir_check, { ...row, finished_time: Number(row.finished_time) });
      }
      return runs;
    });
  }

  /** Whether any upload of the task carries this run. */
  async runExists(taskId: string, runId: string): Promise<boolean> {
    return this.run('read run', async () => {
      const row = await this.db
        .selectFrom('consistency_uploads')
        .select('id')
        .where('task_id', '=', taskId)
        .where('run_id', '=', runId)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    });
  }

  /** How many findings of this directory and run are stored already (by closed uploads). */
  async storedCount(taskId: string, dirCheck: string, runId: string): Promise<number> {
    return this.run('count findings', async () => {
      const row = await this.db
        .selectFrom('finding_directories')
        .select('findings')
        .where('task_id', '=', taskId)
        .where('dir_check', '=', dirCheck)
        .where('run_id', '=', runId)
        .executeTakeFirst();
      return Number(row?.findings ?? 0);
    });
  }

  /** How many finding rows the task has, seen or not (for tests and the benchmark). */
  async rowCount(taskId: string): Promise<number> {
    return this.run('count finding rows', async () => {
      const row = await this.db
        .selectFrom('findings')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('task_id', '=', taskId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  /** The directories of the task that an abandoned upload may have written to: every directory with findings of its run. */
  async directoriesOfRun(taskId: string, runId: string): Promise<string[]> {
    return this.run('read directories of run', async () => {
      const rows = await this.db
        .selectFrom('findings')
        .select('dir_check')
        .distinct()
        .where('task_id', '=', taskId)
        .where('run_id', '=', runId)
        .execute();
      return rows.map((r) => r.dir_check);
    });
  }

  /**
   * The directories with current findings, in `dir_check` order from `from`
   * (inclusive), at most `limit`; or only `dirCheck`, or those of `dirChecks`, when given.
   */
  async findingDirectories(
    taskId: string,
    options: { dirCheck?: string; dirChecks?: readonly string[]; from?: string; limit: number },
  ): Promise<FindingDirectory[]> {
    return this.run('read finding directories', async () => {
      let query = this.db
        .selectFrom('finding_directories as fd')
        .innerJoin('task_directories as td', (join) =>
          join.onRef('td.task_id', '=', 'fd.task_id').onRef('td.dir_check', '=', 'fd.dir_check'),
        )
        .innerJoin('consistency_uploads as u', 'u.id', 'td.upload_id')
        .select(['fd.dir_check', 'fd.run_id', 'td.finished_time', 'fd.findings', 'fd.truncated'])
        .where('fd.task_id', '=', taskId)
        .whereRef('u.run_id', '=', 'fd.run_id');
      if (options.dirCheck !== undefined) query = query.where('fd.dir_check', '=', options.dirCheck);
      if (options.dirChecks !== undefined) {
        if (options.dirChecks.length === 0) return [];
        query = query.where('fd.dir_check', 'in', [...options.dirChecks]);
      }
      if (options.from !== undefined) query = query.where('fd.dir_check', '>=', options.from);
      const rows = await query.orderBy('fd.dir_check').limit(options.limit).execute();
      return rows.map((r) => ({
        dir_check: r.dir_check,
        run_id: r.run_id,
        finished_time: Number(r.finished_time),
        findings: Number(r.findings),
        truncated: Number(r.truncated) === 1,
      }));
    });
  }

  /**
   * Up to `limit` current findings of one directory's run, in the order they
   * were sent, after finding `afterId`, of the given categories (all when none).
   */
  async directoryFindings(
    taskId: string,
    directory: { dir_check: string; run_id: string },
    options: { afterId: number; limit: number; categories?: readonly FindingCategory[] },
  ): Promise<StoredFindingRow[]> {
    return this.run('read findings', async () => {
      let query = this.db
        .selectFrom('findings as f')
        .innerJoin('finding_batches as b', 'b.id', 'f.batch_id')
        .select(['f.id', 'f.dir_check', 'f.run_id', 'f.category', 'f.path', 'f.path_base64', 'f.reason'])
        .where('f.task_id', '=', taskId)
        .where('f.dir_check', '=', directory.dir_check)
        .where('f.run_id', '=', directory.run_id)
        .where('f.id', '>', options.afterId)
        .where('b.state', '=', 'done');
      if (options.categories && options.categories.length > 0)
        query = query.where('f.category', 'in', [...options.categories]);
      const rows = await query.orderBy('f.id').limit(options.limit).execute();
      return rows.map((r) => ({ ...r, id: Number(r.id), category: r.category as FindingCategory }));
    });
  }
}
