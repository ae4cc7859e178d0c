import {
  ErrorCodes,
  IDEMPOTENCY_KEY_HEADER,
  Limits,
  PROJECT_ID_HEADER,
  RUN_ID_HEADER,
  SDK_DATE_HEADER,
  SDK_DATE_SKEW_SECONDS,
  SIGNATURE_ALGORITHM,
} from '@sms/domain';

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: object) => ({ content: { 'application/json': { schema } } });
export const codesFor = (status: number) =>
  codesOf(...Object.values(ErrorCodes).filter((e) => e.status === status));

/** The codes given, with their meanings: a route's own subset of a status's codes. */
export const codesOf = (...entries: readonly { code: string; meaning: string }[]) =>
  entries.map((e) => `\`${e.code}\` ${e.meaning}`).join(' ');

export const errors = {
  400: { description: `The request is invalid. ${codesFor(400)}`, ...json(ref('ErrorResponse')) },
  403: {
    description: `Authentication failed or permission denied. ${codesFor(403)}`,
    ...json(ref('ForbiddenErrorResponse')),
  },
  404: { description: `Not found. ${codesFor(404)}`, ...json(ref('ErrorResponse')) },
  // a request signed with an access key whose failed signatures (or its address's) passed the limits
  429: {
    description: `Too many failed sign-ins for the access key or from the address; wait for the seconds in Retry-After. ${codesFor(429)}`,
    ...json(ref('ErrorResponse')),
  },
  500: {
    description: `Server or storage failure; nothing was stored. ${codesFor(500)}`,
    ...json(ref('ErrorResponse')),
  },
  503: {
    description: `Not taken now; retry after the seconds in Retry-After, or against another instance. ${codesOf(ErrorCodes.ServiceUnavailable)}`,
    ...json(ref('ErrorResponse')),
  },
};
export const taskIdParam = {
  name: 'task_id',
  in: 'path',
  required: true,
  description: `Task ID. ${1}..${Limits.taskIdMaxLength} characters.`,
  schema: { type: 'string', minLength: 1, maxLength: Limits.taskIdMaxLength },
};
export const idempotencyKeyParam = {
  name: IDEMPOTENCY_KEY_HEADER,
  in: 'header',
  required: false,
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
};
export const runIdParam = {
  name: RUN_ID_HEADER,
  in: 'header',
  required: false,
  schema: { type: 'string', format: 'uuid' },
};
export const verificationIdParam = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The verification request id (a UUID).',
  schema: { type: 'string', format: 'uuid' },
};
/** Every protected route takes either a token or an access key's signature (never both). */
export const security = [{ token: [] }, { accessKey: [] }];
export const accessKeyParam = {
  name: 'access_key',
  in: 'path',
  required: true,
  description: 'The access key id (AK): 20 capital letters and digits.',
  schema: { type: 'string', pattern: '^[A-Z0-9]{20}$' },
};
export const SIGNING =
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
