import type * as v from 'valibot';
import { formatIssues } from '../issues/index.js';
import { type ErrorCodeEntry, ErrorCodes } from './error-codes.js';

/**
 * The base of the errors that services throw and that the server turns into
 * documented bodies: each carries its catalog entry (code and status).
 */
export class SmsError extends Error {
  override name = 'SmsError';
  readonly code: ErrorCodeEntry['code'];
  readonly status: number;

  constructor(entry: ErrorCodeEntry, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = entry.code;
    this.status = entry.status;
  }
}

/** The input broke a rule of the schemas; the message names each field and rule. */
export class RequestValidationError extends SmsError {
  override name = 'RequestValidationError';
  readonly issues: readonly v.BaseIssue<unknown>[];

  constructor(issues: readonly v.BaseIssue<unknown>[], options?: { root?: string }) {
    super(ErrorCodes.InvalidParameter, formatIssues(issues, options));
    this.issues = issues;
  }
}

/** An entity that does not exist: a task answers `SMS.3001`, anything else `SMS.3002`. */
export class NotFoundError extends SmsError {
  override name = 'NotFoundError';
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(
      entity === 'task' ? ErrorCodes.TaskNotFound : ErrorCodes.ResourceNotFound,
      `The ${entity} ${JSON.stringify(id)} was not found.`,
    );
  }
}

/**
 * The sentence of the page's 403 example, for one action and resource:
 * "You do not have permission to perform action X on resource Y."
 */
export function permissionDeniedSentence(action: string, resource: string): string {
  return `You do not have permission to perform action ${action} on resource ${resource}.`;
}

/** A valid token whose role does not allow `action` on `resource` (`SMS.9004`). */
export class PermissionDeniedError extends SmsError {
  override name = 'PermissionDeniedError';
  constructor(
    readonly action: string,
    readonly resource: string,
    /** Why, for the encrypted authorization message only (never sent in clear). */
    readonly reason = 'role does not allow the action',
  ) {
    super(
      ErrorCodes.PermissionDenied,
      `The current account does not have the permission to execute policy. ${permissionDeniedSentence(action, resource)}`,
    );
  }
}

/**
 * The caller is not authenticated: by default the token is missing, malformed,
 * expired or revoked (`SMS.9001`); a signed request names its own code
 * (`SMS.9006`..`SMS.9010`) and says what to do in `message`.
 */
export class AuthenticationError extends SmsError {
  override name = 'AuthenticationError';
  constructor(
    /** Why, for the encrypted authorization message only (never sent in clear). */
    readonly reason: string,
    entry: ErrorCodeEntry = ErrorCodes.AuthenticationFailed,
    message = 'Authentication failed: the X-Auth-Token is missing, invalid, expired or revoked.',
  ) {
    super(entry, message);
  }
}

/** Storage could not be read or written (`SMS.2008`). */
export class StorageError extends SmsError {
  override name = 'StorageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.StorageUnavailable, message, options);
  }
}

/** Too many failed attempts (`SMS.9005`, 429); `retryAfterSeconds` goes into `Retry-After`. */
export class TooManyRequestsError extends SmsError {
  override name = 'TooManyRequestsError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(ErrorCodes.TooManyRequests, message);
  }
}

/** True for any SmsError, also one made in another realm or copy of this package. */
export function isSmsError(value: unknown): value is SmsError {
  return (
    value instanceof SmsError ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as SmsError).code === 'string' &&
      typeof (value as SmsError).status === 'number' &&
      (value as SmsError).code.startsWith('SMS.'))
  );
}
