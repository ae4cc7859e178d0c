import {
  Actions,
  CONFIG_KEYS,
  formatIssues,
  NotFoundError,
  roleAllows,
  TaskIdSchema,
  UpdateConfigurationRequestSchema,
} from '@sms/domain';
import type { Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import * as v from 'valibot';
import { readFormBody } from '../http/body.js';
import type { AppEnv } from '../http/context.js';
import type { Session } from '../services/auth-service.js';
import { formRefused } from './form-refused.js';
import { currentSession, nowOf, render, SESSION_COOKIE, sameToken, toSignIn } from './session.js';
import { TaskPage } from './views/task-page.js';
import { SHOWN_PREFIX, shownDigest, type VerificationView } from './views/verification-section.js';

/** What the task page says after one of its forms. */
export const DONE_VERIFICATION: Record<string, string> = {
  configuration: 'The configuration is saved; agents use it from their next run.',
  unchanged: 'Nothing was changed: the configuration is as it was.',
  requested: 'A verification is asked for: the next agent that polls takes it.',
  open: 'A verification of this task is already waiting or running; it was not asked for twice.',
};

/** The task page's Verification section: configuration, requests and the next scheduled time. */
export async function verificationView(
  c: Context<AppEnv>,
  session: Session,
  taskId: string,
  extra: {
    done?: string | undefined;
    error?: string;
    form?: Record<string, string>;
    shown?: Record<string, string>;
  },
): Promise<VerificationView> {
  const deps = c.get('deps');
  const [configuration, requests, next] = await Promise.all([
    deps.configurations.get(session.principal, taskId),
    deps.verifications.list(session.principal, taskId, 10),
    deps.verifications.nextScheduled(taskId),
  ]);
  return {
    configuration: configuration.configurations,
    requests,
    next,
    canEdit: roleAllows(session.principal.role, Actions.updateConfiguration),
    ...(extra.done ? { done: extra.done } : {}),
    ...(extra.error ? { error: extra.error } : {}),
    ...(extra.form ? { form: extra.form } : {}),
    ...(extra.shown ? { shown: extra.shown } : {}),
  };
}

/** The task of a form's path: 404 for one that cannot be a task id. */
export function taskIdOfPage(c: Context<AppEnv>): string {
  const taskId: string = c.req.param('task_id') ?? '';
  if (!v.is(TaskIdSchema, taskId)) throw new NotFoundError('task', String(taskId).slice(0, 40));
  return taskId;
}

/** The task page's forms: the configuration (admins), and "Verify now". */
export function registerVerificationForms(app: Hono<AppEnv>): void {
  app.post('/ui/tasks/:task_id/configuration', async (c) => {
    const form = await readFormBody(c);
    const session = await currentSession(c);
    if (!session) return toSignIn(c, getCookie(c, SESSION_COOKIE) !== undefined);
    const taskId = taskIdOfPage(c);
    if (!sameToken(session.csrfToken, form.csrf)) return formRefused(c, session, 'the task page');
    await c.get('deps').dashboard.projectTask(session.principal, taskId);
    // refused as a change would be, also when nothing was changed (never "saved" for a viewer)
    await c.get('deps').configurations.mayUpdate(session.principal, taskId);
    const current = await c.get('deps').configurations.get(session.principal, taskId);
    const set = new Map(current.configurations.map((e) => [e.config_key, e.config_value]));
    // Only the keys changed on the page are written: a page opened before another admin (or
    // `sms-agent config`) set a key would otherwise remove it or put back its old value. An emptied
    // field removes its key. A form without what the page showed (an older page) sends every field
    // that is set or was set.
    const shown: Record<string, string> = Object.fromEntries(
      CONFIG_KEYS.flatMap((key) => {
        const digest = form[`${SHOWN_PREFIX}${key}`];
        return digest === undefined ? [] : [[key, digest]];
      }),
    );
    const changed = (key: (typeof CONFIG_KEYS)[number]) => {
      const value = (form[key] ?? '').trim();
      const digest = shown[key];
      return digest === undefined ? value !== '' || set.has(key) : shownDigest(value) !== digest;
    };
    const configurations = CONFIG_KEYS.filter(changed).map((key) => ({
      config_key: key,
      config_value: (form[key] ?? '').trim(),
    }));
    const parsed = v.safeParse(UpdateConfigurationRequestSchema, { configurations });
    if (configurations.length > 0 && !parsed.success) {
      const view = await c.get('deps').dashboard.taskPage(session.principal, taskId, { dirs_page: 1 });
      const verification = await verificationView(c, session, taskId, {
        error: `Nothing was saved: ${formatIssues(parsed.issues, { root: 'configuration' })}`,
        form: Object.fromEntries(CONFIG_KEYS.map((k) => [k, form[k] ?? ''])),
        // what the page first showed, carried to the next save: a key set meanwhile is still not undone
        shown,
      });
      return render(
        c,
        <TaskPage view={view} session={session} now={nowOf(c)} verification={verification} />,
        400,
      );
    }
    if (configurations.length === 0)
      return c.redirect(`/ui/tasks/${encodeURIComponent(taskId)}?done=unchanged#verification`, 303);
    if (parsed.success) await c.get('deps').configurations.update(session.principal, taskId, parsed.output);
    return c.redirect(`/ui/tasks/${encodeURIComponent(taskId)}?done=configuration#verification`, 303);
  });

  app.post('/ui/tasks/:task_id/verify-now', async (c) => {
    const form = await readFormBody(c);
    const session = await currentSession(c);
    if (!session) return toSignIn(c, getCookie(c, SESSION_COOKIE) !== undefined);
    const taskId = taskIdOfPage(c);
    if (!sameToken(session.csrfToken, form.csrf)) return formRefused(c, session, 'the task page');
    await c.get('deps').dashboard.projectTask(session.principal, taskId);
    const { created } = await c.get('deps').verifications.request(session.principal, taskId);
    return c.redirect(
      `/ui/tasks/${encodeURIComponent(taskId)}?done=${created ? 'requested' : 'open'}#verification`,
      303,
    );
  });
}
