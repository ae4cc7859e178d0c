import { randomBytes } from 'node:crypto';
import {
  Actions,
  AuthTokenRequestSchema,
  ErrorCodes,
  formatIssues,
  isSmsError,
  PermissionDeniedError,
  passwordTokenRequest,
  permissionDeniedSentence,
  TaskIdSchema,
  TaskPageQuerySchema,
  TaskSummaryQuerySchema,
  TooManyRequestsError,
} from '@sms/domain';
import type { Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import * as v from 'valibot';
import { readFormBody } from '../http/body.js';
import { clientAddress } from '../http/client-address.js';
import type { AppEnv } from '../http/context.js';
import { logFailure } from '../http/error-response.js';
import { ProjectRequiredError, type Session } from '../services/auth-service.js';
import { registerAccessKeyPages } from './access-key-pages.js';
import { registerFindingsPages } from './findings-pages.js';
import { FormOnce } from './once.js';
import {
  clearCookie,
  cookieOptions,
  currentSession,
  FORM_TOKEN,
  nowOf,
  render,
  SESSION_COOKIE,
  SIGN_IN_COOKIE,
  sameToken,
  toSignIn,
} from './session.js';
import { DONE_VERIFICATION, registerVerificationForms, verificationView } from './verification-forms.js';
import { MessagePage } from './views/message.js';
import { SignInPage, type SignInProps } from './views/sign-in.js';
import { TaskListPage } from './views/task-list.js';
import { TaskPage } from './views/task-page.js';
import { registerWebhookPages } from './webhook-pages.js';

export { SESSION_COOKIE, SIGN_IN_COOKIE } from './session.js';

const SIGN_IN_FORM_SECONDS = 3600;

/** True for the dashboard's paths, whose errors are pages rather than JSON. */
export function isDashboardPath(path: string): boolean {
  return path === '/ui' || path.startsWith('/ui/');
}

/** A `next` to return to after signing in: a dashboard path on this server, or nothing. */
function safeNext(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.length > 2048) return undefined;
  return /^\/ui\/[^/\\\s][^\\\s]*$/.test(raw) ? raw : undefined;
}

/** 400: a page naming the query field that is wrong and how. */
function queryNotUnderstood(
  c: Context<AppEnv>,
  session: Session,
  title: string,
  asksFor: string,
  issues: Parameters<typeof formatIssues>[0],
): Response {
  return render(
    c,
    <MessagePage
      title={title}
      message={`The address asks for ${asksFor} this page cannot show: ${formatIssues(issues, { root: 'query' })}.`}
      session={session}
    />,
    400,
  );
}

function signInForm(
  c: Context<AppEnv>,
  props: Omit<SignInProps, 'csrf'>,
  status: ContentfulStatusCode = 200,
) {
  // The browser's form token is kept while it lives, so that two open sign-in tabs both work.
  const current = getCookie(c, SIGN_IN_COOKIE);
  const csrf =
    current !== undefined && FORM_TOKEN.test(current) ? current : randomBytes(32).toString('base64url');
  setCookie(c, SIGN_IN_COOKIE, csrf, cookieOptions(c, SIGN_IN_FORM_SECONDS));
  return render(c, <SignInPage {...props} csrf={csrf} />, status);
}

/** The names of the sign-in request's fields, as the form calls them. */
const FORM_FIELD_OF: Record<string, string> = {
  'auth.identity.password.user.name': 'User name',
  'auth.identity.password.user.password': 'Password',
  'auth.scope.project.name': 'Project',
};

/**
 * The web dashboard: sign-in (a server-side session in an `HttpOnly`,
 * `SameSite=Strict` cookie, `Secure` over HTTPS), the project's task list and
 * a page per task. Every form carries a token bound to the session (or, for
 * sign-in, to a cookie), so another site cannot submit it. No script is served.
 */
export function registerDashboard(app: Hono<AppEnv>): void {
  app.use('/ui/*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
  });
  app.get('/', (c) => c.redirect('/ui/tasks', 303));
  app.get('/ui', (c) => c.redirect('/ui/tasks', 303));
  app.get('/ui/', (c) => c.redirect('/ui/tasks', 303));

  app.get('/ui/sign-in', async (c) => {
    const next = safeNext(c.req.query('next'));
    if (await currentSession(c)) return c.redirect(next ?? '/ui/tasks', 303);
    const info =
      c.req.query('signed_out') !== undefined
        ? 'You are signed out.'
        : c.req.query('ended') !== undefined
          ? 'Your session ended (it expired, or your password or access changed). Sign in again.'
          : undefined;
    return signInForm(c, { next, info });
  });

  app.post('/ui/sign-in', async (c) => {
    const form = await readFormBody(c);
    const next = safeNext(form.next);
    const user = form.user?.trim() ?? '';
    const project = form.project?.trim() || undefined;
    const again = { next, user, project };
    if (!sameToken(getCookie(c, SIGN_IN_COOKIE), form.csrf)) {
      return signInForm(
        c,
        {
          ...again,
          error: 'This sign-in form expired or was not sent from this page. Nothing was sent; sign in again.',
        },
        403,
      );
    }
    if (user === '' || !form.password) {
      return signInForm(c, { ...again, error: 'Enter your user name and your password.' }, 400);
    }
    const parsed = v.safeParse(
      AuthTokenRequestSchema,
      passwordTokenRequest({ user, password: form.password, ...(project ? { project } : {}) }),
    );
    if (!parsed.success) {
      const message = formatIssues(parsed.issues, { root: '' }).replace(
        /auth\.(identity\.password\.user\.(name|password)|scope\.project\.name)/g,
        (path) => FORM_FIELD_OF[path] ?? path,
      );
      return signInForm(c, { ...again, error: message }, 400);
    }
    try {
      const { sessionId, session } = await c.get('deps').auth.startSession(parsed.output, clientAddress(c));
      c.set('principal', session.principal);
      setCookie(
        c,
        SESSION_COOKIE,
        sessionId,
        cookieOptions(c, Math.floor((session.expiresAt - nowOf(c)) / 1000)),
      );
      clearCookie(c, SIGN_IN_COOKIE);
      return c.redirect(next ?? '/ui/tasks', 303);
    } catch (error) {
      if (error instanceof ProjectRequiredError) {
        return signInForm(
          c,
          {
            ...again,
            projects: error.projects,
            error: `${error.userName} belongs to ${error.projects.length} projects: choose one, enter your password again and sign in.`,
          },
          400,
        );
      }
      if (error instanceof TooManyRequestsError) {
        c.header('Retry-After', String(error.retryAfterSeconds));
        return signInForm(c, { ...again, error: error.message }, 429);
      }
      if (isSmsError(error) && error.code === ErrorCodes.InvalidCredentials.code) {
        return signInForm(c, { ...again, error: 'The user name, password or project is wrong.' }, 401);
      }
      throw error;
    }
  });

  app.post('/ui/sign-out', async (c) => {
    const form = await readFormBody(c);
    const session = await currentSession(c);
    if (session) {
      if (!sameToken(session.csrfToken, form.csrf)) {
        return render(
          c,
          <MessagePage
            title="Sign-out refused"
            message="The sign-out form did not come from this page, so nothing was done. Use the Sign out button."
            session={session}
          />,
          403,
        );
      }
      await c.get('deps').auth.endSession(getCookie(c, SESSION_COOKIE));
    }
    // only a cookie that came is cleared: a form posted from another site comes without it
    // (SameSite=Strict), and its answer's clearing would still sign the browser out
    if (getCookie(c, SESSION_COOKIE) !== undefined) clearCookie(c, SESSION_COOKIE);
    return c.redirect('/ui/sign-in?signed_out=1', 303);
  });

  app.get('/ui/tasks', async (c) => {
    const session = await currentSession(c);
    if (!session) return toSignIn(c, getCookie(c, SESSION_COOKIE) !== undefined);
    const parsed = v.safeParse(TaskSummaryQuerySchema, c.req.query());
    if (!parsed.success)
      return queryNotUnderstood(c, session, 'Filter not understood', 'a list', parsed.issues);
    const view = await c.get('deps').dashboard.taskList(session.principal, parsed.output);
    return render(c, <TaskListPage view={view} session={session} now={nowOf(c)} />);
  });

  app.get('/ui/tasks/:task_id', async (c) => {
    const session = await currentSession(c);
    if (!session) return toSignIn(c, getCookie(c, SESSION_COOKIE) !== undefined);
    const taskId = c.req.param('task_id');
    if (!v.is(TaskIdSchema, taskId)) {
      return render(
        c,
        <MessagePage
          title="Task not found"
          message="No task has this ID; task IDs are 1 to 36 characters."
          session={session}
        />,
        404,
      );
    }
    const query = v.safeParse(TaskPageQuerySchema, c.req.query());
    if (!query.success) {
      return queryNotUnderstood(c, session, 'Page not understood', 'a part of the task page', query.issues);
    }
    const view = await c.get('deps').dashboard.taskPage(session.principal, taskId, query.output);
    const verification = await verificationView(c, session, taskId, {
      done: query.output.done && DONE_VERIFICATION[query.output.done],
    });
    return render(c, <TaskPage view={view} session={session} now={nowOf(c)} verification={verification} />);
  });

  registerVerificationForms(app);
  registerFindingsPages(app);
  // the forms whose answer shows a secret once: a reload must not make a second one
  const once = new FormOnce();
  registerAccessKeyPages(app, once);
  registerWebhookPages(app, once);

  app.get('/ui/*', async (c) =>
    render(
      c,
      <MessagePage
        title="Page not found"
        message={`There is no page at ${c.req.path.slice(0, 200)}.`}
        session={await currentSession(c)}
      />,
      404,
    ),
  );
}

/**
 * A dashboard path asked for with a method it does not take (405, with `Allow`), or one with no
 * page at all: a page, as every answer on a dashboard path is, never JSON.
 */
export async function dashboardNoRoute(c: Context<AppEnv>, allowed: string[]): Promise<Response> {
  const session = await currentSession(c).catch(() => undefined);
  const path = c.req.path.slice(0, 200);
  if (allowed.length === 0)
    return render(
      c,
      <MessagePage title="Page not found" message={`There is no page at ${path}.`} session={session} />,
      404,
    );
  c.header('Allow', allowed.join(', '));
  return render(
    c,
    <MessagePage
      title="Request refused"
      message={`${c.req.method} is not allowed on ${path}; it takes ${allowed.join(' or ')}.`}
      session={session}
    />,
    405,
  );
}

/** What a user refused for their role can do: read actions want the viewer role, the others an admin. */
function roleAdvice(action: string, role: string): string {
  return action === Actions.getConsistencyCheckResult
    ? `Your role ${role} cannot read results; ask an admin of the project for the viewer role.`
    : `Your role ${role} may not do this; ask an admin of the project to do it, or for the admin role.`;
}

/** An error on a dashboard path, as a page: the same statuses as the API, in words. */
export async function dashboardErrorPage(c: Context<AppEnv>, error: unknown): Promise<Response> {
  logFailure(c, error);
  if (isSmsError(error) && error.status < 500) {
    // The page keeps its Sign out button: a user whose role may not see results must be able to leave.
    const session = await currentSession(c).catch(() => undefined);
    const title =
      error.status === 404
        ? 'Not found'
        : error.status === 403
          ? 'Not allowed'
          : error.status === 429
            ? 'Too many requests'
            : 'Request refused';
    const message =
      error instanceof PermissionDeniedError
        ? `${permissionDeniedSentence(error.action, error.resource)} ${roleAdvice(error.action, c.get('principal')?.role ?? '')}`
        : error.message;
    return render(
      c,
      <MessagePage title={title} message={message} session={session} />,
      error.status as ContentfulStatusCode,
    );
  }
  return render(
    c,
    <MessagePage
      title="Server error"
      message={`The server could not answer; nothing was changed. Try again shortly, and quote request id ${c.get('requestId')} when reporting it.`}
    />,
    500,
  );
}
