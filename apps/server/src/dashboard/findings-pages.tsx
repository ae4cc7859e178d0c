import { type FindingsQuery, FindingsQuerySchema } from '@sms/domain';
import type { Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import * as v from 'valibot';
import type { AppEnv } from '../http/context.js';
import { exportFindings } from '../http/routes/findings-list.js';
import { currentSession, nowOf, render, SESSION_COOKIE, toSignIn } from './session.js';
import { taskIdOfPage } from './verification-forms.js';
import { FINDINGS_PER_PAGE, FindingsPageView } from './views/findings-page.js';
import { MessagePage } from './views/message.js';

/** A findings page's task and query (the API's query fields); the query undefined when it breaks a rule. */
function findingsQueryOf(c: Context<AppEnv>): { taskId: string; query: FindingsQuery | undefined } {
  const taskId = taskIdOfPage(c);
  const parsed = v.safeParse(FindingsQuerySchema, c.req.query());
  return { taskId, query: parsed.success ? parsed.output : undefined };
}

/** A directory's findings page, and its downloads (the API's exports, with the dashboard's session). */
export function registerFindingsPages(app: Hono<AppEnv>): void {
  app.get('/ui/tasks/:task_id/findings', async (c) => {
    const session = await currentSession(c);
    if (!session) return toSignIn(c, getCookie(c, SESSION_COOKIE) !== undefined);
    const { taskId, query } = findingsQueryOf(c);
    if (query === undefined || query.dir_check === undefined) {
      return render(
        c,
        <MessagePage
          title="Page not understood"
          message="A findings page names one directory (dir_check) of the task; follow a directory's findings link on the task page."
          session={session}
        />,
        400,
      );
    }
    const task = await c.get('deps').dashboard.readableTask(session.principal, taskId);
    const page = await c
      .get('deps')
      .findings.page(session.principal, taskId, { ...query, limit: FINDINGS_PER_PAGE });
    return render(
      c,
      <FindingsPageView
        view={{
          task,
          dirCheck: query.dir_check,
          categories: query.category,
          paged: query.marker !== undefined,
          page,
        }}
        session={session}
        now={nowOf(c)}
      />,
    );
  });

  // the downloads of a findings page: the API's exports, with the dashboard's session
  for (const [path, format] of [
    ['findings.csv', 'csv'],
    ['resync.txt', 'files-from'],
    ['resync.from0', 'files-from-nul'],
  ] as const) {
    app.get(`/ui/tasks/:task_id/${path}`, async (c) => {
      const session = await currentSession(c);
      if (!session) return toSignIn(c, getCookie(c, SESSION_COOKIE) !== undefined);
      const { taskId, query } = findingsQueryOf(c);
      if (query === undefined) return c.text('query not understood: use the links of a findings page', 400);
      await c.get('deps').dashboard.readableTask(session.principal, taskId);
      return exportFindings(c, session.principal, taskId, {
        ...query,
        format: format === 'csv' ? 'csv' : 'files-from',
        ...(format === 'files-from-nul' ? { null: '1' } : {}),
        // a download to open in a spreadsheet: with the byte order mark Excel needs for UTF-8
        ...(format === 'csv' ? { bom: query.bom ?? '1' } : {}),
      });
    });
  }
}
