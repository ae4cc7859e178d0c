import { IncomingMessage } from 'node:http';
import { ErrorCodes, RequestValidationError, SmsError } from '@sms/domain';
import type { Context } from 'hono';
import * as v from 'valibot';
import type { AppEnv } from './context.js';

/**
 * The largest body the server reads: 1 MiB. The largest valid upload (30
 * results with 1024-character directories, every character escaped) is about
 * 200 KiB; a megabyte leaves room for whitespace and stays far from memory trouble.
 */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * `application/json`, with parameters: a charset among them must be UTF-8 (the only one JSON is
 * read in, RFC 8259); `charset=iso-8859-1` or `utf-16` is refused as another media type would be,
 * rather than read as UTF-8.
 */
function isJsonMediaType(contentType: string): boolean {
  const [, type = '', parameters = ''] = /^([^;]*)(.*)$/s.exec(contentType) ?? [];
  if (type.trim().toLowerCase() !== 'application/json') return false;
  // parameters as RFC 9110 writes them: name=token or name="quoted string" (which may hold a ;)
  const parameter = /\s*;\s*([^=;\s]*)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;]*))?/gy;
  for (const [, name = '', raw = ''] of parameters.matchAll(parameter)) {
    const value = raw
      .trim()
      .replace(/^"(.*)"$/s, '$1')
      .replace(/\\(.)/g, '$1');
    if (name.toLowerCase() === 'charset' && !UTF8_LABELS.has(value.toLowerCase())) return false;
  }
  return true;
}

/** UTF-8's names in WHATWG's Encoding standard. */
const UTF8_LABELS = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8']);

/**
 * The body, refused past `limit` bytes. Served by Node (`servedByNode`) with
 * a `Content-Length`, Node's parser ends the body at that length, so a
 * declared length within the limit is read whole by @hono/node-server's
 * direct read (no web stream, no `Request` built: a tenth of an upload's CPU
 * time); otherwise (chunked, or in-process) the stream is read up to the limit.
 */
async function readLimited(
  request: Request,
  limit = BODY_LIMIT_BYTES,
  servedByNode = false,
): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (servedByNode && declared !== null) return new Uint8Array(await request.arrayBuffer());
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function tooLarge(limit: number): SmsError {
  return new SmsError(
    ErrorCodes.RequestBodyTooLarge,
    limit === BODY_LIMIT_BYTES
      ? `The request body is larger than ${limit} bytes; the largest valid upload is far smaller.`
      : `The form is larger than ${limit} bytes.`,
  );
}

/** The largest form the dashboard reads: a sign-in's fields at their longest fit many times over. */
export const FORM_LIMIT_BYTES = 64 * 1024;

/**
 * Reads an HTML form (`application/x-www-form-urlencoded`, UTF-8) into its
 * fields; a field sent twice keeps its first value. Too large: `SMS.2004`.
 */
export async function readFormBody(c: Context<AppEnv>): Promise<Record<string, string>> {
  const contentType = c.req.header('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;.*)?$/i.test(contentType.trim())) {
    throw new SmsError(
      ErrorCodes.InvalidParameter,
      'The form must be sent as application/x-www-form-urlencoded; submit it from the page.',
    );
  }
  let text: string;
  try {
    text = utf8.decode(await readLimited(c.req.raw, FORM_LIMIT_BYTES));
  } catch (error) {
    if (error instanceof SmsError) throw error;
    throw new SmsError(ErrorCodes.MalformedJson, 'The form is not valid UTF-8.');
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(text)) if (!(name in fields)) fields[name] = value;
  return fields;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Node's request when @hono/node-server serves it (as `env.incoming`); undefined in-process. */
export function nodeRequestOf(c: Context<AppEnv>): IncomingMessage | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  return incoming instanceof IncomingMessage ? incoming : undefined;
}

/** Whether the request came through @hono/node-server. */
function servedByNode(c: Context<AppEnv>): boolean {
  return nodeRequestOf(c) !== undefined;
}

/**
 * The request's body up to `BODY_LIMIT_BYTES` (too large: `SMS.2004`), read
 * once: a signed request's body is read to check its signature, before the
 * route reads it as JSON.
 */
export async function readRawBody(c: Context<AppEnv>): Promise<Uint8Array> {
  const read = c.get('rawBody');
  if (read) return read;
  const bytes = await readLimited(c.req.raw, BODY_LIMIT_BYTES, servedByNode(c));
  c.set('rawBody', bytes);
  return bytes;
}

/**
 * Reads the body as JSON and validates it with a domain schema. Each fault has
 * its own 400 code: no Content-Type (`SMS.2005`), not JSON (`SMS.2006`), too
 * large (`SMS.2004`), not UTF-8 or not JSON (`SMS.1002`), a rule broken (`SMS.1001`).
 */
export async function readJsonBody<S extends v.GenericSchema>(
  c: Context<AppEnv>,
  schema: S,
): Promise<v.InferOutput<S>> {
  const contentType = c.req.header('content-type');
  if (contentType === undefined || contentType.trim() === '') {
    throw new SmsError(
      ErrorCodes.ContentTypeMissing,
      'The Content-Type header is missing; send application/json.',
    );
  }
  if (!isJsonMediaType(contentType.trim())) {
    throw new SmsError(
      ErrorCodes.ContentTypeNotJson,
      `The Content-Type ${JSON.stringify(contentType.slice(0, 100))} is not application/json (with charset UTF-8 if any).`,
    );
  }
  const bytes = await readRawBody(c);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new SmsError(ErrorCodes.MalformedJson, 'The request body is not valid UTF-8.');
  }
  if (text.trim() === '') {
    throw new SmsError(
      ErrorCodes.MalformedJson,
      'The request body is empty; send a JSON object, for example {}.',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message.slice(0, 200) : '';
    throw new SmsError(ErrorCodes.MalformedJson, `The request body is not valid JSON: ${detail}`);
  }
  const parsed = v.safeParse(schema, json);
  if (!parsed.success) throw new RequestValidationError(parsed.issues);
  return parsed.output;
}

/** Validates a path or query value with a domain schema; 400 `SMS.1001` naming it. */
export function validateInput<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  root: string,
): v.InferOutput<S> {
  const parsed = v.safeParse(schema, input);
  if (!parsed.success) throw new RequestValidationError(parsed.issues, { root });
  return parsed.output;
}
