import {
  ACCESS_KEYS_PER_USER,
  Actions,
  AUTH_TOKEN_HEADER,
  CONFIG_KEYS,
  ErrorCodes,
  FINDING_CATEGORIES,
  FindingLimits,
  IDEMPOTENCY_KEY_HEADER,
  Limits,
  OUR_CONFIG_KEYS,
  PROJECT_ID_HEADER,
  REQUEST_ID_HEADER,
  RESYNC_CATEGORIES,
  RUN_ID_HEADER,
  SDK_CONTENT_SHA256_HEADER,
  SDK_DATE_HEADER,
  SDK_DATE_SKEW_SECONDS,
  SIGNATURE_ALGORITHM,
  SMS_CONFIG_KEYS,
  SUBJECT_TOKEN_HEADER,
  TASK_PAGE_DEFAULT,
  TASK_PAGE_MAX,
  VerificationLimits,
} from '@sms/domain';
import { buildJsonSchemas } from '@sms/domain/json-schema';
import { BODY_LIMIT_BYTES } from './body.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const codesFor = (status: number) =>
  Object.values(ErrorCodes)
    .filter((e) => e.status === status)
    .map((e) => `\`${e.code}\` ${e.meaning}`)
    .join(' ');

const errors = {
  400: { description: `The request is invalid. ${codesFor(400)}`, ...json(ref('ErrorResponse')) },
  403: {
    description: `Authentication failed or permission denied. ${codesFor(403)}`,
    ...json(ref('ForbiddenErrorResponse')),
  },
  404: { description: `Not found. ${codesFor(404)}`, ...json(ref('ErrorResponse')) },
  500: {
    description: `Server or storage failure; nothing was stored. ${codesFor(500)}`,
    ...json(ref('ErrorResponse')),
  },
};
const taskIdParam = {
  name: 'task_id',
  in: 'path',
  required: true,
  description: `Task ID. ${1}..${Limits.taskIdMaxLength} characters.`,
  schema: { type: 'string', minLength: 1, maxLength: Limits.taskIdMaxLength },
};
const idempotencyKeyParam = {
  name: IDEMPOTENCY_KEY_HEADER,
  in: 'header',
  required: false,
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
};
const runIdParam = {
  name: RUN_ID_HEADER,
  in: 'header',
  required: false,
  schema: { type: 'string', format: 'uuid' },
};
const verificationIdParam = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The verification request id (a UUID).',
  schema: { type: 'string', format: 'uuid' },
};
/** Every protected route takes either a token or an access key's signature (never both). */
const security = [{ token: [] }, { accessKey: [] }];
const accessKeyParam = {
  name: 'access_key',
  in: 'path',
  required: true,
  description: 'The access key id (AK): 20 capital letters and digits.',
  schema: { type: 'string', pattern: '^[A-Z0-9]{20}$' },
};
const SIGNING =
  `Sign each request as the Huawei Cloud SDKs do (API Gateway's AK/SK signing, \`${SIGNATURE_ALGORITHM}\`): ` +
  `\`Authorization: ${SIGNATURE_ALGORITHM} Access=AK, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=hex\`, ` +
  `where the signature is hex HMAC-SHA256(secret key, "${SIGNATURE_ALGORITHM}\\n" + ${SDK_DATE_HEADER} + "\\n" + hex SHA-256 of the canonical request), ` +
  'the canonical request being the method, the path with each segment percent-encoded again and a trailing slash, the sorted query, ' +
  'the signed headers as `name:value` lines, their names joined by `;`, and the hex SHA-256 of the body, one per line. ' +
  `${SDK_DATE_HEADER} (like 20261204T185512Z, UTC) may be at most ${SDK_DATE_SKEW_SECONDS / 60} minutes from the server's clock. ` +
  `${PROJECT_ID_HEADER} (signed) names the project; without it, the user's only project. The key's user's role there decides, as for a token. ` +
  `Refusals (403): \`${ErrorCodes.AccessKeyInvalid.code}\` unknown, inactive or deleted key; \`${ErrorCodes.SignatureMismatch.code}\` wrong signature; ` +
  `\`${ErrorCodes.SdkDateInvalid.code}\` missing, malformed or stale date; \`${ErrorCodes.AuthorizationMalformed.code}\` malformed Authorization, ` +
  `an unsigned ${PROJECT_ID_HEADER}, or a token sent as well; \`${ErrorCodes.ProjectNotAllowed.code}\` a project the user has no role in. ` +
  `A wrong key or signature counts as a failed sign-in (for the key and the address); past the limits, 429 \`${ErrorCodes.TooManyRequests.code}\`. ` +
  "A signed request's body (at most 1 MiB, else 400 `SMS.2004`) is read before the signature is checked.";

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
            '`num_different_files + num_target_miss_files <= num_total_files`. Checks, in order: token (403), ' +
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
            409: { description: codesFor(409), ...json(ref('ErrorResponse')) },
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
      '/v3/tasks/{task_id}/consistency-result/files': {
        post: {
          operationId: 'UploadConsistencyFindings',
          summary: "Upload a run's per-path findings (ours)",
          description:
            'Our extension, not part of the SMS API (whose endpoints it leaves unchanged): the per-path lines behind the counts, one ' +
            "line of the agent's `--report` each, as NDJSON (`application/x-ndjson`, optionally `Content-Encoding: gzip`), read as a stream. " +
            `Each line is a \`Finding\` or a \`TruncationMarker\` (the directory had more than ${FindingLimits.perDirectoryPerRun} findings in the run; the list is cut), ` +
            `at most ${FindingLimits.lineMaxBytes} bytes. Checks, in order: token or signature (403), headers (400), task (404), permission \`` +
            Actions.updateConsistencyCheckResult +
            `\` (403), the run (409 \`${ErrorCodes.FindingsWithoutResult.code}\` when no counts of it were uploaded to the task), then each line: ` +
            `a line that breaks a rule is a 400 \`SMS.1001\` naming its number and the rule; a directory without a result is a 409 \`${ErrorCodes.FindingsWithoutResult.code}\`; ` +
            `more than ${FindingLimits.perDirectoryPerRun} findings of one directory in one run is a 400. A refused or cut-off request stores nothing. ` +
            "Lines of a directory whose newest result is from another run are not kept (`superseded_dirs`). A directory's findings are those of the run " +
            'that made its newest result; they accumulate over several requests of that run, and a newer run replaces them. ' +
            `With an \`${IDEMPOTENCY_KEY_HEADER}\`, a retry with the same body (compared decompressed) is answered as the first time and stored once; ` +
            `other findings with the same key are a 409 \`SMS.1003\`; while another request holds the key (or one cut off a moment ago is being cleaned up), a 503 \`${ErrorCodes.UploadInProgress.code}\` with Retry-After. Signed with an access key, the request must send ${SDK_CONTENT_SHA256_HEADER} ` +
            '(the hex SHA-256 of the body as sent) and sign it: the body is streamed, not read first, and a body that does not match it is a 403 `SMS.9007` with nothing stored.',
          security,
          parameters: [
            taskIdParam,
            {
              ...runIdParam,
              required: true,
              description: 'The run whose findings these are: the id its counts were uploaded with.',
            },
            idempotencyKeyParam,
            {
              name: 'Content-Encoding',
              in: 'header',
              required: false,
              schema: { type: 'string', enum: ['gzip', 'identity'] },
            },
          ],
          requestBody: {
            required: true,
            content: {
              'application/x-ndjson': {
                schema: { oneOf: [ref('Finding'), ref('TruncationMarker')] },
                example:
                  '{"dir_check":"/srv/data","category":"missing","path":"a/b.txt","reason":"not at the target"}\n{"dir_check":"/srv/data","truncated":true}\n',
              },
            },
          },
          responses: {
            200: {
              description: 'Every line was read; the kept findings are stored.',
              ...json(ref('UploadFindingsResponse')),
            },
            ...errors,
            409: { description: codesFor(409), ...json(ref('ErrorResponse')) },
            503: {
              description: `${codesFor(503)} Retry after the seconds in Retry-After.`,
              ...json(ref('ErrorResponse')),
            },
          },
        },
        get: {
          operationId: 'ListConsistencyFindings',
          summary: "Read a task's current findings: a page, CSV, or a re-sync list (ours)",
          description:
            "Our extension. The task's current findings (of the run that made each directory's newest result), ordered by `dir_check`, then as the agent sent them. " +
            `A JSON page of \`limit\` (1..${FindingLimits.pageMax}, default ${FindingLimits.pageDefault}); pass \`next_marker\` back as \`marker\` for the next. ` +
            '`Accept: text/csv` (or `format=csv`) streams every match as CSV with a header row (`dir_check,category,path,path_base64,reason,run_id,finished_time`); ' +
            "a cell of `dir_check`, `path` or `reason` that starts with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'` against formula injection (the other columns are never changed). " +
            `\`format=files-from\` streams the paths to copy again (default categories: ${RESYNC_CATEGORIES.join(', ')}) relative to \`dir_check\`, their own bytes, ` +
            'one a line for `rsync --files-from`, or NUL-separated with `null=1` for `rsync --from0` (a name holding a newline is only in the NUL-separated list). ' +
            'A re-sync list needs `dir_check` when the task has findings in more than one directory. Permission `' +
            Actions.getConsistencyCheckResult +
            '`.',
          security,
          parameters: [
            taskIdParam,
            {
              name: 'dir_check',
              in: 'query',
              schema: { type: 'string', maxLength: Limits.dirCheckMaxLength },
            },
            {
              name: 'category',
              in: 'query',
              description: `One or more of ${FINDING_CATEGORIES.join(', ')}, comma-separated.`,
              schema: { type: 'string' },
            },
            {
              name: 'limit',
              in: 'query',
              schema: {
                type: 'integer',
                minimum: 1,
                maximum: FindingLimits.pageMax,
                default: FindingLimits.pageDefault,
              },
            },
            {
              name: 'marker',
              in: 'query',
              schema: { type: 'string', maxLength: FindingLimits.markerMaxLength },
            },
            { name: 'format', in: 'query', schema: { type: 'string', enum: ['json', 'csv', 'files-from'] } },
            {
              name: 'null',
              in: 'query',
              description: 'files-from: 1 for NUL-separated paths.',
              schema: { type: 'string', enum: ['0', '1'] },
            },
          ],
          responses: {
            200: {
              description: 'A page (JSON), CSV, or a re-sync list.',
              content: {
                'application/json': { schema: ref('FindingsPage') },
                'text/csv': { schema: { type: 'string' } },
                'text/plain': { schema: { type: 'string' } },
                'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
              },
            },
            ...errors,
          },
        },
      },
      '/v3/tasks/{task_id}/configuration-setting': {
        get: {
          operationId: 'ShowConfigurationSetting',
          summary: "Read a task's agent configuration",
          description: `Every key set, in the order ${CONFIG_KEYS.join(', ')}. Permission \`${Actions.getConfiguration}\` (every role).`,
          security,
          parameters: [taskIdParam],
          responses: {
            200: { description: 'The configuration.', ...json(ref('ConfigurationResponse')) },
            ...errors,
          },
        },
        post: {
          operationId: 'UpdateConfigurationSetting',
          summary: "Set keys of a task's agent configuration",
          description:
            `The SMS shape \`{ configurations: [{ config_key, config_value }] }\`, 1..${CONFIG_KEYS.length} entries, each key once. ` +
            `The page's keys: ${SMS_CONFIG_KEYS.join(', ')}; ours (extensions): ${OUR_CONFIG_KEYS.join(', ')}. Each value is a string in an exact format: ` +
            'CONSISTENCY_DIR a JSON array of absolute directories as on the source (`["/root/data"]`); CONSISTENCY_MODE `quick` or `content`; ' +
            "CONSISTENCY_RECHECK `true` or `false`; CONSISTENCY_SOURCE an absolute path (where the source root is on the agent's host, default `/`); " +
            'CONSISTENCY_TARGET an absolute path, `[user@]host:/path` or `ssh://[user@]host[:port]/path`; CONSISTENCY_EXCLUDE a JSON array of patterns; ' +
            'CONSISTENCY_METADATA a JSON array of `mode`, `uid`, `gid`; CONSISTENCY_SCHEDULE a cron expression of 5 or 6 fields; CONSISTENCY_TIMEZONE an IANA zone (default UTC). ' +
            `A value \`""\` removes its key. An unknown key or a bad value is a 400 naming it, and nothing is set. Permission \`${Actions.updateConfiguration}\` (admins).`,
          security,
          parameters: [taskIdParam],
          requestBody: { required: true, ...json(ref('UpdateConfigurationRequest')) },
          responses: {
            200: { description: 'Set.', ...json(ref('UpdateConsistencyResultResponse')) },
            ...errors,
          },
        },
      },
      '/v3/tasks/{task_id}/consistency-check': {
        post: {
          operationId: 'RequestConsistencyCheck',
          summary: 'Ask for a verification of the task (ours: "Verify now")',
          description:
            'A pending request, which the next agent daemon that polls takes. At most one request of a task is open (pending or running): ' +
            `while one is, it is answered (200) instead of a new one (201). Permission \`${Actions.requestConsistencyCheck}\` (admins).`,
          security,
          parameters: [taskIdParam],
          responses: {
            201: { description: 'A new request.', ...json(ref('VerificationRequest')) },
            200: { description: 'The request already open.', ...json(ref('VerificationRequest')) },
            ...errors,
          },
        },
      },
      '/v3/tasks/{task_id}/consistency-checks': {
        get: {
          operationId: 'ListConsistencyChecks',
          summary: "A task's verification requests, newest first (ours)",
          security,
          parameters: [
            taskIdParam,
            {
              name: 'limit',
              in: 'query',
              schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
            },
          ],
          responses: { 200: { description: 'The requests.', ...json(ref('VerificationList')) }, ...errors },
        },
      },
      '/v3/consistency-checks': {
        get: {
          operationId: 'PollConsistencyChecks',
          summary: "The pending verification requests of the caller's project (ours; agents' daemons)",
          description:
            `Oldest first. With \`wait\` (0..${VerificationLimits.waitSecondsMax} s), waits until one appears or the time is up (a long poll). ` +
            `Running requests whose lease ran out are pending again. Permission \`${Actions.runConsistencyCheck}\` (agents, admins).`,
          security,
          parameters: [
            {
              name: 'wait',
              in: 'query',
              schema: { type: 'integer', minimum: 0, maximum: VerificationLimits.waitSecondsMax },
            },
          ],
          responses: {
            200: { description: 'Pending requests (maybe none).', ...json(ref('VerificationList')) },
            ...errors,
          },
        },
      },
      '/v3/consistency-checks/{id}/claim': {
        post: {
          operationId: 'ClaimConsistencyCheck',
          summary: 'Take a pending request with a lease (ours)',
          description:
            `Running, held by the caller for \`lease_seconds\` (${VerificationLimits.leaseSecondsMin}..${VerificationLimits.leaseSecondsMax}); the answer's \`lease_id\` names the lease in the calls that follow. ` +
            `A request that is not pending (another agent holds it, or it ended) is a 409 \`${ErrorCodes.LeaseHeld.code}\`. Renew the lease before it runs out, or the request goes back to pending.`,
          security,
          parameters: [verificationIdParam],
          requestBody: { required: true, ...json(ref('ClaimRequest')) },
          responses: {
            200: { description: 'Taken.', ...json(ref('ClaimResponse')) },
            ...errors,
            409: { description: codesFor(409), ...json(ref('ErrorResponse')) },
          },
        },
      },
      '/v3/consistency-checks/{id}/heartbeat': {
        post: {
          operationId: 'RenewConsistencyCheckLease',
          summary: 'Renew the lease, and name the run once it has one (ours)',
          security,
          parameters: [verificationIdParam],
          requestBody: { required: true, ...json(ref('HeartbeatRequest')) },
          responses: {
            200: { description: 'Renewed.', ...json(ref('VerificationRequest')) },
            ...errors,
            409: {
              description: `\`${ErrorCodes.LeaseHeld.code}\`: the lease is no longer this one; stop working on the request.`,
              ...json(ref('ErrorResponse')),
            },
          },
        },
      },
      '/v3/consistency-checks/{id}/finish': {
        post: {
          operationId: 'FinishConsistencyCheck',
          summary: 'End a request: done with its run and verdict, or failed with the error (ours)',
          description: 'The same finish sent again (its answer lost) is answered again.',
          security,
          parameters: [verificationIdParam],
          requestBody: { required: true, ...json(ref('FinishRequest')) },
          responses: {
            200: { description: 'Ended.', ...json(ref('VerificationRequest')) },
            ...errors,
            409: { description: codesFor(409), ...json(ref('ErrorResponse')) },
          },
        },
      },
      '/v3/consistency-checks/{id}/release': {
        post: {
          operationId: 'ReleaseConsistencyCheck',
          summary: 'Hand a running request back: pending again (ours)',
          security,
          parameters: [verificationIdParam],
          requestBody: { required: true, ...json(ref('ReleaseRequest')) },
          responses: {
            200: { description: 'Pending again.', ...json(ref('VerificationRequest')) },
            ...errors,
            409: { description: codesFor(409), ...json(ref('ErrorResponse')) },
          },
        },
      },
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
            409: { description: codesFor(409), ...json(ref('ErrorResponse')) },
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
          summary: 'The storage answers',
          responses: { 200: { description: 'ready' }, 503: { description: 'not ready' } },
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
