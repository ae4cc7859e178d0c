import type { Child, FC } from 'hono/jsx';
import type { Session } from '../../services/auth-service.js';
import { STYLES } from './styles.js';

/** Every page: a skip link, the signed-in user with a sign-out button, the content, links to the API reference. */
export const Layout: FC<{ title: string; session?: Session | undefined; children?: Child }> = ({
  title,
  session,
  children,
}) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="no-referrer" />
      <title>{`${title} · SMS consistency`}</title>
      <link rel="icon" href="data:," />
      <style dangerouslySetInnerHTML={{ __html: STYLES }} />
    </head>
    <body>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/ui/tasks">
          SMS consistency
        </a>
        {session ? (
          <div class="who">
            <span>
              <strong>{session.principal.userName}</strong> ({session.principal.role}) in project{' '}
              <strong>{session.principal.projectName}</strong>
            </span>
            <a href="/ui/access-keys">Your access keys</a>
            {session.principal.role === 'admin' ? <a href="/ui/webhooks">Webhooks</a> : null}
            <form method="post" action="/ui/sign-out">
              <input type="hidden" name="csrf" value={session.csrfToken} />
              <button type="submit" class="secondary">
                Sign out
              </button>
            </form>
          </div>
        ) : null}
      </header>
      <main id="main">{children}</main>
      <footer>
        <nav aria-label="API">
          <a href="/docs">API reference</a> · <a href="/openapi.json">OpenAPI document (/openapi.json)</a>
        </nav>
      </footer>
    </body>
  </html>
);

/** A message above the content: `error` for what went wrong, `info` for what happened. */
export const Notice: FC<{ kind: 'error' | 'info'; children?: Child }> = ({ kind, children }) => (
  <p class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
    {children}
  </p>
);
