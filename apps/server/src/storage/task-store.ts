import { randomUUID } from 'node:crypto';
import {
  type ListTasksParams,
  TASK_PAGE_DEFAULT,
  type Task,
  type TaskState,
  type TaskType,
} from '@sms/domain';
import { sql } from 'kysely';
import { Store } from './handle.js';

/** Tasks whose name contains `part`, ignoring case; `%`, `_` and `\\` in it match themselves. */
export function nameContains(part: string) {
  const pattern = `%${part.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  return sql<boolean>`lower(tasks.name) like lower(${pattern}) escape '\\'`;
}

/** Tasks: created, read, listed and deleted with their uploads. */
export class TaskStore extends Store {
  // --- tasks -----------------------------------------------------------------

  async createTask(task: { projectId: string; name: string; type: TaskType }, now: number): Promise<string> {
    const id = randomUUID();
    await this.run('create task', () =>
      this.db
        .insertInto('tasks')
        .values({
          id,
          project_id: task.projectId,
          name: task.name,
          type: task.type,
          state: 'READY' satisfies TaskState,
          create_date: now,
          start_date: null,
          finish_date: null,
          latest_upload_id: null,
          latest_finished_time: null,
        })
        .execute(),
    );
    return id;
  }

  private taskQuery() {
    return this.db
      .selectFrom('tasks')
      .innerJoin('projects', 'projects.id', 'tasks.project_id')
      .select([
        'tasks.id',
        'tasks.name',
        'tasks.type',
        'tasks.state',
        'tasks.project_id',
        'projects.name as project_name',
        'tasks.create_date',
        'tasks.start_date',
        'tasks.finish_date',
      ]);
  }

  async getTask(id: string): Promise<Task | undefined> {
    return this.run('read task', async () => {
      const row = await this.taskQuery().where('tasks.id', '=', id).executeTakeFirst();
      return row as Task | undefined;
    });
  }

  /** One page of a project's tasks, newest first, and how many match in all. */
  async listTasks(projectId: string, filters: ListTasksParams): Promise<{ count: number; tasks: Task[] }> {
    return this.run('list tasks', async () => {
      let query = this.taskQuery().where('tasks.project_id', '=', projectId);
      if (filters.state !== undefined) query = query.where('tasks.state', '=', filters.state);
      if (filters.id !== undefined) query = query.where('tasks.id', '=', filters.id);
      if (filters.name !== undefined) query = query.where(nameContains(filters.name));
      const count = await query
        .clearSelect()
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      const tasks = await query
        .orderBy('tasks.create_date', 'desc')
        .orderBy('tasks.id')
        .limit(filters.limit ?? TASK_PAGE_DEFAULT)
        .offset(filters.offset ?? 0)
        .execute();
      return { count: Number(count.n), tasks: tasks as Task[] };
    });
  }

  /** Deletes a task and its uploads; false when there was no such task. */
  async deleteTask(id: string): Promise<boolean> {
    return this.run('delete task', () =>
      this.db.transaction().execute(async (trx) => {
        // PostgreSQL: the task's row is locked first, as an upload locks it (sms_store_upload) before
        // it writes: an upload retried with a stored key waits on that key's row, and a delete that
        // took the uploads' rows before the task's waited on the upload in turn (a deadlock)
        if (this.dialect === 'postgres')
          await trx.selectFrom('tasks').select('id').where('id', '=', id).forUpdate().execute();
        await trx.deleteFrom('consistency_uploads').where('task_id', '=', id).execute();
        const result = await trx.deleteFrom('tasks').where('id', '=', id).executeTakeFirst();
        return Number(result.numDeletedRows) > 0;
      }),
    );
  }
}
