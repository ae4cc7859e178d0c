import { CreateCredentialRequestSchema } from '@sms/domain';
import type { Hono } from 'hono';
import { readJsonBody } from '../body.js';
import type { AppEnv } from '../context.js';
import { authenticate, principalOf } from '../middleware/authenticate.js';
import { CREDENTIALS_PATH } from './credential-path.js';

/**
 * `POST /v3.0/OS-CREDENTIAL/credentials`: a new access key for the caller or
 * (admins) a user of its project; 201 with the secret, shown this once.
 */
export function registerCredentialsCreate(app: Hono<AppEnv>): void {
  app.post(CREDENTIALS_PATH, authenticate, async (c) => {
    const { credential } = await readJsonBody(c, CreateCredentialRequestSchema);
    const created = await c
      .get('deps')
      .accessKeys.create(principalOf(c), credential.user_id, credential.description);
    c.header('Cache-Control', 'no-store');
    return c.json(created, 201);
  });
}
