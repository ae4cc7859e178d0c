/** One entry of the error catalog: the code we send, its HTTP status, and what it means. */
export interface ErrorCodeEntry {
  readonly code: `SMS.${string}`;
  readonly status: number;
  readonly meaning: string;
}

/**
 * Every `SMS.NNNN` code this project returns, one meaning per code. `SMS.9004`
 * (permission denied) is the page's own 403 example; `SMS.2004`..`SMS.2007`
 * follow the codes the public SMS service uses; the rest are ours.
 */
export const ErrorCodes = {
  InvalidParameter: {
    code: 'SMS.1001',
    status: 400,
    meaning:
      'A path parameter, query parameter, header or body field is missing or breaks a rule; the message names the field and the rule.',
  },
  MalformedJson: {
    code: 'SMS.1002',
    status: 400,
    meaning: 'The request body is not valid JSON (or not UTF-8).',
  },
  IdempotencyKeyReused: {
    code: 'SMS.1003',
    status: 409,
    meaning:
      'The Idempotency-Key was already used for this task with a different body; use a new key for a new upload.',
  },
  MethodNotAllowed: {
    code: 'SMS.1004',
    status: 405,
    meaning: 'The path exists but does not accept this HTTP method.',
  },
  AlreadyExists: {
    code: 'SMS.1005',
    status: 409,
    meaning: 'An entity with that name already exists.',
  },
  AccessKeyLimitReached: {
    code: 'SMS.1006',
    status: 409,
    meaning:
      'The user already has 2 access keys, the most allowed; delete one (DELETE /v3.0/OS-CREDENTIAL/credentials/{access_key}) before creating another.',
  },
  FindingsWithoutResult: {
    code: 'SMS.1007',
    status: 409,
    meaning:
      "Findings name a directory that has no result in this task yet: upload the run's counts first (POST /v3/tasks/{task_id}/consistency-result with the same X-Sms-Run-Id), then its findings.",
  },
  LeaseHeld: {
    code: 'SMS.1008',
    status: 409,
    meaning:
      'The verification request is held by another agent, or the lease named is no longer this one (it expired and the request went back to pending); take another request.',
  },
  RequestBodyTooLarge: {
    code: 'SMS.2004',
    status: 400,
    meaning: 'The request body is larger than the server accepts (far above the largest valid body).',
  },
  ContentTypeMissing: {
    code: 'SMS.2005',
    status: 400,
    meaning: 'The request has a body but no Content-Type header; send application/json.',
  },
  ContentTypeNotJson: {
    code: 'SMS.2006',
    status: 400,
    meaning: 'The Content-Type is not application/json.',
  },
  InternalError: {
    code: 'SMS.2007',
    status: 500,
    meaning:
      'An unexpected error in the server; nothing was stored. The request id in X-Request-Id finds it in the log.',
  },
  StorageUnavailable: {
    code: 'SMS.2008',
    status: 500,
    meaning:
      'The storage could not be read or written (database down, disk full); nothing was stored. Retry later.',
  },
  ServiceUnavailable: {
    code: 'SMS.2009',
    status: 503,
    meaning:
      'The server is shutting down and takes no new requests; retry against another instance or later.',
  },
  UploadInProgress: {
    code: 'SMS.2010',
    status: 503,
    meaning:
      'An upload with this Idempotency-Key is being stored right now (or was cut off a moment ago and is being cleaned up); retry after the seconds in Retry-After.',
  },
  TaskNotFound: {
    code: 'SMS.3001',
    status: 404,
    meaning: 'No task has this id.',
  },
  ResourceNotFound: {
    code: 'SMS.3002',
    status: 404,
    meaning: 'No such path, user or project.',
  },
  AuthenticationFailed: {
    code: 'SMS.9001',
    status: 403,
    meaning:
      'Authentication failed: the X-Auth-Token is missing, malformed, expired or revoked. Get a new token from POST /v3/auth/tokens.',
  },
  InvalidCredentials: {
    code: 'SMS.9002',
    status: 401,
    meaning: 'The user name, password or project of a token request is wrong.',
  },
  PermissionDenied: {
    code: 'SMS.9004',
    status: 403,
    meaning: 'The token is valid, but its role in its project does not allow this action on this resource.',
  },
  TooManyRequests: {
    code: 'SMS.9005',
    status: 429,
    meaning:
      'Too many failed sign-ins for this user or from this address; wait for the seconds in Retry-After.',
  },
  AccessKeyInvalid: {
    code: 'SMS.9006',
    status: 403,
    meaning:
      'The access key in Authorization is unknown, inactive or deleted (or its user was removed); sign with an active key from POST /v3.0/OS-CREDENTIAL/credentials or sms-server access-key create.',
  },
  SignatureMismatch: {
    code: 'SMS.9007',
    status: 403,
    meaning:
      'The SDK-HMAC-SHA256 signature does not match the request: sign the method, path, query, signed headers and body with the secret key of this access key, and send them unchanged.',
  },
  SdkDateInvalid: {
    code: 'SMS.9008',
    status: 403,
    meaning:
      "X-Sdk-Date is missing, not in the form 20261204T185512Z (UTC), or more than 15 minutes from the server's clock; set the client's clock right (NTP) and sign again.",
  },
  AuthorizationMalformed: {
    code: 'SMS.9009',
    status: 403,
    meaning:
      'The Authorization header is not "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex", a signed header or X-Project-Id is missing from the signature, or the request carries both a signature and an X-Auth-Token; send exactly one of them.',
  },
  ProjectNotAllowed: {
    code: 'SMS.9010',
    status: 403,
    meaning:
      "The access key's user has no role in the project of X-Project-Id (or, without that header, is in several projects); send the id of one of the user's projects in X-Project-Id.",
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCodeName = keyof typeof ErrorCodes;
export type ErrorCode = (typeof ErrorCodes)[ErrorCodeName]['code'];

const byCode = new Map<string, ErrorCodeEntry & { name: ErrorCodeName }>(
  Object.entries(ErrorCodes).map(([name, entry]) => [entry.code, { ...entry, name: name as ErrorCodeName }]),
);

/** The catalog entry of an `SMS.NNNN` code, or undefined for a code this project never sends. */
export function findErrorCode(code: string): (ErrorCodeEntry & { name: ErrorCodeName }) | undefined {
  return byCode.get(code);
}
