import {
  AccessKeyIdSchema,
  AgentNameSchema,
  AUTH_TOKEN_HEADER,
  type AuthTokenResponse,
  AuthTokenResponseSchema,
  AuthTokenSchema,
  type CheckResult,
  ClaimRequestSchema,
  type ClaimResponse,
  ClaimResponseSchema,
  type ConfigurationEntry,
  type ConfigurationResponse,
  ConfigurationResponseSchema,
  type ConsistencyResult,
  type CreateTaskRequest,
  CreateTaskRequestSchema,
  CreateTaskResponseSchema,
  ErrorCodes,
  ErrorResponseSchema,
  type FindingCategory,
  type FindingsLine,
  type FindingsPage,
  FindingsPageSchema,
  FindingsQuerySchema,
  FinishRequestSchema,
  ForbiddenErrorResponseSchema,
  formatIssues,
  HeartbeatRequestSchema,
  IDEMPOTENCY_KEY_HEADER,
  IdempotencyKeySchema,
  type ListTasksParams,
  ListTasksParamsSchema,
  type ListTasksResponse,
  ListTasksResponseSchema,
  PROJECT_ID_HEADER,
  passwordTokenRequest,
  REQUEST_ID_HEADER,
  ReleaseRequestSchema,
  RUN_ID_HEADER,
  RunIdSchema,
  SDK_CONTENT_SHA256_HEADER,
  type ShowConsistencyResultResponse,
  ShowConsistencyResultResponseSchema,
  type StoredFinding,
  SUBJECT_TOKEN_HEADER,
  type Task,
  TaskIdSchema,
  TaskSchema,
  UpdateConfigurationRequestSchema,
  UpdateConsistencyResultRequestSchema,
  UpdateConsistencyResultResponseSchema,
  type UploadFindingsResponse,
  UploadFindingsResponseSchema,
  VerificationIdSchema,
  VerificationLimits,
  type VerificationList,
  VerificationListSchema,
  type VerificationRequest,
  VerificationRequestSchema,
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
  retryAfterMs,
  SmsApiError,
  type SmsApiErrorDetails,
  SmsForbiddenError,
  SmsNetworkError,
  SmsResponseError,
  SmsValidationError,
} from './errors.js';
import { bufferedFindingsBody, type FindingsSource, findingsBody } from './findings-body.js';
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
    const payloadHash = body ? sha256Hex(body) : EMPTY_BODY_SHA256;
    // the body's hash declared too: a server that streams a large body (findings) checks it as it reads
    if (body) request.headers.set(SDK_CONTENT_SHA256_HEADER, payloadHash);
    const signed = signRequest({ method: request.method, url: request.url, headers, payloadHash }, key);
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
   * honouring `Retry-After` (up to 60 s; one asking for longer is answered at once). Never on 400, 403, 404.
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
  /**
   * The run this upload belongs to (`X-Sms-Run-Id`, a UUID): every upload of
   * one verification carries the same one. Without it the server makes the
   * upload a run of its own.
   */
  runId?: string;
}

export interface UploadFindingsOptions extends RequestOptions {
  /** The idempotency key of this upload. Default: a new random UUID per call, the same on every retry of it. */
  idempotencyKey?: string;
}

/** Which findings of a task: a directory, categories (one or several). */
export interface FindingsFilter {
  /** Only this directory's findings. */
  dirCheck?: string;
  /** Only these categories (default: all; for `files-from`, different and missing). */
  category?: FindingCategory | readonly FindingCategory[];
}

export interface ListFindingsQuery extends FindingsFilter {
  /** Findings per page, 1..1000 (default 100). */
  limit?: number;
  /** The `next_marker` of the page before. */
  marker?: string;
}

export interface ExportFindingsQuery extends FindingsFilter {
  /** `csv`: every matching finding, a header row first; `files-from`: the re-sync list for `rsync --files-from`. */
  format: 'csv' | 'files-from';
  /** `files-from` only: NUL-separated entries (`rsync --from0`) instead of one path a line. */
  null?: boolean;
}

export interface PollConsistencyChecksOptions extends RequestOptions {
  /**
   * Seconds the server may wait for a pending request to appear, 0..30
   * (default 30). The call's timeout is this plus the client's `timeout`.
   */
  wait?: number;
  /**
   * The polling agent's name (its host name, or the daemon's `--name`): also lists the requests of
   * the tasks whose `CONSISTENCY_AGENT` is that name. Without it, only those of tasks without one.
   */
  agent?: string;
}

export interface ClaimConsistencyCheckOptions extends RequestOptions {
  /** How long the claim holds without a heartbeat, 10..3600 seconds. */
  leaseSeconds: number;
  /** The name the agent gives itself (its host name), shown with the request. */
  agent: string;
}

export interface HeartbeatConsistencyCheckOptions extends RequestOptions {
  /** The `lease_id` of the claim. */
  leaseId: string;
  /** The lease's new length from now, 10..3600 seconds. */
  leaseSeconds: number;
  /** The run, once the agent has made it (the request shows it while it runs). */
  runId?: string;
}

/** How a claimed request ended: `done` with the run and its verdict, or `failed` with what went wrong. */
export type FinishConsistencyCheckOptions = RequestOptions &
  (
    | { leaseId: string; state: 'done'; runId: string; checkResult: CheckResult }
    | { leaseId: string; state: 'failed'; runId?: string; error: string }
  );

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

/** The query string of `GET …/consistency-result/files`, checked with the domain's schema. */
function findingsSearchParams(
  query: ListFindingsQuery | ExportFindingsQuery | (ListFindingsQuery & Partial<ExportFindingsQuery>),
): Record<string, string> {
  const raw: Record<string, string> = {};
  const q = query as ListFindingsQuery & Partial<ExportFindingsQuery>;
  if (q.dirCheck !== undefined) raw.dir_check = q.dirCheck;
  if (q.category !== undefined)
    raw.category = typeof q.category === 'string' ? q.category : q.category.join(',');
  if (q.limit !== undefined) raw.limit = String(q.limit);
  if (q.marker !== undefined) raw.marker = q.marker;
  if (q.format !== undefined) raw.format = q.format;
  if (q.null !== undefined) raw.null = q.null ? '1' : '0';
  validate(FindingsQuerySchema, raw, 'query');
  return raw;
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
/** The longest timer Node.js keeps (2^31 - 1 ms); ky throws past it. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export class SmsClient {
  readonly endpoint: string;
  private readonly http: KyInstance;
  private readonly options: SmsClientOptions;
  private readonly defaultHeaders: Record<string, string>;
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
    // `localhost:8080` parses as a URL of scheme `localhost:`: said here, not at the first request
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
      throw new SmsValidationError(
        `invalid options: endpoint ${JSON.stringify(options.endpoint)} is not an http:// or https:// URL (give http://HOST:PORT)`,
        [],
      );
    }
    // ky times out at once on 0 (every upload would be spooled) and throws on more than 2^31 - 1
    if (
      options.timeout !== undefined &&
      !(Number.isInteger(options.timeout) && options.timeout >= 1 && options.timeout <= MAX_TIMEOUT_MS)
    ) {
      throw new SmsValidationError(
        `invalid options: timeout ${String(options.timeout)} is not a whole number of milliseconds 1..2147483647`,
        [],
      );
    }
    if (options.token !== undefined) {
      // fetch trims the ends of a header's value (a token read from a file with its line end works)
      const token = options.token.trim();
      validate(AuthTokenSchema, token, 'token');
      // a header carries it: a newline or a space inside would fail in fetch, read as the network failing
      if (!/^[\x21-\x7e]+$/.test(token))
        throw new SmsValidationError(
          'invalid token: expected printable ASCII characters without spaces, as the X-Auth-Token header carries it',
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
    this.defaultHeaders = {
      'user-agent': options.userAgent ?? `@sms/client/${CLIENT_VERSION}`,
      ...options.headers,
    };
    this.http = ky.create({
      prefixUrl: this.endpoint,
      timeout: options.timeout ?? 30_000,
      retry: {
        ...DEFAULT_RETRY,
        // A caller's abort is final; so is an answer that asks for a longer wait than the client
        // waits (a sign-in lockout of 15 minutes): retried at the cap, it could only fail again.
        // Everything else follows the status rules.
        shouldRetry: ({ error }) =>
          error.name === 'AbortError' ||
          (error instanceof HTTPError &&
            // only where ky honours Retry-After (429, 503): elsewhere it backs off as usual
            (retry.afterStatusCodes ?? DEFAULT_RETRY.afterStatusCodes).includes(error.response.status) &&
            (retryAfterMs(error.response.headers.get('retry-after')) ?? 0) >
              (retry.maxRetryAfter ?? DEFAULT_RETRY.maxRetryAfter))
            ? false
            : undefined,
        ...retry,
      },
      headers: this.defaultHeaders,
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
    const run = options.runId === undefined ? undefined : validate(RunIdSchema, options.runId, 'runId');
    await this.send(
      UpdateConsistencyResultResponseSchema,
      `v3/tasks/${encodeURIComponent(id)}/consistency-result`,
      {
        method: 'post',
        json: body,
        headers: { [IDEMPOTENCY_KEY_HEADER]: key, ...(run === undefined ? {} : { [RUN_ID_HEADER]: run }) },
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
   * Uploads findings of a run (`POST /v3/tasks/{task_id}/consistency-result/files`,
   * our extension): gzip NDJSON, one finding or truncation marker a line, each
   * line checked with the domain's schema before it is sent. The counts of the
   * run (`updateConsistencyResult` with the same `runId`) must have been
   * delivered first: a directory without a result is refused (409 `SMS.1007`).
   *
   * A list is checked whole before anything is sent and retried like any
   * upload (one `Idempotency-Key` for every attempt). An iterable is streamed
   * as it is read and, as a stream cannot be sent twice, **never retried**:
   * on a network error call again with a new iterable and the same
   * `idempotencyKey`. With an access key the gzip body is buffered in memory
   * first (the signature covers its hash), and so is retried.
   * @example const { stored } = await client.uploadFindings(taskId, runId, findings, { idempotencyKey });
   */
  async uploadFindings(
    taskId: string,
    runId: string,
    findings: readonly FindingsLine[] | FindingsSource,
    options: UploadFindingsOptions = {},
  ): Promise<UploadFindingsResponse> {
    const id = validate(TaskIdSchema, taskId, 'task_id');
    const run = validate(RunIdSchema, runId, 'runId');
    const key = validate(
      IdempotencyKeySchema,
      options.idempotencyKey ?? globalThis.crypto.randomUUID(),
      'idempotencyKey',
    );
    const path = `v3/tasks/${encodeURIComponent(id)}/consistency-result/files`;
    const headers = {
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
      [RUN_ID_HEADER]: run,
      [IDEMPOTENCY_KEY_HEADER]: key,
    };
    const credentials = this.options.credentials;
    if (Array.isArray(findings) || (credentials !== undefined && isAccessKey(credentials))) {
      const body = await bufferedFindingsBody(findings);
      return this.send(UploadFindingsResponseSchema, path, {
        method: 'post',
        body,
        headers,
        retry: { methods: ['post'] },
        ...this.signalOf(options),
      });
    }
    const response = await this.postStream(path, headers, findingsBody(findings), options.signal);
    return this.parse(UploadFindingsResponseSchema, response);
  }

  /**
   * One page of a task's findings (`GET /v3/tasks/{task_id}/consistency-result/files`),
   * in a stable order; pass its `next_marker` as `marker` for the next.
   * @example const page = await client.listFindings(taskId, { category: ['different', 'missing'], limit: 1000 });
   */
  async listFindings(
    taskId: string,
    query: ListFindingsQuery = {},
    options: RequestOptions = {},
  ): Promise<FindingsPage> {
    const id = validate(TaskIdSchema, taskId, 'task_id');
    return this.send(FindingsPageSchema, `v3/tasks/${encodeURIComponent(id)}/consistency-result/files`, {
      method: 'get',
      searchParams: findingsSearchParams(query),
      ...this.signalOf(options),
    });
  }

  /**
   * Every finding of a task that matches, page after page (`listFindings`
   * following `next_marker`), as an async iterator.
   * @example for await (const finding of client.findings(taskId, { dirCheck: '/data' })) console.log(finding.path);
   */
  async *findings(
    taskId: string,
    query: ListFindingsQuery = {},
    options: RequestOptions = {},
  ): AsyncGenerator<StoredFinding, void, undefined> {
    let marker = query.marker;
    do {
      const page = await this.listFindings(
        taskId,
        { ...query, ...(marker === undefined ? {} : { marker }) },
        options,
      );
      yield* page.findings;
      marker = page.next_marker;
    } while (marker !== undefined);
  }

  /**
   * A task's findings as a byte stream, read as the server writes it: `csv`
   * (a header row, then every matching finding) or `files-from` (the paths to
   * copy again, relative to the directory, for `rsync --files-from`, or with
   * `null: true` NUL-separated for `--from0`; different and missing unless
   * `category` says otherwise; `dirCheck` is needed when the task has findings
   * in more than one directory).
   * @example const list = await client.exportFindings(taskId, { format: 'files-from', dirCheck: '/data', null: true });
   */
  async exportFindings(
    taskId: string,
    query: ExportFindingsQuery,
    options: RequestOptions = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const id = validate(TaskIdSchema, taskId, 'task_id');
    const response = await this.authorized(`v3/tasks/${encodeURIComponent(id)}/consistency-result/files`, {
      method: 'get',
      searchParams: findingsSearchParams(query),
      headers: { accept: query.format === 'csv' ? 'text/csv' : 'text/plain' },
      ...this.signalOf(options),
    });
    return response.body ?? new Response('').body!;
  }

  /**
   * Reads a task's agent configuration (`GET /v3/tasks/{task_id}/configuration-setting`):
   * every key set, as `{ config_key, config_value }` strings; `parseConfiguration`
   * of `@sms/domain` reads the values.
   * @example const { configuration, problems } = parseConfiguration((await client.getConfiguration(taskId)).configurations);
   */
  async getConfiguration(taskId: string, options: RequestOptions = {}): Promise<ConfigurationResponse> {
    const id = validate(TaskIdSchema, taskId, 'task_id');
    return this.send(
      ConfigurationResponseSchema,
      `v3/tasks/${encodeURIComponent(id)}/configuration-setting`,
      { method: 'get', ...this.signalOf(options) },
    );
  }

  /**
   * Sets keys of a task's configuration (`POST /v3/tasks/{task_id}/configuration-setting`,
   * admins): each value checked with its key's schema before anything is
   * sent; `config_value: ""` removes the key; keys not named are kept.
   * Retried: setting the same values again changes nothing.
   * @example await client.updateConfiguration(taskId, [{ config_key: 'CONSISTENCY_DIR', config_value: '["/root/data"]' }]);
   */
  async updateConfiguration(
    taskId: string,
    entries: readonly ConfigurationEntry[],
    options: RequestOptions = {},
  ): Promise<void> {
    const id = validate(TaskIdSchema, taskId, 'task_id');
    const body = validate(UpdateConfigurationRequestSchema, { configurations: entries }, 'body');
    await this.send(v.object({}), `v3/tasks/${encodeURIComponent(id)}/configuration-setting`, {
      method: 'post',
      json: body,
      retry: { methods: ['post'] },
      ...this.signalOf(options),
    });
  }

  /**
   * Asks for a verification of a task (`POST /v3/tasks/{task_id}/consistency-check`,
   * admins): a new pending request (`created: true`), or the one already
   * pending or running (`created: false`). Retried: a retry after a lost
   * answer finds the request the first attempt made.
   * @example const { request, created } = await client.requestConsistencyCheck(taskId);
   */
  async requestConsistencyCheck(
    taskId: string,
    options: RequestOptions = {},
  ): Promise<{ request: VerificationRequest; created: boolean }> {
    const id = validate(TaskIdSchema, taskId, 'task_id');
    const response = await this.authorized(`v3/tasks/${encodeURIComponent(id)}/consistency-check`, {
      method: 'post',
      json: {},
      retry: { methods: ['post'] },
      ...this.signalOf(options),
    });
    return {
      request: await this.parse(VerificationRequestSchema, response),
      created: response.status === 201,
    };
  }

  /**
   * A task's verification requests, newest first (`GET /v3/tasks/{task_id}/consistency-checks`).
   * @example const { requests } = await client.listConsistencyChecks(taskId);
   */
  async listConsistencyChecks(taskId: string, options: RequestOptions = {}): Promise<VerificationList> {
    const id = validate(TaskIdSchema, taskId, 'task_id');
    return this.send(VerificationListSchema, `v3/tasks/${encodeURIComponent(id)}/consistency-checks`, {
      method: 'get',
      ...this.signalOf(options),
    });
  }

  /**
   * The pending verification requests of the project's tasks, oldest first
   * (`GET /v3/consistency-checks?wait=N&agent=NAME`, agents and admins), of the
   * tasks without a `CONSISTENCY_AGENT` or whose one is `agent`: a long poll,
   * answered as soon as one is pending or after `wait` seconds with none.
   * Each attempt may last `wait` seconds plus the client's `timeout`.
   * @example const { requests } = await client.pollConsistencyChecks({ wait: 30, signal });
   */
  async pollConsistencyChecks(options: PollConsistencyChecksOptions = {}): Promise<VerificationList> {
    const wait = options.wait ?? VerificationLimits.waitSecondsMax;
    if (!Number.isInteger(wait) || wait < 0 || wait > VerificationLimits.waitSecondsMax) {
      throw new SmsValidationError(
        `invalid wait: expected whole seconds 0..${VerificationLimits.waitSecondsMax}, received ${wait}`,
        [],
      );
    }
    const agent = options.agent === undefined ? undefined : validate(AgentNameSchema, options.agent, 'agent');
    return this.send(VerificationListSchema, 'v3/consistency-checks', {
      method: 'get',
      searchParams: { wait: String(wait), ...(agent === undefined ? {} : { agent }) },
      // the server holds the answer up to `wait` seconds: an attempt's timeout must outlast it
      timeout: Math.min(wait * 1000 + (this.options.timeout ?? 30_000), MAX_TIMEOUT_MS),
      ...this.signalOf(options),
    });
  }

  /**
   * Takes a pending verification request with a lease
   * (`POST /v3/consistency-checks/{id}/claim`): the request, now running, and
   * the `lease_id` its heartbeats, finish and release name. 409 `SMS.1008`
   * when another agent holds it. **Never retried**: a retry after a lost
   * answer would find the request held (by the lost claim, whose lease then
   * simply expires) and answer 409.
   * @example const { request, lease_id } = await client.claimConsistencyCheck(id, { leaseSeconds: 120, agent: hostname() });
   */
  async claimConsistencyCheck(
    requestId: string,
    options: ClaimConsistencyCheckOptions,
  ): Promise<ClaimResponse> {
    const id = validate(VerificationIdSchema, requestId, 'request id');
    const body = validate(
      ClaimRequestSchema,
      { lease_seconds: options.leaseSeconds, agent: options.agent },
      'body',
    );
    return this.send(ClaimResponseSchema, `v3/consistency-checks/${id}/claim`, {
      method: 'post',
      json: body,
      retry: { limit: 0 },
      ...this.signalOf(options),
    });
  }

  /**
   * Renews the lease of a claimed request (`POST /v3/consistency-checks/{id}/heartbeat`),
   * and tells the server the run once it is known. 409 `SMS.1008` when the
   * lease is no longer this one (it expired and another agent took the
   * request): stop working on it. Retried (the same lease renewed twice is
   * renewed once).
   * @example await client.heartbeatConsistencyCheck(id, { leaseId, leaseSeconds: 120, runId });
   */
  async heartbeatConsistencyCheck(
    requestId: string,
    options: HeartbeatConsistencyCheckOptions,
  ): Promise<VerificationRequest> {
    const body = validate(
      HeartbeatRequestSchema,
      {
        lease_id: options.leaseId,
        lease_seconds: options.leaseSeconds,
        ...(options.runId === undefined ? {} : { run_id: options.runId }),
      },
      'body',
    );
    return this.underLease(requestId, 'heartbeat', body, options);
  }

  /**
   * Ends a claimed request (`POST /v3/consistency-checks/{id}/finish`): `done`
   * with the run and its verdict, or `failed` with the error (at most 1024
   * characters). Retried: a second finish with the same lease answers the
   * first one's request.
   * @example await client.finishConsistencyCheck(id, { leaseId, state: 'done', runId, checkResult: 'CONSISTENT' });
   */
  async finishConsistencyCheck(
    requestId: string,
    options: FinishConsistencyCheckOptions,
  ): Promise<VerificationRequest> {
    const body = validate(
      FinishRequestSchema,
      options.state === 'done'
        ? {
            lease_id: options.leaseId,
            state: 'done',
            run_id: options.runId,
            check_result: options.checkResult,
          }
        : {
            lease_id: options.leaseId,
            state: 'failed',
            error: options.error,
            ...(options.runId === undefined ? {} : { run_id: options.runId }),
          },
      'body',
    );
    return this.underLease(requestId, 'finish', body, options);
  }

  /**
   * Hands a claimed request back (`POST /v3/consistency-checks/{id}/release`):
   * pending again, for any agent to take. Retried.
   * @example await client.releaseConsistencyCheck(id, leaseId);
   */
  async releaseConsistencyCheck(
    requestId: string,
    leaseId: string,
    options: RequestOptions = {},
  ): Promise<VerificationRequest> {
    const body = validate(ReleaseRequestSchema, { lease_id: leaseId }, 'body');
    return this.underLease(requestId, 'release', body, options);
  }

  /** A call that names the lease of a claimed request: the server takes it twice as once, so it is retried. */
  private underLease(
    requestId: string,
    verb: 'heartbeat' | 'finish' | 'release',
    body: object,
    options: RequestOptions,
  ): Promise<VerificationRequest> {
    const id = validate(VerificationIdSchema, requestId, 'request id');
    return this.send(VerificationRequestSchema, `v3/consistency-checks/${id}/${verb}`, {
      method: 'post',
      json: body,
      retry: { methods: ['post'] },
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
    return this.parse(schema, await this.authorized(path, options));
  }

  /** A request with the client's token (signing in first when needed, and once more when the token is refused). */
  private async authorized(path: string, options: KyOptions): Promise<Response> {
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
    try {
      return await attempt();
    } catch (error) {
      // A token the server no longer accepts (expired early, revoked): sign in again, once.
      if (
        this.options.credentials &&
        !isAccessKey(this.options.credentials) &&
        error instanceof SmsForbiddenError &&
        error.errorCode === ErrorCodes.AuthenticationFailed.code
      ) {
        this.cached = undefined;
        return attempt();
      }
      throw error;
    }
  }

  /**
   * A POST whose body is a stream, sent once with `fetch` itself: ky keeps a
   * copy of every body for its retries, which would hold a whole stream in
   * memory. The timeout counts from the body's end (the stream lasts as long
   * as its source).
   */
  private async postStream(
    path: string,
    headers: Record<string, string>,
    body: ReturnType<typeof findingsBody>,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    signal?.throwIfAborted();
    const token = await this.token(signal);
    const timeout = new AbortController();
    const timeoutMs = this.options.timeout ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    void body.ended.then(() => {
      timer = setTimeout(() => timeout.abort(), timeoutMs);
    });
    const url = `${this.endpoint}/${path}`;
    let response: Response;
    try {
      response = await (this.options.fetch ?? globalThis.fetch)(url, {
        method: 'POST',
        headers: {
          ...this.defaultHeaders,
          ...headers,
          ...(token ? { [AUTH_TOKEN_HEADER]: token } : {}),
        },
        body: body.body,
        duplex: 'half',
        signal: signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal,
      } as RequestInit);
    } catch (error) {
      const failure = body.failure();
      if (failure !== undefined) throw failure;
      if (signal?.aborted) throw signal.reason;
      if (timeout.signal.aborted) {
        throw new SmsNetworkError(`POST ${url}: no answer within ${timeoutMs} ms of the body's end`, {
          cause: error,
        });
      }
      throw await this.translate(error);
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) throw await this.apiError(response);
    return response;
  }

  private async request(path: string, options: KyOptions): Promise<Response> {
    try {
      return await this.http(path, options);
    } catch (error) {
      // the caller's abort is the caller's reason, whatever it is (an AbortError unless abort() was given one)
      if (options.signal?.aborted) throw options.signal.reason;
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

  /** The error of an HTTP error answer: `SmsForbiddenError` for a 403 of the API's shape, else `SmsApiError`. */
  private async apiError(response: Response): Promise<SmsApiError> {
    const body = await readBody(response);
    const base: SmsApiErrorDetails = {
      status: response.status,
      errorCode: undefined,
      errorMsg: typeof body === 'string' ? body.slice(0, 500) : undefined,
      requestId: response.headers.get(REQUEST_ID_HEADER) ?? undefined,
      body,
      retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
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

  private async translate(error: unknown): Promise<unknown> {
    if (error instanceof HTTPError) return this.apiError(error.response);
    if (error instanceof TimeoutError) {
      return new SmsNetworkError(
        `${error.request.method} ${error.request.url} timed out: no answer within ${this.options.timeout ?? 30_000} ms (the timeout is each attempt's, and the retries allowed were made)`,
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
