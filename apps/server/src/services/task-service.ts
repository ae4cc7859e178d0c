import {
  Actions,
  type CreateTaskRequest,
  type ListTasksParams,
  type ListTasksResponse,
  NotFoundError,
  type Task,
} from '@sms/domain';
import type { TaskStore } from '../storage/storage.js';
import type { AuthService, Principal } from './auth-service.js';

/** Tasks belong to the project of the token that created them. */
export class TaskService {
  private readonly tasks: TaskStore;

  constructor(
    stores: { tasks: TaskStore },
    private readonly auth: AuthService,
    private readonly clock: () => number = Date.now,
  ) {
    this.tasks = stores.tasks;
  }

  async create(principal: Principal, request: CreateTaskRequest): Promise<{ id: string }> {
    this.auth.authorize(principal, Actions.createTask, `project:${principal.projectName}`);
    const id = await this.tasks.createTask(
      { projectId: principal.projectId, name: request.name, type: request.type ?? 'MIGRATE_FILE' },
      this.clock(),
    );
    return { id };
  }

  /** The task, checked in this order: exists (404), then may be acted on (403). */
  async find(
    principal: Principal,
    id: string,
    action: (typeof Actions)[keyof typeof Actions],
  ): Promise<Task> {
    const task = await this.tasks.getTask(id);
    this.check(principal, id, task, action);
    return task as Task;
  }

  /**
   * The checks of `find` on a task already read (by the principal's query,
   * `Principal.task`): 404 when there is none, then 403 unless it may be acted on.
   */
  check(
    principal: Principal,
    id: string,
    task: Pick<Task, 'project_id'> | undefined,
    action: (typeof Actions)[keyof typeof Actions],
  ): void {
    if (!task) throw new NotFoundError('task', id);
    this.auth.authorizeTask(principal, action, { id, project_id: task.project_id });
  }

  show(principal: Principal, id: string): Promise<Task> {
    return this.find(principal, id, Actions.getTask);
  }

  async list(principal: Principal, params: ListTasksParams): Promise<ListTasksResponse> {
    this.auth.authorize(principal, Actions.listTasks, `project:${principal.projectName}`);
    return this.tasks.listTasks(principal.projectId, params);
  }

  async delete(principal: Principal, id: string): Promise<void> {
    await this.find(principal, id, Actions.deleteTask);
    if (!(await this.tasks.deleteTask(id))) throw new NotFoundError('task', id);
  }
}
