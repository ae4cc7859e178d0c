import {
  AccessKeyIdSchema,
  AUTH_TOKEN_HEADER,
  type AuthTokenResponse,
  AuthTokenResponseSchema,
  type ConsistencyResult,
  type CreateTaskRequest,
  CreateTaskRequestSchema,
  CreateTaskResponseSchema,
  ErrorCodes,
  ErrorResponseSchema,
  ForbiddenErrorResponseSchema,
  formatIssues,
  IDEMPOTENCY_KEY_HEADER,
  IdempotencyKeySchema,
  type ListTasksParams,
  ListTasksParamsSchema,
  type ListTasksResponse,
  ListTasksResponseSchema,
  PROJECT_ID_HEADER,
  passwordTokenRequest,
  REQUEST_ID_HEADER,
  type ShowConsistencyResultResponse,
  ShowConsistencyResultResponseSchema,
  SUBJECT_TOKEN_HEADER,
  type Task,
  TaskIdSchema,
  TaskSchema,
  UpdateConsistencyResultRequestSchema,
  UpdateConsistencyResultResponseSchema,
} from '@sms/domain';
import ky, {
  type BeforeRequestHook,
  HTTPError,
  type KyInstance,
  type Options as KyOptions,
  type RetryOptions,
  TimeoutError,
} from 'ky';
import * as v from 'valibot';
import {
  SmsApiError,
  type SmsApiErrorDetails,
  SmsForbiddenError,
  SmsNetworkError,
  SmsResponseError,
  SmsValidationError,
} from './errors.js';
import { CLIENT_VERSION } from './version.js';

/** A user's password, for a client that fetches and renews its own token. */
export interface SmsCredentials {
  user: string;
  password: string;
  /** The project the token is for; may be left out when the user has only one. */
  project?: string;
}

/**
 * An access key (AK/SK): the client signs every request with it, as the
 * official Huawei Cloud SDKs do (`Authorization: SDK-HMAC-SHA256 …`,
 * `X-Sdk-Date`, `X-Project-Id`); no token is fetched. Signing needs Node.js
 * (`node:crypto`, loaded on the first signed request).
 */
export interface SmsAccessKeyCredentials {
  /** The access key id (AK): 20 capital letters and digits. */
  accessKey: string;
  /** The secret key (SK), shown once when the key was made. */
  secretKey: string;
  /** The project the requests are for (`X-Project-Id`); may be left out when the key's user has only one. */
  projectId?: string;
}

/** True when the credentials are an access key rather than a user and password. */
function isAccessKey(
  credentials: SmsCredentials | SmsAccessKeyCredentials,
): credentials is SmsAccessKeyCredentials {
  return 'accessKey' in credentials || 'secretKey' in credentials;
}

/** The headers of a request that the signature covers besides `host` and `x-sdk-date`. */
const SIGNED_HEADERS = ['content-type', PROJECT_ID_HEADER.toLowerCase()];

/**
 * A ky hook that signs each attempt of a request with an access key, just
 * before it is sent (a retry gets a new `X-Sdk-Date`).
 */
function signWith(key: SmsAccessKeyCredentials): BeforeRequestHook {
  return async (request) => {
    const { EMPTY_BODY_SHA256, sha256Hex, signRequest } = await import('@sms/domain/signature');
    if (key.projectId !== undefined) request.headers.set(PROJECT_ID_HEADER, key.projectId);
    const headers: Record<string, string> = {};
    for (const name of SIGNED_HEADERS) {
      const value = request.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    const body = request.body ? new Uint8Array(await request.clone().arrayBuffer()) : undefined;
    const signed = signRequest(
      {
        method: request.method,
        url: request.url,
        headers,
        payloadHash: body ? sha256Hex(body) : EMPTY_BODY_SHA256,
      },
      key,
    );
    for (const [name, value] of Object.entries(signed)) request.headers.set(name, value);
  };
}

export interface SmsClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8080`. */
  endpoint: string;
  /** A static token (`X-Auth-Token`). Give this or `credentials`. */
  token?: string;
  /**
   * A user and password (the client gets a token, caches it and renews it),
   * or an access key (the client signs every request with it).
   */
  credentials?: SmsCredentials | SmsAccessKeyCredentials;
  /**
   * ky's retry options (`limit`, `backoffLimit`, `delay`, `jitter`, …) or a
   * limit. Default: 4 retries with exponential backoff and full jitter, at most
   * 10 s apart, on network errors, timeouts, 429, 500, 502, 503 and 504,
   * honouring `Retry-After` (up to 60 s). Never on 400, 403, 404.
   */
  retry?: RetryOptions | number;
  /** Milliseconds per request attempt; default 30,000. */
  timeout?: number;
  /** A `fetch` to use instead of the global one (tests, proxies, browsers). */
  fetch?: typeof globalThis.fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** The `User-Agent` (default `@sms/client/<version>`). */
  userAgent?: string;
}

export interface RequestOptions {
  /** Cancels the call, including its retries. */
  signal?: AbortSignal;
}

export interface UpdateConsistencyResultOptions extends RequestOptions {
  /**
   * The idempotency key of this upload. Default: a new random UUID per call,
   * the same on every retry of it. Pass your own to keep one key across
   * processes (a spooled upload delivered later).
   */
  idempotencyKey?: string;
}

const DEFAULT_RETRY = {
  limit: 4,
  statusCodes: [429, 500, 502, 503, 504],
  afterStatusCodes: [429, 503],
  maxRetryAfter: 60_000,
  backoffLimit: 10_000,
  jitter: true,
  retryOnTimeout: true,
} satisfies RetryOptions;

/** Renew a cached token when less than this remains (or half its lifetime, if shorter). */
const RENEW_MARGIN_MS = 5 * 60 * 1000;

function validate<S extends v.GenericSchema>(schema: S, input: unknown, root: string): v.InferOutput<S> {
  const parsed = v.safeParse(schema, input);
  if (!parsed.success) {
    throw new SmsValidationError(`invalid ${root}: ${formatIssues(parsed.issues, { root })}`, parsed.issues);
  }
  return parsed.output;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => '');
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * A typed client of the SMS v3 consistency-result API. Every input is checked
 * with the `@sms/domain` schemas before anything is sent; every answer is
 * checked against them too.
 *
 * @example
 * const client = new SmsClient({ endpoint: 'http://127.0.0.1:8080', credentials: { user: 'agent-01', password, project: 'default' } });
 * const signing = new SmsClient({ endpoint: 'http://127.0.0.1:8080', credentials: { accessKey, secretKey, projectId } });
 * await client.updateConsistencyResult(taskId, [{ dir_check: '/root/data', num_total_files: 1235, num_different_files: 0, num_target_miss_files: 0, num_target_more_files: 0 }]);
 */
export class SmsClient {
  readonly endpoint: string;
  private readonly http: KyInstance;
  private readonly options: SmsClientOptions;
  private cached: { token: string; renewAt: number } | undefined;
  private renewing: Promise<string> | undefined;

  constructor(options: SmsClientOptions) {
    if (!options.endpoint) throw new SmsValidationError('invalid options: endpoint is required', []);
    let endpoint: URL;
    try {
      endpoint = new URL(options.endpoint);
    } catch {
      throw new SmsValidationError(
        `invalid options: endpoint ${JSON.stringify(options.endpoint)} is not a URL`,
        [],
      );
    }
    if (options.token !== undefined && options.credentials !== undefined) {
      throw new SmsValidationError('invalid options: give token or credentials, not both', []);
    }
    const credentials = options.credentials;
    if (credentials !== undefined && isAccessKey(credentials)) {
      if ('user' in credentials || 'password' in credentials) {
        throw new SmsValidationError(
          'invalid options: credentials are a user and password or an access key and secret key, not both',
          [],
        );
      }
      validate(AccessKeyIdSchema, credentials.accessKey, 'credentials.accessKey');
      if (typeof credentials.secretKey !== 'string' || credentials.secretKey === '') {
        throw new SmsValidationError(
          'invalid credentials.secretKey: the secret key of the access key is required',
          [],
        );
      }
    }
    this.options = options;
    this.endpoint = endpoint.toString().replace(/\/$/, '');
    const retry = typeof options.retry === 'number' ? { limit: options.retry } : (options.retry ?? {});
    this.http = ky.create({
      prefixUrl: this.endpoint,
      timeout: options.timeout ?? 30_000,
      retry: {
        ...DEFAULT_RETRY,
        // A caller's abort is final; everything else follows the status rules.
        shouldRetry: ({ error }) => (error.name === 'AbortError' ? false : undefined),
        ...retry,
      },
      headers: { 'user-agent': options.userAgent ?? `@sms/client/${CLIENT_VERSION}`, ...options.headers },
      ...(credentials !== undefined && isAccessKey(credentials)
        ? { hooks: { beforeRequest: [signWith(credentials)] } }
        : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  /**
   * Uploads the consistency results of a task (`POST /v3/tasks/{task_id}/consistency-result`):
   * 0..30 results, each `dir_check` once. Retried safely: every attempt carries
   * the same `Idempotency-Key`, so a retry after a lost answer is stored once.
   * @example await client.updateConsistencyResult(taskId, results, { idempotencyKey: savedKey })
   */
  async updateConsistencyResult(
    taskId: string,
    results: readonly ConsistencyResult[],
    options: UpdateConsistencyResultOptions = {},
  ): Promise<void> {
    const id = validate(TaskIdSchema, taskId, 'task_id');
    const body = validate(UpdateConsistencyResultRequestSchema, { consistency_result: results }, 'body');
    const key = validate(
      IdempotencyKeySchema,
      options.idempotencyKey ?? globalThis.crypto.randomUUID(),
      'idempotencyKey',
    );
    await this.send(
      UpdateConsistencyResultResponseSchema,
      `v3/tasks/${encodeURIComponent(id)}/consistency-result`,
      {
        method: 'post',
        json: body,
        headers: { [IDEMPOTENCY_KEY_HEADER]: key },
        retry: { methods: ['post'] },
        ...this.signalOf(options),
      },
    );
  }

  /**
   * Reads every upload of a task, newest first (`GET /v3/tasks/{task_id}/consistency-result`).
   * @example const { result_list } = await client.showConsistencyResult(taskId);
   */
  async showConsistencyResult(
    taskId: string,
    options: RequestOptions = {},
  ): Promise<ShowConsistencyResultResponse> {
    const id = validate(TaskIdSchema, taskId, 'task_id');
    return this.send(
      ShowConsistencyResultResponseSchema,
      `v3/tasks/${encodeURIComponent(id)}/consistency-result`,
      {
        method: 'get',
        ...this.signalOf(options),
      },
    );
  }

  /**
   * Creates a task in the project of the token (`POST /v3/tasks`). Not retried:
   * a retry after a lost answer could create a second task.
   * @example const { id } = await client.createTask({ name: 'web-01' });
   */
  async createTask(request: CreateTaskRequest, options: RequestOptions = {}): Promise<{ id: string }> {
    const body = validate(CreateTaskRequestSchema, request, 'body');
    return this.send(CreateTaskResponseSchema, 'v3/tasks', {
      method: 'post',
      json: body,
      retry: { limit: 0 },
      ...this.signalOf(options),
    });
  }

  /** @example const task = await client.showTask(id); */
  async showTask(taskId: string, options: RequestOptions = {}): Promise<Task> {
    const id = validate(TaskIdSchema, taskId, 'task_id');
    return this.send(TaskSchema, `v3/tasks/${encodeURIComponent(id)}`, {
      method: 'get',
      ...this.signalOf(options),
    });
  }

  /**
   * Lists the project's tasks, newest first, with `count` of all that match.
   * @example const { count, tasks } = await client.listTasks({ state: 'READY', limit: 50 });
   */
  async listTasks(params: ListTasksParams = {}, options: RequestOptions = {}): Promise<ListTasksResponse> {
    const query = validate(ListTasksParamsSchema, params, 'params');
    const searchParams = Object.fromEntries(
      Object.entries(query)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => [key, String(value)]),
    );
    return this.send(ListTasksResponseSchema, 'v3/tasks', {
      method: 'get',
      searchParams,
      ...this.signalOf(options),
    });
  }

  /** Deletes a task and its results. @example await client.deleteTask(id); */
  async deleteTask(taskId: string, options: RequestOptions = {}): Promise<void> {
    const id = validate(TaskIdSchema, taskId, 'task_id');
    await this.send(v.object({}), `v3/tasks/${encodeURIComponent(id)}`, {
      method: 'delete',
      ...this.signalOf(options),
    });
  }

  /**
   * Gets a new token with the client's credentials (`POST /v3/auth/tokens`)
   * and caches it. Called by itself when needed; call it to sign in early.
   * @example const { token, expiresAt } = await client.createToken();
   */
  async createToken(
    options: RequestOptions = {},
  ): Promise<{ token: string; expiresAt: Date; body: AuthTokenResponse }> {
    const credentials = this.options.credentials;
    if (!credentials || isAccessKey(credentials)) {
      throw new SmsValidationError(
        'createToken needs a user and password in the client options (an access key signs each request instead)',
        [],
      );
    }
    const response = await this.request('v3/auth/tokens', {
      method: 'post',
      json: passwordTokenRequest(credentials),
      retry: { methods: ['post'] },
      ...this.signalOf(options),
    });
    const body = await this.parse(AuthTokenResponseSchema, response);
    const token = response.headers.get(SUBJECT_TOKEN_HEADER);
    if (!token) {
      throw new SmsResponseError(`the token answer has no ${SUBJECT_TOKEN_HEADER} header`, {
        status: response.status,
        body,
        issues: [],
      });
    }
    const issuedAt = Date.parse(body.token.issued_at);
    const expiresAt = Date.parse(body.token.expires_at);
    const lifetime = Math.max(0, expiresAt - issuedAt);
    this.cached = { token, renewAt: Date.now() + lifetime - Math.min(RENEW_MARGIN_MS, lifetime / 2) };
    return { token, expiresAt: new Date(expiresAt), body };
  }

  private signalOf(options: RequestOptions): Pick<KyOptions, 'signal'> {
    return options.signal ? { signal: options.signal } : {};
  }

  private async token(signal: AbortSignal | undefined): Promise<string | undefined> {
    if (this.options.token !== undefined) return this.options.token;
    if (!this.options.credentials || isAccessKey(this.options.credentials)) return undefined;
    if (this.cached && Date.now() < this.cached.renewAt) return this.cached.token;
    // One sign-in for every call that needs a token at the same time.
    this.renewing ??= this.createToken(signal ? { signal } : {})
      .then(({ token }) => token)
      .finally(() => {
        this.renewing = undefined;
      });
    return this.renewing;
  }

  private async send<S extends v.GenericSchema>(
    schema: S,
    path: string,
    options: KyOptions,
  ): Promise<v.InferOutput<S>> {
    const signal = options.signal ?? undefined;
    signal?.throwIfAborted();
    const attempt = async () => {
      const token = await this.token(signal);
      return this.request(path, {
        ...options,
        headers: {
          ...(options.headers as Record<string, string>),
          ...(token ? { [AUTH_TOKEN_HEADER]: token } : {}),
        },
      });
    };
    let response: Response;
    try {
      response = await attempt();
    } catch (error) {
      // A token the server no longer accepts (expired early, revoked): sign in again, once.
      if (
        this.options.credentials &&
        !isAccessKey(this.options.credentials) &&
        error instanceof SmsForbiddenError &&
        error.errorCode === ErrorCodes.AuthenticationFailed.code
      ) {
        this.cached = undefined;
        response = await attempt();
      } else {
        throw error;
      }
    }
    return this.parse(schema, response);
  }

  private async request(path: string, options: KyOptions): Promise<Response> {
    try {
      return await this.http(path, options);
    } catch (error) {
      throw await this.translate(error);
    }
  }

  private async parse<S extends v.GenericSchema>(schema: S, response: Response): Promise<v.InferOutput<S>> {
    const body = await readBody(response);
    const parsed = v.safeParse(schema, body);
    if (!parsed.success) {
      throw new SmsResponseError(
        `the server's answer (${response.status}) does not match the API: ${formatIssues(parsed.issues, { root: 'response' })}`,
        { status: response.status, body, issues: parsed.issues },
      );
    }
    return parsed.output;
  }

  private async translate(error: unknown): Promise<unknown> {
    if (error instanceof HTTPError) {
      const { response } = error;
      const body = await readBody(response);
      const base: SmsApiErrorDetails = {
        status: response.status,
        errorCode: undefined,
        errorMsg: typeof body === 'string' ? body.slice(0, 500) : undefined,
        requestId: response.headers.get(REQUEST_ID_HEADER) ?? undefined,
        body,
      };
      const forbidden = v.safeParse(ForbiddenErrorResponseSchema, body);
      if (response.status === 403 && forbidden.success) {
        return new SmsForbiddenError({
          ...base,
          errorCode: forbidden.output.error_code,
          errorMsg: forbidden.output.error_msg,
          encodedAuthorizationMessage: forbidden.output.encoded_authorization_message,
          errorParam: forbidden.output.error_param,
          details: forbidden.output.details,
        });
      }
      const plain = v.safeParse(ErrorResponseSchema, body);
      if (plain.success)
        return new SmsApiError({
          ...base,
          errorCode: plain.output.error_code,
          errorMsg: plain.output.error_msg,
        });
      return new SmsApiError(base);
    }
    if (error instanceof TimeoutError) {
      return new SmsNetworkError(
        `${error.request.method} ${error.request.url} timed out after ${this.options.timeout ?? 30_000} ms (retries included)`,
        { cause: error },
      );
    }
    if (error instanceof Error && error.name === 'AbortError') return error;
    if (error instanceof SmsValidationError || error instanceof SmsApiError) return error;
    return new SmsNetworkError(
      `could not reach ${this.endpoint}: ${error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error)}`,
      { cause: error },
    );
  }
}
