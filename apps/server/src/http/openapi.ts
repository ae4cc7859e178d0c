import {
  ACCESS_KEYS_PER_USER,
  Actions,
  AUTH_TOKEN_HEADER,
  ErrorCodes,
  IDEMPOTENCY_KEY_HEADER,
  Limits,
  REQUEST_ID_HEADER,
  RUN_ID_HEADER,
  SUBJECT_TOKEN_HEADER,
  TASK_PAGE_DEFAULT,
  TASK_PAGE_MAX,
} from '@sms/domain';
import { buildJsonSchemas } from '@sms/domain/json-schema';
import { BODY_LIMIT_BYTES } from './body.js';

import { extensionPaths } from './openapi-extensions.js';
import {
  accessKeyParam,
  codesFor,
  codesOf,
  errors,
  idempotencyKeyParam,
  json,
  ref,
  runIdParam,
  SIGNING,
  security,
  taskIdParam,
} from './openapi-parts.js';

/**
 * The OpenAPI 3.1 document of the server. Every body schema comes from
 * `@sms/domain`'s generated JSON Schemas; the rules JSON Schema cannot state
 * (cross-field, uniqueness) are stated in the descriptions.
 */
export function buildOpenApiDocument(version: string) {
  const schemas = buildJsonSchemas();
  return {
    openapi: '3.1.0',
    info: {
      title: 'SMS consistency-result API',
      version,
      description:
        'The Huawei Cloud SMS v3 consistency-result API with the tasks, IAM-style tokens and access keys around it. ' +
        `Authenticate with a token in ${AUTH_TOKEN_HEADER}, or sign the request with an access key as the official Huawei Cloud SDKs do (see the \`accessKey\` security scheme). ` +
        `Every response carries ${REQUEST_ID_HEADER}. Request bodies larger than ${BODY_LIMIT_BYTES} bytes are refused (400 \`SMS.2004\`). ` +
        'People read the results on the web dashboard at `/ui` (same users and projects).',
    },
    components: {
      securitySchemes: {
        token: {
          type: 'apiKey',
          in: 'header',
          name: AUTH_TOKEN_HEADER,
          description: 'A token from POST /v3/auth/tokens.',
        },
        accessKey: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: `An access key (AK/SK) from POST /v3.0/OS-CREDENTIAL/credentials. ${SIGNING}`,
        },
      },
      schemas,
    },
    paths: {
      '/v3/tasks/{task_id}/consistency-result': {
        post: {
          operationId: 'UpdateConsistencyResult',
          summary: 'Upload consistency verification results',
          description:
            `Stores the upload as one entry of the task's history, stamped with the server's time. ` +
            `0..${Limits.resultsPerUploadMax} results; each \`dir_check\` at most once per upload; in each result ` +
            '`num_different_files + num_target_miss_files <= num_total_files`; a `dir_check` holds no NUL character and no lone ' +
            'UTF-16 surrogate (its 1024 characters are UTF-16 code units, as JavaScript and Java count them). Checks, in order: token (403), ' +
            'path and body (400), task (404), permission `' +
            Actions.updateConsistencyCheckResult +
            '` (403 `SMS.9004`), storage (500). ' +
            `An \`${IDEMPOTENCY_KEY_HEADER}\` makes retries safe: the same key and body are acknowledged again without a second entry; ` +
            'the same key with another body is a 409 (`SMS.1003`).',
          security,
          parameters: [
            taskIdParam,
            idempotencyKeyParam,
            {
              ...runIdParam,
              description:
                `Ours (an extension; the SMS API has none): the run the upload belongs to, a UUID. One \`sms-agent verify\` is one run, ` +
                'however many uploads it sends; the dashboard counts runs, and findings name them. Without it, the upload is a run of its own, ' +
                `whose id is answered in the response's ${RUN_ID_HEADER} header.`,
            },
          ],
          requestBody: { required: true, ...json(ref('UpdateConsistencyResultRequest')) },
          responses: {
            200: {
              headers: {
                [RUN_ID_HEADER]: {
                  description: 'Ours: the run the upload was stored in (the one sent, or a new one).',
                  schema: { type: 'string', format: 'uuid' },
                },
              },
              description: 'The consistency verification results were updated.',
              ...json(ref('UpdateConsistencyResultResponse')),
            },
            ...errors,
            409: {
              description: codesOf(ErrorCodes.IdempotencyKeyReused),
              ...json(ref('ErrorResponse')),
            },
          },
        },
        get: {
          operationId: 'ShowConsistencyResult',
          summary: 'Read the history of consistency results',
          description:
            'Every upload of the task, newest first. `check_result` is derived from the counts: `CONSISTENT` when every ' +
            'directory has 0 different, 0 missing and 0 extra files; `INCONSISTENT` when any has one; `NO_RESULT` for an ' +
            `upload with no directories. Permission \`${Actions.getConsistencyCheckResult}\`.`,
          security,
          parameters: [taskIdParam],
          responses: {
            200: { description: 'The history.', ...json(ref('ShowConsistencyResultResponse')) },
            ...errors,
          },
        },
      },
      ...extensionPaths(),
      '/v3/tasks': {
        post: {
          operationId: 'CreateTask',
          summary: 'Create a task in the project of the token',
          security,
          requestBody: { required: true, ...json(ref('CreateTaskRequest')) },
          responses: {
            200: { description: 'The new task id.', ...json(ref('CreateTaskResponse')) },
            ...errors,
          },
        },
        get: {
          operationId: 'ListTasks',
          summary: "List the project's tasks, newest first",
          security,
          parameters: [
            {
              name: 'state',
              in: 'query',
              schema: (schemas.ListTasksParams.properties as Record<string, object>).state,
            },
            {
              name: 'name',
              in: 'query',
              description: 'Part of the name, case-insensitive.',
              schema: { type: 'string' },
            },
            { name: 'id', in: 'query', schema: { type: 'string' } },
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: TASK_PAGE_MAX, default: TASK_PAGE_DEFAULT },
            },
            { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
          ],
          responses: {
            200: {
              description: '`count` matching tasks, one page of them.',
              ...json(ref('ListTasksResponse')),
            },
            ...errors,
          },
        },
      },
      '/v3/tasks/{task_id}': {
        get: {
          operationId: 'ShowTask',
          summary: 'Show a task',
          security,
          parameters: [taskIdParam],
          responses: { 200: { description: 'The task.', ...json(ref('Task')) }, ...errors },
        },
        delete: {
          operationId: 'DeleteTask',
          summary: 'Delete a task and its results',
          security,
          parameters: [taskIdParam],
          responses: { 200: { description: 'Deleted.', ...json({ type: 'object' }) }, ...errors },
        },
      },
      '/v3/auth/tokens': {
        post: {
          operationId: 'KeystoneCreateUserTokenByPassword',
          summary: 'Get a token with a user name and password',
          description: `The token is in the ${SUBJECT_TOKEN_HEADER} response header; send it as ${AUTH_TOKEN_HEADER}. Wrong credentials: 401 \`SMS.9002\`.`,
          requestBody: { required: true, ...json(ref('AuthTokenRequest')) },
          responses: {
            201: {
              description: 'A token.',
              headers: { [SUBJECT_TOKEN_HEADER]: { schema: { type: 'string' } } },
              ...json(ref('AuthTokenResponse')),
            },
            400: errors[400],
            401: { description: codesFor(401), ...json(ref('ErrorResponse')) },
            429: {
              description: `${codesFor(429)} The limit: 10 failed sign-ins per user name and 100 per client address in 15 minutes (the client address is the connection's peer, or behind a proxy listed in SMS_TRUSTED_PROXIES the address that proxy appended to X-Forwarded-For).`,
              headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds to wait' } },
              ...json(ref('ErrorResponse')),
            },
          },
        },
      },
      '/v3/auth/decode-authorization-message': {
        post: {
          operationId: 'DecodeAuthorizationMessage',
          summary: 'Read the reason behind a 403 (admins only)',
          description:
            "An admin reads the messages given to users of its own project; one given to a user of another project is refused (403 `SMS.9004`): that project's admins, or the operator's `sms-server decode`, read it. A 403 given before the caller was known (a bad token or signature) names no project: any admin may read it.",
          security,
          requestBody: {
            required: true,
            ...json({
              type: 'object',
              properties: { encoded_authorization_message: { type: 'string' } },
              required: ['encoded_authorization_message'],
            }),
          },
          responses: { 200: { description: 'The decoded reason.', ...json({ type: 'object' }) }, ...errors },
        },
      },
      '/v3.0/OS-CREDENTIAL/credentials': {
        post: {
          operationId: 'CreatePermanentAccessKey',
          summary: 'Create an access key (AK/SK) for a user',
          description:
            'For the caller itself, or (admins) any user of its project. The secret key is in this answer only. ' +
            `At most ${ACCESS_KEYS_PER_USER} keys per user (409 \`${ErrorCodes.AccessKeyLimitReached.code}\`).`,
          security,
          requestBody: { required: true, ...json(ref('CreateCredentialRequest')) },
          responses: {
            201: { description: 'The new key with its secret.', ...json(ref('CreateCredentialResponse')) },
            ...errors,
            409: { description: codesOf(ErrorCodes.AccessKeyLimitReached), ...json(ref('ErrorResponse')) },
          },
        },
        get: {
          operationId: 'ListPermanentAccessKeys',
          summary: "List a user's access keys (never their secrets)",
          description: "Without `user_id`, the caller's own; an admin may name any user of its project.",
          security,
          parameters: [{ name: 'user_id', in: 'query', required: false, schema: { type: 'string' } }],
          responses: {
            200: { description: 'The keys.', ...json(ref('ListCredentialsResponse')) },
            ...errors,
          },
        },
      },
      '/v3.0/OS-CREDENTIAL/credentials/{access_key}': {
        put: {
          operationId: 'UpdatePermanentAccessKey',
          summary: 'Activate or deactivate an access key, or change its description',
          security,
          parameters: [accessKeyParam],
          requestBody: { required: true, ...json(ref('UpdateCredentialRequest')) },
          responses: {
            200: { description: 'The key as it is now.', ...json(ref('UpdateCredentialResponse')) },
            ...errors,
          },
        },
        delete: {
          operationId: 'DeletePermanentAccessKey',
          summary: 'Delete an access key',
          description: 'Requests signed with it are refused from the next one on, on every instance.',
          security,
          parameters: [accessKeyParam],
          responses: { 204: { description: 'Deleted.' }, ...errors },
        },
      },
      '/healthz': { get: { summary: 'The process is alive', responses: { 200: { description: 'ok' } } } },
      '/readyz': {
        get: {
          summary: 'The storage answers a query',
          responses: {
            200: { description: 'ready: `{"status":"ready","storage":"sqlite"|"postgres"}`' },
            503: {
              description:
                'not ready: `{"status":"not ready","storage":…,"reason":…}`, the reason the kind of failure (the database cannot be reached, …), never the driver\'s words. A full disk leaves reads working: it shows in the writes\' 500 `SMS.2008`, not here.',
            },
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics (only when the server runs with SMS_METRICS=1; 404 otherwise)',
          responses: {
            200: {
              description: 'The Prometheus text format.',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
            404: { description: 'Metrics are off.' },
          },
        },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;
