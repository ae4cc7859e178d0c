import { getConnInfo } from '@hono/node-server/conninfo';
import { AuthTokenRequestSchema, SUBJECT_TOKEN_HEADER } from '@sms/domain';
import type { Context, Hono } from 'hono';
import { readJsonBody } from '../body.js';
import type { AppEnv } from '../context.js';

/** `POST /v3/auth/tokens`: the IAM password method; 201 with the token in `X-Subject-Token`. */
export function registerAuthTokens(app: Hono<AppEnv>): void {
  app.post('/v3/auth/tokens', async (c) => {
    const request = await readJsonBody(c, AuthTokenRequestSchema);
    const { token, body } = await c.get('deps').auth.issueToken(request, clientAddress(c));
    c.header(SUBJECT_TOKEN_HEADER, token);
    c.header('Cache-Control', 'no-store');
    return c.json(body, 201);
  });
}

/**
 * The peer address of the connection. X-Forwarded-For is not trusted (anyone
 * can send it); behind a proxy every client shares the proxy's address limit.
 */
function clientAddress(c: Context<AppEnv>): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // no socket: an in-process request
  }
}
