import { AccessKeyIdSchema } from '@sms/domain';
import type { Context } from 'hono';
import { validateInput } from '../body.js';
import type { AppEnv } from '../context.js';

/** IAM's path for permanent access keys. */
export const CREDENTIALS_PATH = '/v3.0/OS-CREDENTIAL/credentials';

/** One key: the segment matches anything but a slash, so a malformed key is a 400 naming `access_key`. */
export const CREDENTIAL_PATH = `${CREDENTIALS_PATH}/:access_key{[^/]*}`;

export function accessKeyOf(c: Context<AppEnv>): string {
  return validateInput(AccessKeyIdSchema, c.req.param('access_key'), 'access_key');
}
