import {
  ErrorCodes,
  NewPasswordSchema,
  NotFoundError,
  RequestValidationError,
  type Role,
  SmsError,
} from '@sms/domain';
import * as v from 'valibot';
import { hashPassword, randomPassword } from '../crypto/password.js';
import { type AccountStore, type ProjectRow, type SignInStore, UniqueViolation } from '../storage/storage.js';
import { userFailureKey } from './sign-in-limits.js';

export const DEFAULT_PROJECT = 'default';
export const DEFAULT_ADMIN = 'admin';

function checkPassword(password: string): void {
  const parsed = v.safeParse(NewPasswordSchema, password);
  if (!parsed.success) throw new RequestValidationError(parsed.issues, { root: 'password' });
}

/** Users, projects and memberships: what the server's CLI manages. */
export class UserService {
  private readonly accounts: AccountStore;
  private readonly signIn: SignInStore;

  constructor(
    stores: { accounts: AccountStore; signIn: SignInStore },
    private readonly clock: () => number = Date.now,
  ) {
    this.accounts = stores.accounts;
    this.signIn = stores.signIn;
  }

  /**
   * On a database with no user: project `default` and user `admin` in it. The
   * password is `adminPassword`, or a random one that is returned to be shown once.
   * Several servers starting together on one database create them once.
   */
  async bootstrap(
    adminPassword: string | undefined,
  ): Promise<{ created: boolean; generatedPassword?: string }> {
    if ((await this.accounts.countUsers()) > 0) return { created: false };
    const password = adminPassword ?? randomPassword();
    try {
      await this.addUser(DEFAULT_ADMIN, password, DEFAULT_PROJECT, 'admin', { createProject: true });
    } catch (error) {
      if (error instanceof SmsError && error.code === ErrorCodes.AlreadyExists.code)
        return { created: false };
      throw error;
    }
    return adminPassword === undefined ? { created: true, generatedPassword: password } : { created: true };
  }

  async addProject(name: string): Promise<ProjectRow> {
    try {
      return await this.accounts.createProject(name, this.clock());
    } catch (error) {
      if (error instanceof UniqueViolation) {
        throw new SmsError(
          ErrorCodes.AlreadyExists,
          `A project named ${JSON.stringify(name)} already exists.`,
        );
      }
      throw error;
    }
  }

  private async project(name: string, create: boolean): Promise<ProjectRow> {
    const found = await this.accounts.findProject({ name });
    if (found) return found;
    if (!create) throw new NotFoundError('project', name);
    try {
      return await this.accounts.createProject(name, this.clock());
    } catch (error) {
      if (!(error instanceof UniqueViolation)) throw error;
      const raced = await this.accounts.findProject({ name });
      if (!raced) throw error;
      return raced;
    }
  }

  async addUser(
    name: string,
    password: string,
    projectName: string,
    role: Role,
    options: { createProject?: boolean } = {},
  ): Promise<void> {
    checkPassword(password);
    const project = await this.project(projectName, options.createProject ?? false);
    const hash = await hashPassword(password);
    let user: { id: string };
    try {
      user = await this.accounts.createUser({ name, passwordHash: hash }, this.clock());
    } catch (error) {
      if (error instanceof UniqueViolation) {
        throw new SmsError(ErrorCodes.AlreadyExists, `A user named ${JSON.stringify(name)} already exists.`);
      }
      throw error;
    }
    await this.accounts.setMembership(user.id, project.id, role);
  }

  private async user(name: string) {
    const user = await this.accounts.findUser({ name });
    if (!user) throw new NotFoundError('user', name);
    return user;
  }

  /**
   * Sets a new password; every token the user had stops working, and the user's failed sign-ins
   * are forgotten (so an operator lifts a lockout, one that guesses caused among them).
   */
  async setPassword(name: string, password: string): Promise<void> {
    checkPassword(password);
    const user = await this.user(name);
    await this.accounts.setPassword(user.id, await hashPassword(password));
    await this.signIn.clearFailures(userFailureKey(user.name));
  }

  /** Removes a user; every token the user had stops working (and a user added again under its name starts with no failures). */
  async removeUser(name: string): Promise<void> {
    const user = await this.user(name);
    await this.accounts.deleteUser(user.id);
    await this.signIn.clearFailures(userFailureKey(user.name));
  }

  /** Gives a user a role in a project (replacing the role it had there). */
  async grant(name: string, projectName: string, role: Role): Promise<void> {
    const user = await this.user(name);
    const project = await this.project(projectName, false);
    await this.accounts.setMembership(user.id, project.id, role);
  }

  async revoke(name: string, projectName: string): Promise<void> {
    const user = await this.user(name);
    const project = await this.project(projectName, false);
    if (!(await this.accounts.removeMembership(user.id, project.id)))
      throw new SmsError(
        ErrorCodes.ResourceNotFound,
        `The user ${JSON.stringify(name)} is not in project ${JSON.stringify(projectName)}.`,
      );
  }

  listUsers() {
    return this.accounts.listUsers();
  }

  listProjects() {
    return this.accounts.listProjects();
  }
}
