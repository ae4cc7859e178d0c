import { randomUUID } from 'node:crypto';
import type { Role } from '@sms/domain';
import { compiledOnce } from './compiled.js';
import { Store } from './handle.js';

export interface ProjectRow {
  id: string;
  name: string;
  created_at: number;
}
export interface UserRow {
  id: string;
  name: string;
  password_hash: string;
  token_generation: number;
  created_at: number;
}
/** A user with its role in one project. */
export interface PrincipalRow {
  user: UserRow;
  project: ProjectRow;
  role: Role;
}
export interface MembershipRow {
  project_id: string;
  project_name: string;
  role: Role;
}

/** Projects, users and their memberships (roles in projects). */
export class AccountStore extends Store {
  // --- projects --------------------------------------------------------------

  async createProject(name: string, now: number): Promise<ProjectRow> {
    const row = { id: randomUUID(), name, created_at: now };
    await this.run('create project', () => this.db.insertInto('projects').values(row).execute());
    return row;
  }

  async findProject(by: { id?: string; name?: string }): Promise<ProjectRow | undefined> {
    return this.run('read project', async () => {
      let query = this.db.selectFrom('projects').selectAll();
      if (by.id !== undefined) query = query.where('id', '=', by.id);
      if (by.name !== undefined) query = query.where('name', '=', by.name);
      return query.executeTakeFirst();
    });
  }

  async listProjects(): Promise<ProjectRow[]> {
    return this.run('list projects', () =>
      this.db.selectFrom('projects').selectAll().orderBy('name').execute(),
    );
  }

  // --- users -----------------------------------------------------------------

  async countUsers(): Promise<number> {
    return this.run('count users', async () => {
      const row = await this.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  async createUser(user: { name: string; passwordHash: string }, now: number): Promise<UserRow> {
    const row = {
      id: randomUUID(),
      name: user.name,
      password_hash: user.passwordHash,
      token_generation: 0,
      created_at: now,
    };
    await this.run('create user', () => this.db.insertInto('users').values(row).execute());
    return row;
  }

  async findUser(by: { id?: string; name?: string }): Promise<UserRow | undefined> {
    return this.run('read user', async () => {
      let query = this.db.selectFrom('users').selectAll();
      if (by.id !== undefined) query = query.where('id', '=', by.id);
      if (by.name !== undefined) query = query.where('name', '=', by.name);
      return query.executeTakeFirst();
    });
  }

  async listUsers(): Promise<(UserRow & { memberships: MembershipRow[] })[]> {
    return this.run('list users', async () => {
      const users = await this.db.selectFrom('users').selectAll().orderBy('name').execute();
      const memberships = await this.db
        .selectFrom('memberships')
        .innerJoin('projects', 'projects.id', 'memberships.project_id')
        .select([
          'memberships.user_id',
          'memberships.project_id',
          'projects.name as project_name',
          'memberships.role',
        ])
        .orderBy('projects.name')
        .execute();
      return users.map((user) => ({
        ...user,
        memberships: memberships
          .filter((m) => m.user_id === user.id)
          .map((m) => ({ project_id: m.project_id, project_name: m.project_name, role: m.role as Role })),
      }));
    });
  }

  /** Sets a new password hash and revokes every token issued before it. */
  async setPassword(userId: string, passwordHash: string): Promise<void> {
    await this.run('set password', () =>
      this.db
        .updateTable('users')
        .set((eb) => ({ password_hash: passwordHash, token_generation: eb('token_generation', '+', 1) }))
        .where('id', '=', userId)
        .execute(),
    );
  }

  async deleteUser(userId: string): Promise<void> {
    await this.run('delete user', () =>
      this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('memberships').where('user_id', '=', userId).execute();
        await trx.deleteFrom('access_keys').where('user_id', '=', userId).execute();
        await trx.deleteFrom('users').where('id', '=', userId).execute();
      }),
    );
  }

  async setMembership(userId: string, projectId: string, role: Role): Promise<void> {
    await this.run('set membership', () =>
      this.db
        .insertInto('memberships')
        .values({ user_id: userId, project_id: projectId, role })
        .onConflict((oc) => oc.columns(['user_id', 'project_id']).doUpdateSet({ role }))
        .execute(),
    );
  }

  /** False when the user was not in the project. */
  async removeMembership(userId: string, projectId: string): Promise<boolean> {
    const result = await this.run('remove membership', () =>
      this.db
        .deleteFrom('memberships')
        .where('user_id', '=', userId)
        .where('project_id', '=', projectId)
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows) > 0;
  }

  async memberships(userId: string): Promise<MembershipRow[]> {
    return this.run('read memberships', async () => {
      const rows = await this.db
        .selectFrom('memberships')
        .innerJoin('projects', 'projects.id', 'memberships.project_id')
        .select(['memberships.project_id', 'projects.name as project_name', 'memberships.role'])
        .where('memberships.user_id', '=', userId)
        .orderBy('projects.name')
        .execute();
      return rows.map((r) => ({ ...r, role: r.role as Role }));
    });
  }

  /**
   * The user and its role in one project, in one query compiled once: what
   * every authenticated request needs. With `taskId`, the same query also
   * reads that task's project (null when there is no such task), so that an
   * upload reads its principal and its task together.
   */
  async principal(
    userId: string,
    projectId: string,
    taskId?: string,
  ): Promise<(PrincipalRow & { taskProjectId?: string | null }) | undefined> {
    return this.run('read principal', async () => {
      const { rows } = await this.db.executeQuery(
        this.principalQuery({ userId, projectId, taskId: taskId ?? null }),
      );
      const row = rows[0];
      if (!row) return undefined;
      return {
        user: {
          id: row.user_id,
          name: row.user_name,
          password_hash: row.password_hash,
          token_generation: Number(row.token_generation),
          created_at: Number(row.user_created_at),
        },
        project: { id: row.project_id, name: row.project_name, created_at: Number(row.project_created_at) },
        role: row.role as Role,
        ...(taskId === undefined ? {} : { taskProjectId: row.task_project_id }),
      };
    });
  }

  private readonly principalQuery = compiledOnce((slot: (name: 'userId' | 'projectId' | 'taskId') => never) =>
    this.db
      .selectFrom('users')
      .innerJoin('memberships', 'memberships.user_id', 'users.id')
      .innerJoin('projects', 'projects.id', 'memberships.project_id')
      .leftJoin('tasks', (join) => join.on('tasks.id', '=', slot('taskId')))
      .select([
        'users.id as user_id',
        'users.name as user_name',
        'users.password_hash',
        'users.token_generation',
        'users.created_at as user_created_at',
        'projects.id as project_id',
        'projects.name as project_name',
        'projects.created_at as project_created_at',
        'memberships.role',
        'tasks.project_id as task_project_id',
      ])
      .where('users.id', '=', slot('userId'))
      .where('projects.id', '=', slot('projectId')),
  );
}
