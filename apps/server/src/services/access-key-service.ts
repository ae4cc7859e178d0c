import {
  ACCESS_KEYS_PER_USER,
  type AccessKeyStatus,
  Actions,
  type CreateCredentialResponse,
  type Credential,
  ErrorCodes,
  NotFoundError,
  PermissionDeniedError,
  roleAllows,
  SmsError,
} from '@sms/domain';
import { generateAccessKeyId, generateSecretKey } from '../crypto/access-keys.js';
import { keyFromMaster } from '../crypto/keys.js';
import { seal, unseal } from '../crypto/sealed.js';
import {
  AccessKeyLimitReached,
  type AccessKeyListing,
  type AccessKeyRow,
  type AccessKeyStore,
  type AccountStore,
  type SignInStore,
  UniqueViolation,
  type UserRow,
} from '../storage/storage.js';
import type { Principal } from './auth-service.js';

/** The key that seals secret keys at rest: derived from the master secret, like the token key. */
export async function accessKeySealingKey(signIn: SignInStore): Promise<Buffer> {
  return keyFromMaster(signIn, 'access-key-secret');
}

/** A listed key in IAM's shape (never the secret). */
function credentialOf(row: Omit<AccessKeyListing, 'user_name'>): Credential {
  return {
    access: row.access_key,
    user_id: row.user_id,
    status: row.status as AccessKeyStatus,
    description: row.description,
    create_time: new Date(row.created_at).toISOString(),
  };
}

/**
 * Users' access keys (AK/SK), managed in IAM's shape: a user manages its own,
 * an admin those of any user of its project, the CLI any. The secret is shown
 * once, when the key is made, and kept sealed with the server's key.
 */
export class AccessKeyService {
  private readonly accessKeys: AccessKeyStore;
  private readonly accounts: AccountStore;

  constructor(
    stores: { accessKeys: AccessKeyStore; accounts: AccountStore },
    private readonly sealingKey: Buffer,
    private readonly clock: () => number = Date.now,
  ) {
    this.accessKeys = stores.accessKeys;
    this.accounts = stores.accounts;
  }

  /** The secret key of an active key, or undefined for an unknown or inactive one (signatures). */
  async activeSecret(accessKey: string): Promise<{ userId: string; secret: string } | undefined> {
    const row = await this.accessKeys.find(accessKey);
    if (row?.status !== 'active') return undefined;
    const secret = unseal(row.secret_sealed, this.sealingKey, row.access_key);
    return secret === undefined ? undefined : { userId: row.user_id, secret };
  }

  // --- through the API, as a principal --------------------------------------------

  /** `POST /v3.0/OS-CREDENTIAL/credentials`: a new key for the principal or (admins) a user of its project. */
  async create(principal: Principal, userId: string, description = ''): Promise<CreateCredentialResponse> {
    return this.issue(await this.managedUser(principal, userId), description);
  }

  /** The keys of the principal, or (admins) of a user of its project. */
  async list(principal: Principal, userId = principal.userId): Promise<Credential[]> {
    const user = await this.managedUser(principal, userId);
    return (await this.accessKeys.list({ userId: user.id })).map(credentialOf);
  }

  /** Activates or deactivates a key, or changes its description. */
  async update(
    principal: Principal,
    accessKey: string,
    patch: { status?: AccessKeyStatus; description?: string },
  ): Promise<Credential> {
    const row = await this.managedKey(principal, accessKey);
    if (!(await this.accessKeys.update(accessKey, patch))) throw new NotFoundError('access key', accessKey);
    return credentialOf({ ...row, ...patch });
  }

  /** Deletes a key: signatures made with it are refused from the next request on, on every instance. */
  async delete(principal: Principal, accessKey: string): Promise<void> {
    await this.managedKey(principal, accessKey);
    if (!(await this.accessKeys.delete(accessKey))) throw new NotFoundError('access key', accessKey);
  }

  // --- from the CLI, as the operator -------------------------------------------------

  async createFor(userName: string, description = ''): Promise<CreateCredentialResponse> {
    const user = await this.accounts.findUser({ name: userName });
    if (!user) throw new NotFoundError('user', userName);
    return this.issue(user, description);
  }

  /** Every key, or a user's, with the user's name. */
  async listFor(userName?: string): Promise<(Credential & { user_name: string })[]> {
    let userId: string | undefined;
    if (userName !== undefined) {
      const user = await this.accounts.findUser({ name: userName });
      if (!user) throw new NotFoundError('user', userName);
      userId = user.id;
    }
    const rows = await this.accessKeys.list(userId === undefined ? {} : { userId });
    return rows.map((row) => ({ ...credentialOf(row), user_name: row.user_name }));
  }

  async deleteKey(accessKey: string): Promise<void> {
    if (!(await this.accessKeys.delete(accessKey))) throw new NotFoundError('access key', accessKey);
  }

  // --- rules ---------------------------------------------------------------------------

  private async issue(user: UserRow, description: string): Promise<CreateCredentialResponse> {
    const secret = generateSecretKey();
    const createdAt = this.clock();
    for (let attempt = 0; ; attempt++) {
      const accessKey = generateAccessKeyId();
      const row: AccessKeyRow = {
        access_key: accessKey,
        user_id: user.id,
        secret_sealed: seal(secret, this.sealingKey, accessKey),
        status: 'active',
        description,
        created_at: createdAt,
      };
      try {
        await this.accessKeys.create(row, ACCESS_KEYS_PER_USER);
        return { credential: { ...credentialOf(row), secret } };
      } catch (error) {
        if (error instanceof AccessKeyLimitReached) {
          throw new SmsError(
            ErrorCodes.AccessKeyLimitReached,
            `User ${user.name} already has ${ACCESS_KEYS_PER_USER} access keys, the most allowed; delete one before creating another.`,
          );
        }
        // 36^20 ids: a collision is all but impossible, but never a reason to fail
        if (!(error instanceof UniqueViolation) || attempt >= 2) throw error;
      }
    }
  }

  /**
   * The user whose keys the principal names: itself, or (with the admin's
   * `manageUsers`) a user of its project. Another project's user is not found.
   */
  private async managedUser(principal: Principal, userId: string): Promise<UserRow> {
    if (userId !== principal.userId) {
      if (!roleAllows(principal.role, Actions.manageUsers)) {
        throw new PermissionDeniedError(
          Actions.manageUsers,
          `user:${userId}`,
          `role ${principal.role} manages only its own keys`,
        );
      }
      if (!(await this.accounts.principal(userId, principal.projectId)))
        throw new NotFoundError('user', userId);
      await this.mayManageEverywhere(principal, userId);
    }
    const user = await this.accounts.findUser({ id: userId });
    if (!user) throw new NotFoundError('user', userId);
    return user;
  }

  /**
   * A key signs for its user in each of the user's projects: an admin may manage another user's
   * keys (and so see a new key's secret) only where it is admin of every one of them. Otherwise an
   * admin of one project could act, through a key it made, in a project it has no role in.
   */
  private async mayManageEverywhere(principal: Principal, userId: string): Promise<void> {
    const [theirs, mine] = await Promise.all([
      this.accounts.memberships(userId),
      this.accounts.memberships(principal.userId),
    ]);
    const adminOf = new Set(
      mine.filter((m) => roleAllows(m.role, Actions.manageUsers)).map((m) => m.project_id),
    );
    const beyond = theirs.find((m) => !adminOf.has(m.project_id));
    if (beyond) {
      throw new PermissionDeniedError(
        Actions.manageUsers,
        `user:${userId}`,
        'the user is also in another project, where you are not an admin, and a key signs in every project of its user: the user manages its own keys, or an admin of all its projects, or the operator (sms-server access-key)',
      );
    }
  }

  /**
   * A key the principal may manage: its own, or (admins) one of a user of its
   * project. Any other answers as unknown, so that keys cannot be probed.
   */
  private async managedKey(principal: Principal, accessKey: string): Promise<AccessKeyRow> {
    const row = await this.accessKeys.find(accessKey);
    const mayManage =
      row !== undefined &&
      (row.user_id === principal.userId ||
        (roleAllows(principal.role, Actions.manageUsers) &&
          (await this.accounts.principal(row.user_id, principal.projectId)) !== undefined));
    if (!row || !mayManage) throw new NotFoundError('access key', accessKey);
    if (row.user_id !== principal.userId) await this.mayManageEverywhere(principal, row.user_id);
    return row;
  }
}
