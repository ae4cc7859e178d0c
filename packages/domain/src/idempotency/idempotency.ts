import * as v from 'valibot';

/**
 * The header a client sends with an upload so that a retry after a lost
 * response cannot store the same result twice. The same key with the same
 * body is answered as the first time; the same key with another body is a conflict.
 */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** 1..255 printable ASCII characters (a UUID is the usual choice). */
export const IdempotencyKeySchema = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(255),
  v.regex(/^[\x21-\x7e]+$/, 'expected printable ASCII characters without spaces'),
);

export type IdempotencyKey = v.InferOutput<typeof IdempotencyKeySchema>;

/** The header that carries a request id; echoed by the server, or made up when absent. */
export const REQUEST_ID_HEADER = 'X-Request-Id';
