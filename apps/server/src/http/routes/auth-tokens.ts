import { AuthTokenRequestSchema, SUBJECT_TOKEN_HEADER } from '@sms/domain';
import type { Hono } from 'hono';
import { readJsonBody } from '../body.js';
import { clientAddress } from '../client-address.js';
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
