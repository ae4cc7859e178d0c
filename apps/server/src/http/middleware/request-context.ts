import { randomUUID } from 'node:crypto';
import { ErrorCodes, REQUEST_ID_HEADER } from '@sms/domain';
import type { Context, MiddlewareHandler } from 'hono';
import { clientAddress } from '../client-address.js';
import type { AppDeps, AppEnv } from '../context.js';

/** A client's request id is echoed only when it is short and plain; otherwise a new one is made. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/**
 * A header set once the handler has answered. Hono's \`c.header\` then copies
 * the response (its body and headers into a new one: a tenth of a small
 * request's time); the response's own headers take it as they are, unless
 * they are immutable (a response from \`fetch\`), where \`c.header\` still does.
 */
function afterwards(c: Context<AppEnv>, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    c.header(name, value);
  }
}

/**
 * Gives every request an id (echoed in `X-Request-Id`), the services, and one
 * structured log line when it ends: id, method, path, status, client address and duration.
 * Headers, query strings and bodies are never logged: tokens and passwords stay out.
 */
export function requestContext(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const given = c.req.header(REQUEST_ID_HEADER);
    const requestId = given !== undefined && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
    c.set('requestId', requestId);
    c.set('deps', deps);
    c.set('principal', undefined);
    if (deps.isDraining?.()) {
      c.header('Connection', 'close');
      c.header(REQUEST_ID_HEADER, requestId);
      return c.json(
        {
          error_code: ErrorCodes.ServiceUnavailable.code,
          error_msg: 'The server is shutting down; retry shortly.',
        },
        503,
      );
    }
    await next();
    // Set on the response's own headers: \`c.header\` after the handler would copy the whole response.
    afterwards(c, REQUEST_ID_HEADER, requestId);
    // A request that was in flight when shutdown began: its connection must not stay open.
    if (deps.isDraining?.()) afterwards(c, 'Connection', 'close');
    const principal = c.get('principal');
    deps.logger.info('request', {
      request_id: requestId,
      method: c.req.method,
      path: c.req.path.slice(0, 512),
      status: c.res.status,
      client: clientAddress(c),
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      ...(principal ? { user: principal.userName, project: principal.projectName } : {}),
    });
  };
}
