import type * as v from 'valibot';

const BRAND = Symbol.for('@sms/client/error');

type Kind = 'api' | 'forbidden' | 'validation' | 'network' | 'response';

function hasKind(value: unknown, kinds: readonly Kind[]): boolean {
  const kind = (value as { [BRAND]?: Kind } | null)?.[BRAND];
  return typeof value === 'object' && value !== null && kind !== undefined && kinds.includes(kind);
}

/**
 * The base of every error the client throws. Each subclass says what kind of
 * failure it was: the server said no (`SmsApiError`), the input was invalid
 * before sending (`SmsValidationError`), the network failed (`SmsNetworkError`),
 * or the response broke the contract (`SmsResponseError`).
 */
export class SmsClientError extends Error {
  override name = 'SmsClientError';
  declare readonly [BRAND]: Kind;
}

/** Details of an HTTP error answer, as the server sent them. */
export interface SmsApiErrorDetails {
  status: number;
  errorCode: string | undefined;
  errorMsg: string | undefined;
  requestId: string | undefined;
  body: unknown;
  /** The answer's `Retry-After`, in milliseconds (seconds or an HTTP date), when it had one. */
  retryAfterMs?: number | undefined;
}

/**
 * The server answered with an error status (4xx, 5xx).
 * @example
 * try { await client.showTask(id) } catch (e) { if (isSmsApiError(e) && e.status === 404) … }
 */
export class SmsApiError extends SmsClientError {
  override name = 'SmsApiError';
  readonly status: number;
  /** The `SMS.NNNN` code of the body, when the body had one. */
  readonly errorCode: string | undefined;
  readonly errorMsg: string | undefined;
  /** The `X-Request-Id` of the answer: quote it when asking an operator. */
  readonly requestId: string | undefined;
  /** The parsed body (or its text when it was not JSON). */
  readonly body: unknown;
  /**
   * How long the server asked to wait before trying again (its `Retry-After`, in milliseconds; 0
   * for a date already past), or undefined when it did not say: a 503 `SMS.2010` (an upload with
   * the same key being stored) says 2 s.
   */
  readonly retryAfterMs: number | undefined;

  constructor(details: SmsApiErrorDetails, options?: { cause?: unknown }) {
    super(
      `${details.status} ${details.errorCode ?? 'error'}: ${details.errorMsg ?? 'the server gave no message'}${
        details.requestId ? ` (request ${details.requestId})` : ''
      }`,
      options,
    );
    Object.defineProperty(this, BRAND, { value: 'api', configurable: true });
    this.status = details.status;
    this.errorCode = details.errorCode;
    this.errorMsg = details.errorMsg;
    this.requestId = details.requestId;
    this.body = details.body;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The longest `Retry-After` taken as said: a day (a longer one is a day). */
const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** IMF-fixdate, the HTTP date RFC 9110 says to send: `Wed, 21 Oct 2026 07:28:00 GMT`. */
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** RFC 850's date, which RFC 9110 says to accept too: `Wednesday, 21-Oct-26 07:28:00 GMT`. */
const RFC850_DATE = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`,
);
/** C's asctime() date, which RFC 9110 says to accept too (in UTC): `Wed Oct 21 07:28:00 2026`. */
const ASCTIME_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`);

/**
 * An HTTP date (RFC 9110 5.6.7: IMF-fixdate, RFC 850's, or asctime's, all in UTC) in
 * milliseconds since the epoch; undefined for anything else or a day that does not exist.
 */
export function httpDate(text: string, now = Date.now()): number | undefined {
  const parts = dateParts(text, now);
  if (!parts) return undefined;
  const [year, monthName, day, hours, minutes, seconds] = parts;
  if (hours > 23 || minutes > 59 || seconds > 60) return undefined;
  // a leap second is the second before the next minute
  const at = Date.UTC(year, MONTHS.indexOf(monthName), day, hours, minutes, Math.min(seconds, 59));
  // 31 Feb and the like roll over into the next month: not a date
  return new Date(at).getUTCDate() === day ? at : undefined;
}

/** The year, month, day, hours, minutes and seconds of an HTTP date in any of its three forms. */
function dateParts(text: string, now: number): [number, string, number, number, number, number] | undefined {
  const imf = IMF_FIXDATE.exec(text);
  if (imf) return [Number(imf[3]), imf[2]!, Number(imf[1]), +imf[4]!, +imf[5]!, +imf[6]!];
  const rfc850 = RFC850_DATE.exec(text);
  if (rfc850) {
    // a two-digit year: the latest one that ends so, not more than 50 years ahead of now
    const nowYear = new Date(now).getUTCFullYear();
    let year = nowYear - (nowYear % 100) + Number(rfc850[3]);
    if (year > nowYear + 50) year -= 100;
    return [year, rfc850[2]!, Number(rfc850[1]), +rfc850[4]!, +rfc850[5]!, +rfc850[6]!];
  }
  const asctime = ASCTIME_DATE.exec(text);
  if (asctime)
    return [
      Number(asctime[6]),
      asctime[1]!,
      Number(asctime[2]!.trim()),
      +asctime[3]!,
      +asctime[4]!,
      +asctime[5]!,
    ];
  return undefined;
}

/**
 * A `Retry-After` value in milliseconds: delay-seconds (`2`) or an HTTP date (any of RFC 9110's
 * three forms, from `now`; 0 when past), at most a day; undefined when absent or anything else
 * (`-1`, `1.5`, two values joined by a comma), which `Date.parse` alone would read as some date.
 */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Math.min(MAX_RETRY_AFTER_MS, Number(text) * 1000);
  const at = httpDate(text, now);
  return at === undefined ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - now));
}

/** A 403: authentication failed (`SMS.9001`) or permission denied (`SMS.9004`). */
export class SmsForbiddenError extends SmsApiError {
  override name = 'SmsForbiddenError';
  /** The reason, encrypted: an admin can read it (`sms-server decode`). */
  readonly encodedAuthorizationMessage: string | undefined;
  readonly errorParam: readonly string[];
  readonly details: readonly { error_code: string; error_msg: string }[];

  constructor(
    details: SmsApiErrorDetails & {
      encodedAuthorizationMessage: string | undefined;
      errorParam: readonly string[];
      details: readonly { error_code: string; error_msg: string }[];
    },
  ) {
    super(details);
    Object.defineProperty(this, BRAND, { value: 'forbidden', configurable: true });
    this.encodedAuthorizationMessage = details.encodedAuthorizationMessage;
    this.errorParam = details.errorParam;
    this.details = details.details;
  }
}

/** The input broke a rule of the API: nothing was sent. The message names each field and rule. */
export class SmsValidationError extends SmsClientError {
  override name = 'SmsValidationError';
  readonly issues: readonly v.BaseIssue<unknown>[];

  constructor(message: string, issues: readonly v.BaseIssue<unknown>[]) {
    super(message);
    Object.defineProperty(this, BRAND, { value: 'validation', configurable: true });
    this.issues = issues;
  }
}

/** The server could not be reached, the connection failed, or the request timed out (after retries). */
export class SmsNetworkError extends SmsClientError {
  override name = 'SmsNetworkError';
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    Object.defineProperty(this, BRAND, { value: 'network', configurable: true });
  }
}

/** The server answered, but not as the API promises: the contract is broken. */
export class SmsResponseError extends SmsClientError {
  override name = 'SmsResponseError';
  readonly status: number;
  readonly body: unknown;
  readonly issues: readonly v.BaseIssue<unknown>[];

  constructor(
    message: string,
    details: { status: number; body: unknown; issues: readonly v.BaseIssue<unknown>[] },
  ) {
    super(message);
    Object.defineProperty(this, BRAND, { value: 'response', configurable: true });
    this.status = details.status;
    this.body = details.body;
    this.issues = details.issues;
  }
}

/** True for any error of this client, also from another realm or another copy of the package. */
export const isSmsClientError = (value: unknown): value is SmsClientError =>
  hasKind(value, ['api', 'forbidden', 'validation', 'network', 'response']);
/** True for `SmsApiError` and `SmsForbiddenError`. */
export const isSmsApiError = (value: unknown): value is SmsApiError => hasKind(value, ['api', 'forbidden']);
export const isSmsForbiddenError = (value: unknown): value is SmsForbiddenError =>
  hasKind(value, ['forbidden']);
export const isSmsValidationError = (value: unknown): value is SmsValidationError =>
  hasKind(value, ['validation']);
export const isSmsNetworkError = (value: unknown): value is SmsNetworkError => hasKind(value, ['network']);
export const isSmsResponseError = (value: unknown): value is SmsResponseError => hasKind(value, ['response']);
