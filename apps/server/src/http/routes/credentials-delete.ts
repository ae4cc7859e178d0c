import type { Hono } from 'hono';
import type { AppEnv } from '../context.js';
import { authenticate, principalOf } from '../middleware/authenticate.js';
import { accessKeyOf, CREDENTIAL_PATH } from './credential-path.js';

/** `DELETE /v3.0/OS-CREDENTIAL/credentials/{access_key}`: 204; the key signs nothing from the next request on. */
export function registerCredentialsDelete(app: Hono<AppEnv>): void {
  app.delete(CREDENTIAL_PATH, authenticate, async (c) => {
    await c.get('deps').accessKeys.delete(principalOf(c), accessKeyOf(c));
    return c.body(null, 204);
  });
}
