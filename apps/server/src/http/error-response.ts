import {
  AuthenticationError,
  ErrorCodes,
  type ErrorResponse,
  type ForbiddenErrorResponse,
  isSmsError,
  Limits,
  PermissionDeniedError,
  permissionDeniedSentence,
  type SmsError,
  TooManyRequestsError,
} from '@sms/domain';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from './context.js';

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The documented 403 body: the reason, readable only by an admin, is in `encoded_authorization_message`. */
function forbiddenBody(c: Context<AppEnv>, error: SmsError): ForbiddenErrorResponse {
  const principal = c.get('principal');
  const detail =
    error instanceof PermissionDeniedError
      ? permissionDeniedSentence(error.action, error.resource)
      : error.message;
  const reason =
    error instanceof PermissionDeniedError || error instanceof AuthenticationError
      ? error.reason
      : error.message;
  const encoded = c.get('deps').auth.encodeDetails({
    reason,
    ...(error instanceof PermissionDeniedError ? { action: error.action, resource: error.resource } : {}),
    ...(principal ? { user: principal.userName, project: principal.projectName, role: principal.role } : {}),
    request_id: c.get('requestId'),
  });
  return {
    error_code: error.code,
    error_msg: clip(error.message, Limits.forbiddenErrorMsgMaxLength),
    encoded_authorization_message: encoded,
    error_param: [clip(detail, Limits.encodedAuthorizationMessageMaxLength)],
    details: [
      { error_code: error.code, error_msg: clip(detail, Limits.encodedAuthorizationMessageMaxLength) },
    ],
  };
}

/**
 * Logs what the server must hear of: a domain error of status 500 or more, or
 * anything unexpected (with its stack). Client mistakes are not logged twice:
 * the request line already has their status.
 */
export function logFailure(c: Context<AppEnv>, error: unknown): void {
  if (isSmsError(error)) {
    if (error.status < 500) return;
    c.get('deps').logger.error('request failed', {
      request_id: c.get('requestId'),
      error_code: error.code,
      error: error.message,
      cause:
        (error as { cause?: unknown }).cause instanceof Error
          ? String((error as { cause: Error }).cause)
          : undefined,
    });
    return;
  }
  c.get('deps').logger.error('unexpected error', {
    request_id: c.get('requestId'),
    error: error instanceof Error ? error.message : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
}

/**
 * Every error becomes a documented body: a domain error its own code and
 * status, anything else `SMS.2007` (500) with the stack in the log only.
 */
export function errorResponse(c: Context<AppEnv>, error: unknown): Response {
  logFailure(c, error);
  if (isSmsError(error)) {
    if (error.status === 403) return c.json(forbiddenBody(c, error), 403);
    if (error instanceof TooManyRequestsError) c.header('Retry-After', String(error.retryAfterSeconds));
    // another request holds the upload's key for a moment: clients that honour Retry-After come back
    if (error.code === ErrorCodes.UploadInProgress.code) c.header('Retry-After', '2');
    const body: ErrorResponse = {
      error_code: error.code,
      error_msg: clip(error.message, Limits.errorMsgMaxLength),
    };
    return c.json(body, error.status as ContentfulStatusCode);
  }
  const body: ErrorResponse = {
    error_code: ErrorCodes.InternalError.code,
    error_msg: `Internal error; nothing was stored. Quote request id ${c.get('requestId')} when reporting it.`,
  };
  return c.json(body, 500);
}
