import * as v from 'valibot';
import { Limits } from '../limits/index.js';

const ErrorCodeField = v.pipe(v.string(), v.maxLength(Limits.errorCodeMaxLength));

/** The body of every 400, 404 and 500 answer (and of our other error statuses). */
export const ErrorResponseSchema = v.object({
  error_code: ErrorCodeField,
  error_msg: v.pipe(v.string(), v.maxLength(Limits.errorMsgMaxLength)),
});

export type ErrorResponse = v.InferOutput<typeof ErrorResponseSchema>;

const LongText = v.pipe(v.string(), v.maxLength(Limits.encodedAuthorizationMessageMaxLength));

/** One entry of a 403 body's `details`. */
export const ForbiddenErrorDetailSchema = v.object({
  error_code: LongText,
  error_msg: LongText,
});

/** The body of a 403 answer, exactly as the page's limits say. */
export const ForbiddenErrorResponseSchema = v.object({
  error_code: ErrorCodeField,
  error_msg: v.pipe(v.string(), v.maxLength(Limits.forbiddenErrorMsgMaxLength)),
  encoded_authorization_message: LongText,
  error_param: v.pipe(v.array(LongText), v.minLength(1), v.maxLength(Limits.forbiddenListMaxItems)),
  details: v.pipe(
    v.array(ForbiddenErrorDetailSchema),
    v.minLength(1),
    v.maxLength(Limits.forbiddenListMaxItems),
  ),
});

export type ForbiddenErrorResponse = v.InferOutput<typeof ForbiddenErrorResponseSchema>;
