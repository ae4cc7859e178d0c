import type { Context } from 'hono';
import type { AppEnv } from '../http/context.js';
import type { Session } from '../services/auth-service.js';
import { render } from './session.js';
import { MessagePage } from './views/message.js';

/** A form whose token is not the session's (another site's, or a stale page's): 403, nothing done. */
export function formRefused(c: Context<AppEnv>, session: Session, page: string): Response {
  return render(
    c,
    <MessagePage
      title="Form refused"
      message={`The form did not come from this page, so nothing was done. Open ${page} and use its buttons.`}
      session={session}
    />,
    403,
  );
}
