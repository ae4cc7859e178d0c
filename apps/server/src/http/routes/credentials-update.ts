import { UpdateCredentialRequestSchema } from '@sms/domain';
import type { Hono } from 'hono';
import { readJsonBody } from '../body.js';
import type { AppEnv } from '../context.js';
import { authenticate, principalOf } from '../middleware/authenticate.js';
import { accessKeyOf, CREDENTIAL_PATH } from './credential-path.js';

/** `PUT /v3.0/OS-CREDENTIAL/credentials/{access_key}`: activates or deactivates a key, or sets its description. */
export function registerCredentialsUpdate(app: Hono<AppEnv>): void {
  app.put(CREDENTIAL_PATH, authenticate, async (c) => {
    const accessKey = accessKeyOf(c);
    const { credential } = await readJsonBody(c, UpdateCredentialRequestSchema);
    const patch = {
      ...(credential.status === undefined ? {} : { status: credential.status }),
      ...(credential.description === undefined ? {} : { description: credential.description }),
    };
    return c.json({ credential: await c.get('deps').accessKeys.update(principalOf(c), accessKey, patch) });
  });
}
