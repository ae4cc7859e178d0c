import { AUTH_TOKEN_HEADER, SDK_CONTENT_SHA256_HEADER, TaskIdSchema } from '@sms/domain';
import type { Context, MiddlewareHandler } from 'hono';
import * as v from 'valibot';
import { isSignedAuthorization, type SignedRequest } from '../../services/signature-service.js';
import { nodeRequestOf, readRawBody } from '../body.js';
import { clientAddress } from '../client-address.js';
import type { AppEnv } from '../context.js';

/** The path and query as the client sent them (a signature covers them before any decoding). */
function rawTarget(c: Context<AppEnv>): { rawPath: string; rawQuery: string } {
  const sent = nodeRequestOf(c)?.url;
  const url = new URL(c.req.url);
  const target = sent?.startsWith('/') ? sent : `${url.pathname}${url.search}`;
  const query = target.indexOf('?');
  return query < 0
    ? { rawPath: target, rawQuery: '' }
    : { rawPath: target.slice(0, query), rawQuery: target.slice(query + 1) };
}

function signedRequest(c: Context<AppEnv>, streamed = false): SignedRequest {
  return {
    streamed,
    method: c.req.method,
    ...rawTarget(c),
    header: (name) => c.req.header(name),
    body: () => readRawBody(c),
    address: clientAddress(c),
  };
}

/**
 * Who is calling: a request signed with an access key (`Authorization:
 * SDK-HMAC-SHA256 …`) is checked as the SDKs sign it; any other, exactly as
 * before, by its `X-Auth-Token`.
 */
function principalOfRequest(c: Context<AppEnv>, taskId?: string, streamed = false) {
  const deps = c.get('deps');
  return isSignedAuthorization(c.req.header('authorization'))
    ? deps.signatures.authenticate(signedRequest(c, streamed), taskId)
    : deps.auth.authenticate(c.req.header(AUTH_TOKEN_HEADER), taskId);
}

/**
 * The first check of every protected route: a missing, malformed, expired or
 * revoked token (403 `SMS.9001`), or a signature refused (403 `SMS.9006`..`SMS.9010`),
 * is answered before the path or body is looked at (but a signed request's body
 * is read first, up to the body limit: the signature covers it).
 */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('principal', await principalOfRequest(c));
  await next();
};

/** The principal that `authenticate` set; routes behind it always have one. */
export function principalOf(c: { get(key: 'principal'): AppEnv['Variables']['principal'] }) {
  const principal = c.get('principal');
  if (!principal) throw new Error('route is not behind authenticate');
  return principal;
}

/**
 * `authenticate` for a route on one task: the task of the path is read in the
 * principal's query (`Principal.task`), for the service to check without
 * reading it again. A path that is not a task ID is left to the route's checks.
 */
export const authenticateForTask: MiddlewareHandler<AppEnv> = async (c, next) => {
  const taskId = c.req.param('task_id');
  c.set('principal', await principalOfRequest(c, taskId && v.is(TaskIdSchema, taskId) ? taskId : undefined));
  await next();
};

/**
 * `authenticate` for a route whose body is streamed, never read whole (a
 * findings upload): a signed request must declare its body's hash in
 * `X-Sdk-Content-Sha256`, which the signature covers and which the route
 * compares with the body's own once it has read it (`streamedBodySha256`).
 */
export const authenticateStreamed: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('principal', await principalOfRequest(c, undefined, true));
  await next();
};

/** The hash a signed streamed body must have (hex SHA-256), or undefined for a request with a token. */
export function streamedBodySha256(c: Context<AppEnv>): string | undefined {
  return isSignedAuthorization(c.req.header('authorization'))
    ? c.req.header(SDK_CONTENT_SHA256_HEADER)
    : undefined;
}
