import { AccessKeyIdSchema, CredentialDescriptionSchema, ErrorCodes, isSmsError } from '@sms/domain';
import type { Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import * as v from 'valibot';
import { readFormBody } from '../http/body.js';
import type { AppEnv } from '../http/context.js';
import type { Session } from '../services/auth-service.js';
import { formRefused } from './form-refused.js';
import type { FormOnce } from './once.js';
import { currentSession, doneMessage, render, SESSION_COOKIE, sameToken, toSignIn } from './session.js';
import { AccessKeysPage, type AccessKeysProps } from './views/access-keys.js';

const DONE: Record<string, string> = {
  activate: 'The access key is active again.',
  deactivate: 'The access key is inactive: requests signed with it are refused until it is active again.',
  delete: 'The access key is deleted: requests signed with it are refused.',
};

/** What the list says after an action (`?done=`): the actions' outcomes, and a create form sent twice. */
const INFO: Record<string, string> = {
  ...DONE,
  resent:
    'That form was already sent: the key it created is in the list below. Its secret was shown once, on that answer; if it was lost, delete the key and create another.',
};

async function keysPage(
  c: Context<AppEnv>,
  once: FormOnce,
  session: Session,
  props: Omit<AccessKeysProps, 'session' | 'keys' | 'once'> = {},
  status: 400 | 403 | 409 | 200 = 200,
) {
  const keys = await c.get('deps').accessKeys.list(session.principal);
  return render(c, <AccessKeysPage session={session} keys={keys} once={once.issue()} {...props} />, status);
}

/**
 * `/ui/access-keys`: the signed-in user's own access keys. Creating one shows
 * its secret on the answer to that form only; each action is a form with the
 * session's token, answered by a redirect back to the list.
 */
export function registerAccessKeyPages(app: Hono<AppEnv>, once: FormOnce): void {
  app.get('/ui/access-keys', async (c) => {
    const session = await currentSession(c);
    if (!session) return toSignIn(c, getCookie(c, SESSION_COOKIE) !== undefined);
    return keysPage(c, once, session, { info: doneMessage(c, INFO) });
  });

  app.post('/ui/access-keys', async (c) => {
    const form = await readFormBody(c);
    const session = await currentSession(c);
    if (!session) return toSignIn(c, getCookie(c, SESSION_COOKIE) !== undefined);
    if (!sameToken(session.csrfToken, form.csrf)) return formRefused(c, session, 'Your access keys');
    const description = form.description?.trim() ?? '';
    if (!v.is(CredentialDescriptionSchema, description)) {
      return keysPage(c, once, session, { error: 'The description may have at most 255 characters.' }, 400);
    }
    // a reload of the answer below posts the form again: it must not create a second key
    if (!once.spend(form.once)) return c.redirect('/ui/access-keys?done=resent', 303);
    try {
      const { credential } = await c
        .get('deps')
        .accessKeys.create(session.principal, session.principal.userId, description);
      return keysPage(c, once, session, { created: credential });
    } catch (error) {
      once.release(form.once);
      if (isSmsError(error) && error.code === ErrorCodes.AccessKeyLimitReached.code) {
        return keysPage(c, once, session, { error: error.message }, 409);
      }
      throw error;
    }
  });

  app.post('/ui/access-keys/:access_key', async (c) => {
    const form = await readFormBody(c);
    const session = await currentSession(c);
    if (!session) return toSignIn(c, getCookie(c, SESSION_COOKIE) !== undefined);
    if (!sameToken(session.csrfToken, form.csrf)) return formRefused(c, session, 'Your access keys');
    const accessKey = c.req.param('access_key');
    const action = form.action ?? '';
    if (!v.is(AccessKeyIdSchema, accessKey) || !Object.hasOwn(DONE, action)) {
      return keysPage(c, once, session, { error: 'That is not an action on one of your access keys.' }, 400);
    }
    const keys = c.get('deps').accessKeys;
    if (action === 'delete') await keys.delete(session.principal, accessKey);
    else
      await keys.update(session.principal, accessKey, {
        status: action === 'activate' ? 'active' : 'inactive',
      });
    return c.redirect(`/ui/access-keys?done=${action}`, 303);
  });
}
