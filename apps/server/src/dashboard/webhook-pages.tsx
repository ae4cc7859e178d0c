import { isSmsError } from '@sms/domain';
import type { Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { readFormBody } from '../http/body.js';
import type { AppEnv } from '../http/context.js';
import type { Session } from '../services/auth-service.js';
import { formRefused } from './form-refused.js';
import type { FormOnce } from './once.js';
import { currentSession, doneMessage, render, SESSION_COOKIE, sameToken, toSignIn } from './session.js';
import { WebhooksPage, type WebhooksProps } from './views/webhooks.js';

async function page(
  c: Context<AppEnv>,
  once: FormOnce,
  session: Session,
  props: Pick<WebhooksProps, 'created' | 'info' | 'error'> = {},
  status: 200 | 400 = 200,
) {
  const { hooks, deliveries } = await c.get('deps').webhooks.forProject(session.principal);
  return render(
    c,
    <WebhooksPage session={session} hooks={hooks} deliveries={deliveries} once={once.issue()} {...props} />,
    status,
  );
}

const DONE: Record<string, string> = {
  deleted: 'The webhook is deleted.',
  resent:
    'That form was already sent: the webhook it added is in the list below. Its secret was shown once, on that answer; if it was lost, delete the webhook and add it again.',
};

/** `/ui/webhooks` (admins): the project's webhooks and their deliveries. */
export function registerWebhookPages(app: Hono<AppEnv>, once: FormOnce): void {
  app.get('/ui/webhooks', async (c) => {
    const session = await currentSession(c);
    if (!session) return toSignIn(c, getCookie(c, SESSION_COOKIE) !== undefined);
    return page(c, once, session, { info: doneMessage(c, DONE) });
  });

  app.post('/ui/webhooks', async (c) => {
    const form = await readFormBody(c);
    const session = await currentSession(c);
    if (!session) return toSignIn(c, getCookie(c, SESSION_COOKIE) !== undefined);
    if (!sameToken(session.csrfToken, form.csrf)) return formRefused(c, session, 'Webhooks');
    // a reload of the answer below posts the form again: it must not add a second webhook
    if (!once.spend(form.once)) return c.redirect('/ui/webhooks?done=resent', 303);
    try {
      const created = await c.get('deps').webhooks.addFor(session.principal, (form.url ?? '').trim());
      return page(c, once, session, { created });
    } catch (error) {
      once.release(form.once);
      if (isSmsError(error) && error.status === 400)
        return page(c, once, session, { error: error.message }, 400);
      throw error;
    }
  });

  app.post('/ui/webhooks/:id/delete', async (c) => {
    const form = await readFormBody(c);
    const session = await currentSession(c);
    if (!session) return toSignIn(c, getCookie(c, SESSION_COOKIE) !== undefined);
    if (!sameToken(session.csrfToken, form.csrf)) return formRefused(c, session, 'Webhooks');
    await c.get('deps').webhooks.deleteFor(session.principal, c.req.param('id'));
    return c.redirect('/ui/webhooks?done=deleted', 303);
  });
}
