import { ListCredentialsQuerySchema } from '@sms/domain';
import type { Hono } from 'hono';
import { validateInput } from '../body.js';
import type { AppEnv } from '../context.js';
import { authenticate, principalOf } from '../middleware/authenticate.js';
import { CREDENTIALS_PATH } from './credential-path.js';

/** `GET /v3.0/OS-CREDENTIAL/credentials?user_id=`: the caller's keys, or (admins) a user's; never secrets. */
export function registerCredentialsList(app: Hono<AppEnv>): void {
  app.get(CREDENTIALS_PATH, authenticate, async (c) => {
    const query = validateInput(ListCredentialsQuerySchema, c.req.query(), 'query');
    return c.json({ credentials: await c.get('deps').accessKeys.list(principalOf(c), query.user_id) });
  });
}
