import { createHash, randomBytes } from 'node:crypto';
import {
  type Action,
  AuthenticationError,
  type AuthTokenRequest,
  type AuthTokenResponse,
  AuthTokenSchema,
  ErrorCodes,
  PermissionDeniedError,
  type Role,
  roleAllows,
  SmsError,
  type Task,
} from '@sms/domain';
import * as v from 'valibot';
import {
  type AuthorizationDetails,
  decodeAuthorizationMessage,
  encodeAuthorizationMessage,
} from '../crypto/authorization-message.js';
import { deriveKey, generateMasterSecret } from '../crypto/keys.js';
import { dummyPasswordHash, verifyPassword } from '../crypto/password.js';
import { signToken, TokenSignatures } from '../crypto/tokens.js';
import type { AccountStore, MembershipRow, PrincipalRow, SignInStore, UserRow } from '../storage/storage.js';
import {
  DEFAULT_SIGN_IN_LIMITS,
  refuseOverLimit,
  type SignInLimits,
  userFailureKey,
} from './sign-in-limits.js';

/** Who is calling: a user acting in one project with one role. */
export interface Principal {
  userId: string;
  userName: string;
  projectId: string;
  projectName: string;
  role: Role;
  /**
   * The task the request names, read in the principal's query (see
   * `authenticate`): its project, or null when there is no such task.
   */
  task?: { id: string; projectId: string | null };
}

/** The principal of a user's role in a project, as `AccountStore.principal` read it (with the task, when asked). */
export function toPrincipal(
  found: PrincipalRow & { taskProjectId?: string | null },
  taskId: string | undefined,
): Principal {
  return {
    userId: found.user.id,
    userName: found.user.name,
    projectId: found.project.id,
    projectName: found.project.name,
    role: found.role,
    ...(taskId === undefined ? {} : { task: { id: taskId, projectId: found.taskProjectId ?? null } }),
  };
}

/** A signed-in dashboard user: who, the form token its forms must carry, and when it ends. */
export interface Session {
  principal: Principal;
  csrfToken: string;
  expiresAt: number;
}

/** A session id as `startSession` makes them: 32 random bytes, base64url. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** What the sessions table keeps of a session id: its SHA-256. */
function hashSessionId(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('base64url');
}

/**
 * A user of several projects signed in without naming one. The API answers it
 * as any `SMS.1001`; the dashboard offers the projects to choose from.
 */
export class ProjectRequiredError extends SmsError {
  override name = 'ProjectRequiredError';
  constructor(
    readonly userName: string,
    readonly projects: readonly string[],
  ) {
    super(
      ErrorCodes.InvalidParameter,
      `auth.scope.project: is required: user ${userName} is a member of ${projects.length} projects; name one`,
    );
  }
}

export { DEFAULT_SIGN_IN_LIMITS, type SignInLimits } from './sign-in-limits.js';

export interface AuthOptions {
  tokenTtlSeconds: number;
  clock?: () => number;
  signInLimits?: SignInLimits;
}

/** The single domain of this server: IAM requests may name it, and tokens report it. */
export const DEFAULT_DOMAIN = { id: 'default', name: 'default' } as const;

/**
 * Tokens, principals and permissions. Keys come from the database, so every
 * server process on one database signs and reads the same tokens.
 */
export class AuthService {
  private constructor(
    private readonly accounts: AccountStore,
    private readonly signInState: SignInStore,
    private readonly signingKey: Buffer,
    private readonly messageKey: Buffer,
    private readonly options: Required<AuthOptions>,
  ) {
    this.signatures = new TokenSignatures(signingKey);
  }

  /** Tokens whose signature was checked already (expiry and revocation are checked each time). */
  private readonly signatures: TokenSignatures;

  static async create(
    stores: { accounts: AccountStore; signIn: SignInStore },
    options: AuthOptions,
  ): Promise<AuthService> {
    const master = await stores.signIn.secret('master', generateMasterSecret);
    return new AuthService(
      stores.accounts,
      stores.signIn,
      deriveKey(master, 'token-signing'),
      deriveKey(master, 'authorization-message'),
      {
        clock: Date.now,
        signInLimits: DEFAULT_SIGN_IN_LIMITS,
        ...options,
      },
    );
  }

  private now(): number {
    return this.options.clock();
  }

  /**
   * The IAM password method: a token for the user in the project the request
   * names (or the user's only project). Wrong name, password or project all
   * answer the same 401, so a guesser learns nothing.
   */
  async issueToken(
    request: AuthTokenRequest,
    address = 'unknown',
  ): Promise<{ token: string; body: AuthTokenResponse }> {
    const { user, membership } = await this.signIn(request, address);
    const issuedAt = this.now();
    const expiresAt = issuedAt + this.options.tokenTtlSeconds * 1000;
    const token = signToken(
      { uid: user.id, pid: membership.project_id, gen: user.token_generation, iat: issuedAt, exp: expiresAt },
      this.signingKey,
    );
    return {
      token,
      body: {
        token: {
          expires_at: new Date(expiresAt).toISOString(),
          issued_at: new Date(issuedAt).toISOString(),
          methods: ['password'],
          user: { id: user.id, name: user.name, domain: { ...DEFAULT_DOMAIN } },
          project: {
            id: membership.project_id,
            name: membership.project_name,
            domain: { ...DEFAULT_DOMAIN },
          },
          roles: [{ id: membership.role, name: membership.role }],
        },
      },
    };
  }

  /**
   * A dashboard session: the same sign-in as `issueToken` (same limits, same
   * answers), kept server-side. The caller gets the session id for its cookie;
   * only its hash is stored. It ends at sign-out, on expiry (the token
   * lifetime), or when the password changes or the membership goes.
   */
  async startSession(
    request: AuthTokenRequest,
    address = 'unknown',
  ): Promise<{ sessionId: string; session: Session }> {
    const { user, membership } = await this.signIn(request, address);
    const sessionId = randomBytes(32).toString('base64url');
    const createdAt = this.now();
    const row = {
      id_hash: hashSessionId(sessionId),
      user_id: user.id,
      project_id: membership.project_id,
      token_generation: user.token_generation,
      csrf_token: randomBytes(32).toString('base64url'),
      created_at: createdAt,
      expires_at: createdAt + this.options.tokenTtlSeconds * 1000,
    };
    await this.signInState.createSession(row);
    return {
      sessionId,
      session: {
        principal: {
          userId: user.id,
          userName: user.name,
          projectId: membership.project_id,
          projectName: membership.project_name,
          role: membership.role,
        },
        csrfToken: row.csrf_token,
        expiresAt: row.expires_at,
      },
    };
  }

  /** The live session behind a cookie's value, or `AuthenticationError` with the reason. */
  async session(sessionId: string | undefined): Promise<Session> {
    if (sessionId === undefined || !SESSION_ID.test(sessionId)) throw new AuthenticationError('no session');
    const row = await this.signInState.findSession(hashSessionId(sessionId));
    if (!row) throw new AuthenticationError('session ended');
    if (row.expires_at <= this.now()) throw new AuthenticationError('session expired');
    const principal = await this.principalFor(row.user_id, row.project_id, row.token_generation);
    return { principal, csrfToken: row.csrf_token, expiresAt: row.expires_at };
  }

  /** Ends a session (sign-out); a session that is already gone is no error. */
  async endSession(sessionId: string | undefined): Promise<void> {
    if (sessionId === undefined || !SESSION_ID.test(sessionId)) return;
    await this.signInState.deleteSession(hashSessionId(sessionId));
  }

  /**
   * Checks a password sign-in: the failure limits first (before any hashing),
   * then the user, password and project. One place for the API and the dashboard.
   */
  private async signIn(
    request: AuthTokenRequest,
    address: string,
  ): Promise<{ user: UserRow; membership: MembershipRow }> {
    const { user: credentials } = request.auth.identity.password;
    const domain = credentials.domain;
    const limits = this.options.signInLimits;
    const windowMs = limits.windowSeconds * 1000;
    const userKey = userFailureKey(credentials.name);
    const addressKey = `address:${address}`;
    const refuseOverLimits = () =>
      refuseOverLimit(
        this.signInState,
        [
          [userKey, limits.perUser, 'for this user'],
          [addressKey, limits.perAddress, 'from this address'],
        ],
        this.now(),
        limits.windowSeconds,
      );
    // Refused before any password is hashed: a guesser gets neither an answer nor our CPU.
    await refuseOverLimits();
    const invalid = async () => {
      await this.signInState.countFailure([userKey, addressKey], this.now(), windowMs);
      return new SmsError(ErrorCodes.InvalidCredentials, 'The user name, password or project is wrong.');
    };
    if (
      domain &&
      ((domain.name && domain.name !== DEFAULT_DOMAIN.name) || (domain.id && domain.id !== DEFAULT_DOMAIN.id))
    ) {
      throw await invalid();
    }
    const user = await this.accounts.findUser({ name: credentials.name });
    const passwordOk = await verifyPassword(
      credentials.password,
      user?.password_hash ?? (await dummyPasswordHash()),
    );
    if (!user || !passwordOk) throw await invalid();
    // Guesses sent at once all pass the check above before any of them is counted: a right one
    // among them is honoured only while the failures counted meanwhile stay under the limits, so a
    // burst gets no more guesses than the limit, as one after the other would.
    await refuseOverLimits();

    const memberships = await this.accounts.memberships(user.id);
    const wanted = request.auth.scope?.project;
    if (!wanted && memberships.length > 1) {
      throw new ProjectRequiredError(
        user.name,
        memberships.map((m) => m.project_name),
      );
    }
    const membership = wanted
      ? memberships.find(
          (m) =>
            (wanted.id === undefined || m.project_id === wanted.id) &&
            (wanted.name === undefined || m.project_name === wanted.name),
        )
      : memberships[0];
    if (!membership) throw await invalid();
    await this.signInState.clearFailures(userKey);
    return { user, membership };
  }

  /**
   * The principal behind an `X-Auth-Token`, or `AuthenticationError` with the
   * reason. With `taskId`, the task is read in the same query (`Principal.task`).
   */
  async authenticate(token: string | undefined, taskId?: string): Promise<Principal> {
    if (token === undefined || token === '') throw new AuthenticationError('token missing');
    if (!v.is(AuthTokenSchema, token)) throw new AuthenticationError('token longer than 16384 characters');
    const check = this.signatures.check(token);
    if (!check.ok) throw new AuthenticationError(`token ${check.reason}`);
    const { claims } = check;
    if (claims.exp <= this.now()) throw new AuthenticationError('token expired');
    return this.principalFor(claims.uid, claims.pid, claims.gen, 'token', taskId);
  }

  /** The principal of a token's or session's claims, unless revoked since they were issued. */
  private async principalFor(
    userId: string,
    projectId: string,
    generation: number,
    what: 'token' | 'session' = 'session',
    taskId?: string,
  ): Promise<Principal> {
    const found = await this.accounts.principal(userId, projectId, taskId);
    if (!found)
      throw new AuthenticationError(`${what} revoked: the user or its membership of the project was removed`);
    if (found.user.token_generation !== generation) {
      throw new AuthenticationError(`${what} revoked: the password was changed`);
    }
    return toPrincipal(found, taskId);
  }

  /** Throws `SMS.9004` unless the principal's role allows `action` in its project. */
  authorize(principal: Principal, action: Action, resource: string): void {
    if (!roleAllows(principal.role, action)) {
      throw new PermissionDeniedError(action, resource, `role ${principal.role} does not allow ${action}`);
    }
  }

  /** Like `authorize`, for a task: it must also belong to the principal's project. */
  authorizeTask(principal: Principal, action: Action, task: Pick<Task, 'id' | 'project_id'>): void {
    const resource = `task:${task.id}`;
    if (task.project_id !== principal.projectId) {
      throw new PermissionDeniedError(action, resource, 'the task belongs to another project');
    }
    this.authorize(principal, action, resource);
  }

  encodeDetails(details: Omit<AuthorizationDetails, 'at'>): string {
    return encodeAuthorizationMessage(
      { ...details, at: new Date(this.now()).toISOString() },
      this.messageKey,
    );
  }

  decodeDetails(message: string): AuthorizationDetails | undefined {
    return decodeAuthorizationMessage(message, this.messageKey);
  }
}
