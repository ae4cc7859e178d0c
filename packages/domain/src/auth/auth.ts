import * as v from 'valibot';

/** What a user may be in a project. */
export const RoleSchema = v.picklist(['admin', 'agent', 'viewer']);
export type Role = v.InferOutput<typeof RoleSchema>;

/** The IAM-style actions the server checks, named as SMS names them. */
export const Actions = {
  createTask: 'sms:server:createTask',
  listTasks: 'sms:server:listTasks',
  getTask: 'sms:server:getTask',
  deleteTask: 'sms:server:deleteTask',
  updateConsistencyCheckResult: 'sms:server:updateConsistencyCheckResult',
  getConsistencyCheckResult: 'sms:server:getConsistencyCheckResult',
  manageUsers: 'sms:server:manageUsers',
  decodeAuthorizationMessage: 'sms:server:decodeAuthorizationMessage',
  /** Ours: read a task's agent configuration (all roles). */
  getConfiguration: 'sms:server:getConfigurationSetting',
  /** Ours: set it (admins). */
  updateConfiguration: 'sms:server:updateConfigurationSetting',
  /** Ours: ask for a verification ("Verify now"; admins). */
  requestConsistencyCheck: 'sms:server:requestConsistencyCheck',
  /** Ours: take and run verification requests (agents' daemons; admins). */
  runConsistencyCheck: 'sms:server:runConsistencyCheck',
} as const;
export type Action = (typeof Actions)[keyof typeof Actions];

/**
 * What each role may do in its project: `admin` everything; `agent` read tasks
 * and their configuration, upload results, and run verification requests;
 * `viewer` read tasks, their configuration and results.
 */
export const RolePermissions: Readonly<Record<Role, readonly Action[]>> = {
  admin: Object.values(Actions),
  agent: [
    Actions.listTasks,
    Actions.getTask,
    Actions.updateConsistencyCheckResult,
    Actions.getConfiguration,
    Actions.runConsistencyCheck,
  ],
  viewer: [Actions.listTasks, Actions.getTask, Actions.getConsistencyCheckResult, Actions.getConfiguration],
};

/** True when `role` allows `action`. */
export function roleAllows(role: Role, action: Action): boolean {
  return RolePermissions[role].includes(action);
}

/** A user or project name: 1..64 characters of letters, digits, `.`, `_`, `-` and `@`. */
export const NameSchema = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(64),
  v.regex(/^[A-Za-z0-9._@-]+$/, 'expected letters, digits, ".", "_", "-" or "@"'),
);

/** A password: 8..1024 characters when set; a sign-in accepts any 1..1024. */
export const NewPasswordSchema = v.pipe(
  v.string(),
  v.minLength(8, 'expected at least 8 characters'),
  v.maxLength(1024),
);
const PasswordSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(1024));

const DomainRefSchema = v.object({
  name: v.optional(v.pipe(v.string(), v.maxLength(255))),
  id: v.optional(v.pipe(v.string(), v.maxLength(255))),
});

/** The scope of a token: a project given by `id` or by `name`. */
export const ProjectScopeSchema = v.pipe(
  v.object({
    id: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64))),
    name: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(64))),
    domain: v.optional(DomainRefSchema),
  }),
  v.check(
    (project) => project.id !== undefined || project.name !== undefined,
    'expected the project "id" or "name"',
  ),
);

/**
 * The body of `POST /v3/auth/tokens` (the IAM password method). Other IAM
 * fields are accepted and ignored. Without `scope`, a user with exactly one
 * project gets a token for it.
 */
export const AuthTokenRequestSchema = v.object({
  auth: v.object({
    identity: v.object({
      methods: v.pipe(
        v.array(v.string()),
        v.check((methods) => methods.includes('password'), 'expected "password" among the methods'),
      ),
      password: v.object({
        user: v.object({
          name: NameSchema,
          password: PasswordSchema,
          domain: v.optional(DomainRefSchema),
        }),
      }),
    }),
    scope: v.optional(v.object({ project: ProjectScopeSchema })),
  }),
});
export type AuthTokenRequest = v.InferInput<typeof AuthTokenRequestSchema>;

const IdName = v.object({ id: v.string(), name: v.string() });

/** The 201 body of `POST /v3/auth/tokens`; the token itself is in `X-Subject-Token`. */
export const AuthTokenResponseSchema = v.object({
  token: v.object({
    expires_at: v.pipe(v.string(), v.isoTimestamp()),
    issued_at: v.pipe(v.string(), v.isoTimestamp()),
    methods: v.array(v.string()),
    user: v.object({ id: v.string(), name: v.string(), domain: IdName }),
    project: v.object({ id: v.string(), name: v.string(), domain: IdName }),
    roles: v.array(v.object({ id: v.string(), name: RoleSchema })),
  }),
});
export type AuthTokenResponse = v.InferOutput<typeof AuthTokenResponseSchema>;

/**
 * Builds the IAM password request body.
 * @example passwordTokenRequest({ user: 'agent-01', password: '…', project: 'default' })
 */
export function passwordTokenRequest(credentials: {
  user: string;
  password: string;
  project?: string;
}): AuthTokenRequest {
  return {
    auth: {
      identity: {
        methods: ['password'],
        password: {
          user: { name: credentials.user, password: credentials.password, domain: { name: 'default' } },
        },
      },
      ...(credentials.project === undefined ? {} : { scope: { project: { name: credentials.project } } }),
    },
  };
}

/** The body of `POST /v3/auth/decode-authorization-message` (admins only). */
export const DecodeAuthorizationMessageRequestSchema = v.strictObject({
  encoded_authorization_message: v.pipe(v.string(), v.minLength(1), v.maxLength(65_535)),
});
