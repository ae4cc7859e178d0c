import type { FC } from 'hono/jsx';
import { Layout, Notice } from './layout.js';

export interface SignInProps {
  /** The form token, the same as the sign-in cookie's. */
  csrf: string;
  /** Where to go once signed in (a dashboard path). */
  next?: string | undefined;
  user?: string | undefined;
  project?: string | undefined;
  /** The user's projects, when the password was right but no project was named. */
  projects?: readonly string[] | undefined;
  error?: string | undefined;
  info?: string | undefined;
}

/** The sign-in form: the same users, passwords and projects as `POST /v3/auth/tokens`. */
export const SignInPage: FC<SignInProps> = (props) => (
  <Layout title="Sign in">
    <h1>Sign in</h1>
    {props.info ? <Notice kind="info">{props.info}</Notice> : null}
    {props.error ? <Notice kind="error">{props.error}</Notice> : null}
    <form method="post" action="/ui/sign-in" class="card">
      <input type="hidden" name="csrf" value={props.csrf} />
      {props.next ? <input type="hidden" name="next" value={props.next} /> : null}
      <div class="field">
        <label for="user">User name</label>
        <input
          id="user"
          name="user"
          autocomplete="username"
          required
          maxlength={64}
          value={props.user ?? ''}
          autofocus={!props.user}
        />
      </div>
      <div class="field">
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          maxlength={1024}
          autofocus={Boolean(props.user)}
        />
      </div>
      <div class="field">
        <label for="project">
          Project <span class="hint">(needed when you belong to more than one)</span>
        </label>
        {props.projects ? (
          <select id="project" name="project" required>
            {props.projects.map((name) => (
              <option value={name} selected={name === props.project}>
                {name}
              </option>
            ))}
          </select>
        ) : (
          <input id="project" name="project" maxlength={64} value={props.project ?? ''} />
        )}
      </div>
      <button type="submit">Sign in</button>
    </form>
    <p class="muted">
      Agents and scripts sign in through the API (<code>POST /v3/auth/tokens</code>); see the{' '}
      <a href="/docs">API reference</a>.
    </p>
  </Layout>
);
