import {
  Actions,
  CONFIG_KEYS,
  ErrorCodes,
  FINDING_CATEGORIES,
  FindingLimits,
  IDEMPOTENCY_KEY_HEADER,
  Limits,
  OUR_CONFIG_KEYS,
  RESYNC_CATEGORIES,
  SDK_CONTENT_SHA256_HEADER,
  SMS_CONFIG_KEYS,
  VerificationLimits,
} from '@sms/domain';
import {
  codesFor,
  codesOf,
  errors,
  idempotencyKeyParam,
  json,
  ref,
  runIdParam,
  security,
  taskIdParam,
  verificationIdParam,
} from './openapi-parts.js';

/**
 * The paths of our extensions beside the SMS API: a run's findings, a task's configuration,
 * verification requests and their queue.
 */
export function extensionPaths() {
  return {
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
          409: {
            description: codesOf(ErrorCodes.IdempotencyKeyReused, ErrorCodes.FindingsWithoutResult),
            ...json(ref('ErrorResponse')),
          },
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
          '`Accept: text/csv` (or `format=csv`) streams every match as CSV with a header row (`dir_check,category,path,path_base64,reason,run_id,finished_time`; a cell holding a comma, quote, line break, tab or `;` is quoted); ' +
          "a cell of `dir_check`, `path` or `reason` that starts with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'` against formula injection, as is each part of one after a `;` or tab that starts so (the other columns are never changed). " +
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
          {
            name: 'bom',
            in: 'query',
            description:
              "csv: 1 to start with a UTF-8 byte order mark (EF BB BF), which Excel needs to read names outside ASCII; default 0. The dashboard's CSV download has it.",
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
          "CONSISTENCY_TARGET an absolute path, `[user@]host:/path` or `ssh://[user@]host[:port]/path`; CONSISTENCY_EXCLUDE a JSON array of patterns the agent takes (an empty one, rsync's `+ ` include rule, a backslash beside wildcards and an unknown `[:class:]` are refused); " +
          'CONSISTENCY_METADATA a JSON array of `mode`, `uid`, `gid`; CONSISTENCY_SCHEDULE a cron expression of 5 or 6 fields; CONSISTENCY_TIMEZONE an IANA zone (default UTC); ' +
          "CONSISTENCY_AGENT the name of the one agent that may take the task's verification requests (its daemon's `--name`, default the source host's name; unset: any agent of the project). " +
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
          `Oldest first. With \`wait\` (0..${VerificationLimits.waitSecondsMax} s), waits until one appears or the time is up (a long poll): answered at once when this server makes one, within about two seconds when another server on the same database does or a lease runs out. ` +
          'Only the requests the caller may take: those of tasks without a `CONSISTENCY_AGENT`, and, with `agent`, those of tasks whose `CONSISTENCY_AGENT` is that name. ' +
          `Running requests whose lease ran out are pending again. Permission \`${Actions.runConsistencyCheck}\` (agents, admins).`,
        security,
        parameters: [
          {
            name: 'wait',
            in: 'query',
            schema: { type: 'integer', minimum: 0, maximum: VerificationLimits.waitSecondsMax },
          },
          {
            name: 'agent',
            in: 'query',
            description: "The polling agent's name (its daemon's `--name`, default its host name).",
            schema: { type: 'string', minLength: 1, maxLength: VerificationLimits.agentMaxLength },
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
          `A request that is not pending (another agent holds it, or it ended), or whose task's \`CONSISTENCY_AGENT\` names another agent than \`agent\`, is a 409 \`${ErrorCodes.LeaseHeld.code}\`. Renew the lease before it runs out, or the request goes back to pending.`,
        security,
        parameters: [verificationIdParam],
        requestBody: { required: true, ...json(ref('ClaimRequest')) },
        responses: {
          200: { description: 'Taken.', ...json(ref('ClaimResponse')) },
          ...errors,
          409: { description: codesOf(ErrorCodes.LeaseHeld), ...json(ref('ErrorResponse')) },
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
          409: { description: codesOf(ErrorCodes.LeaseHeld), ...json(ref('ErrorResponse')) },
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
          409: { description: codesOf(ErrorCodes.LeaseHeld), ...json(ref('ErrorResponse')) },
        },
      },
    },
  };
}
