import { createRequire } from 'node:module';
import { SIGNATURE_ALGORITHM } from '../credential/credential.js';

/**
 * node:crypto, loaded at the first signature rather than with this module: the agent's bundle
 * carries this module and most of its runs sign nothing (loading crypto is a few milliseconds of a
 * start). `process.getBuiltinModule` is in Node.js 20.16 and later and 22.3 and later; on 21 and
 * 22.0 to 22.2, which the package also supports, `require` loads it.
 */
let fallback: NodeJS.Require | undefined;
function crypto(): typeof import('node:crypto') {
  if (typeof process.getBuiltinModule === 'function') return process.getBuiltinModule('node:crypto');
  fallback ??= createRequire(import.meta.url);
  return fallback('node:crypto');
}

/**
 * The pure parts of the Huawei Cloud SDKs' request signature (`SDK-HMAC-SHA256`,
 * API Gateway's AK/SK signing), built exactly as the official Node.js SDK
 * core's `AKSKSigner` builds it (`@huaweicloud/huaweicloud-sdk-core`,
 * auth/AKSKSigner); the server checks signatures and `@sms/client` makes them
 * with these functions. Served alone at `@sms/domain/signature` (it needs
 * `node:crypto`; the rest of the package does not):
 *
 *     canonical request = method \n canonical URI \n canonical query \n
 *                         canonical headers (each "name:value\n") \n signed headers \n payload hash
 *     string to sign    = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(canonical request))
 *     signature         = hex(hmac-sha256(secret key, string to sign))
 */

const SDK_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** The SHA-256 of nothing: what the SDKs sign for a request without a body. */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A time as the SDKs write `X-Sdk-Date`: `20261204T185512Z` (UTC, whole seconds). */
export function formatSdkDate(time: number): string {
  return new Date(time)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** `X-Sdk-Date` (`20261204T185512Z`, UTC) in ms since the epoch, or undefined when it is not one. */
export function parseSdkDate(value: string): number | undefined {
  const match = SDK_DATE.exec(value);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const time = Date.UTC(year, month - 1, day, hour, minute, second);
  // 20261331T…: Date.UTC would roll it over into another day; the SDKs never send one
  return formatSdkDate(time) === value ? time : undefined;
}

/**
 * The SDK's `urlEncode`: UTF-8, every byte but `A-Z a-z 0-9 - _ . ~` as
 * `%XX` (capitals). `encodeURIComponent` leaves `! ' ( ) *` alone as well.
 */
export function sdkUrlEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The SDK's canonical URI: the path as sent (still percent-encoded), each
 * segment encoded again, and a trailing `/` (the SDK signs `/v3/tasks/` for
 * `/v3/tasks`).
 */
export function canonicalUri(rawPath: string): string {
  const encoded = rawPath.split('/').map(sdkUrlEncode).join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
}

/**
 * The SDK's canonical query string: parameters sorted by name (decoded, in
 * code-unit order), the values of a repeated name sorted, each `name=value`
 * encoded as `sdkUrlEncode` does, joined by `&`.
 */
export function canonicalQueryString(rawQuery: string): string {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(rawQuery)) {
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  }
  const parts: string[] = [];
  for (const name of [...values.keys()].sort()) {
    const list = values.get(name) ?? [];
    if (list.length > 1) list.sort();
    for (const value of list) parts.push(`${sdkUrlEncode(name)}=${sdkUrlEncode(value)}`);
  }
  return parts.join('&');
}

/** What the signature covers, read off the request. */
export interface SignedRequestParts {
  method: string;
  /** The path as sent, percent-encoding kept. */
  rawPath: string;
  /** The query string as sent, without `?`. */
  rawQuery: string;
  /** The value of a request header (names in lower case), or undefined. */
  header(name: string): string | undefined;
  /** The payload hash: `X-Sdk-Content-Sha256` when the client sent it, else hex SHA-256 of the body. */
  payloadHash: string;
  /** `X-Sdk-Date` as sent. */
  date: string;
}

export function sha256Hex(data: string | Uint8Array): string {
  return crypto().createHash('sha256').update(data).digest('hex');
}

/**
 * The canonical request for the signed headers in `order` (lower-case names),
 * with `signedHeaderList` (`a;b`, as written in `Authorization`) verbatim.
 * The Node.js SDK writes the headers' lines in `localeCompare` order and the
 * signed-header list in code-unit order (they differ only for names with `_`
 * against `-` or a digit); the other SDKs write both in the list's order.
 */
export function canonicalRequest(
  request: Omit<SignedRequestParts, 'date'>,
  signedHeaderList: string,
  order: readonly string[],
): string {
  const headers = order.map((name) => `${name}:${request.header(name) ?? ''}\n`).join('');
  return [
    request.method,
    canonicalUri(request.rawPath),
    canonicalQueryString(request.rawQuery),
    headers,
    signedHeaderList,
    request.payloadHash,
  ].join('\n');
}

/** The signature of a canonical request with a secret key, as the SDKs compute it. */
export function signCanonicalRequest(canonical: string, date: string, secretKey: string): string {
  const stringToSign = `${SIGNATURE_ALGORITHM}\n${date}\n${sha256Hex(canonical)}`;
  return crypto().createHmac('sha256', secretKey).update(stringToSign).digest('hex');
}

/** A request to sign, as it will be sent. */
export interface RequestToSign {
  method: string;
  /** The whole URL as sent: its host, path and query are signed. */
  url: string | URL;
  /** The headers to sign besides `host` and `x-sdk-date` (e.g. `content-type`, `x-project-id`). */
  headers: Readonly<Record<string, string>>;
  /** The hex SHA-256 of the body (`EMPTY_BODY_SHA256` for none). */
  payloadHash: string;
}

/**
 * Signs a request as the official SDKs' `AKSKSigner` does: the headers to add
 * (`X-Sdk-Date` and `Authorization`); `host` is signed as the URL's host,
 * which `fetch` sends. Every header name is signed in lower case, in
 * code-unit order.
 * @example const { 'X-Sdk-Date': date, Authorization } = signRequest(request, { accessKey, secretKey });
 */
export function signRequest(
  request: RequestToSign,
  key: { accessKey: string; secretKey: string },
  time: number = Date.now(),
): { 'X-Sdk-Date': string; Authorization: string } {
  const url = new URL(request.url);
  const date = formatSdkDate(time);
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(request.headers)) headers.set(name.toLowerCase(), value);
  headers.set('host', url.host);
  headers.set('x-sdk-date', date);
  const order = [...headers.keys()].sort();
  const signedHeaderList = order.join(';');
  const canonical = canonicalRequest(
    {
      method: request.method.toUpperCase(),
      rawPath: url.pathname,
      rawQuery: url.search.slice(1),
      header: (name) => headers.get(name),
      payloadHash: request.payloadHash,
    },
    signedHeaderList,
    order,
  );
  const signature = signCanonicalRequest(canonical, date, key.secretKey);
  return {
    'X-Sdk-Date': date,
    Authorization: `${SIGNATURE_ALGORITHM} Access=${key.accessKey}, SignedHeaders=${signedHeaderList}, Signature=${signature}`,
  };
}
