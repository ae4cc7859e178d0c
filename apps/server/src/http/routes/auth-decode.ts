import {
  Actions,
  DecodeAuthorizationMessageRequestSchema,
  ErrorCodes,
  PermissionDeniedError,
  SmsError,
} from '@sms/domain';
import type { Hono } from 'hono';
import { readJsonBody } from '../body.js';
import type { AppEnv } from '../context.js';
import { authenticate, principalOf } from '../middleware/authenticate.js';

/** `POST /v3/auth/decode-authorization-message`: an admin reads why a 403 was given. */
export function registerAuthDecode(app: Hono<AppEnv>): void {
  app.post('/v3/auth/decode-authorization-message', authenticate, async (c) => {
    const { auth } = c.get('deps');
    const principal = principalOf(c);
    auth.authorize(principal, Actions.decodeAuthorizationMessage, `project:${principal.projectName}`);
    const { encoded_authorization_message: message } = await readJsonBody(
      c,
      DecodeAuthorizationMessageRequestSchema,
    );
    const decoded = auth.decodeDetails(message);
    if (!decoded) {
      throw new SmsError(
        ErrorCodes.InvalidParameter,
        'encoded_authorization_message: was not made by this server, or was altered',
      );
    }
    // a 403 given to a user of another project is that project's to read (its admins, or the
    // operator's `sms-server decode`): an admin here is not one there
    if (decoded.project !== undefined && decoded.project !== principal.projectName) {
      throw new PermissionDeniedError(
        Actions.decodeAuthorizationMessage,
        `project:${principal.projectName}`,
        'the message was given to a user of another project: an admin of that project reads it (or the operator, with sms-server decode)',
      );
    }
    return c.json({ decoded_message: decoded });
  });
}
