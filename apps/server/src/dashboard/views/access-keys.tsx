import { ACCESS_KEYS_PER_USER, type CreateCredentialResponse, type Credential } from '@sms/domain';
import type { FC } from 'hono/jsx';
import type { Session } from '../../services/auth-service.js';
import { formatTime } from '../format.js';
import { Layout, Notice } from './layout.js';

export interface AccessKeysProps {
  session: Session;
  keys: Credential[];
  /** The create form's one-time token (`FormOnce`): a reload of its answer does not make a second key. */
  once: string;
  /** The key just made: its secret is on this page and nowhere else, ever. */
  created?: CreateCredentialResponse['credential'] | undefined;
  info?: string | undefined;
  error?: string | undefined;
}

/** One button that posts an action on a key, with the session's form token. */
const KeyAction: FC<{ session: Session; access: string; action: string; label: string }> = ({
  session,
  access,
  action,
  label,
}) => (
  <form method="post" action={`/ui/access-keys/${access}`}>
    <input type="hidden" name="csrf" value={session.csrfToken} />
    <input type="hidden" name="action" value={action} />
    <button type="submit" class="secondary" aria-label={`${label} ${access}`}>
      {label}
    </button>
  </form>
);

/**
 * The signed-in user's access keys (AK/SK) for the SDKs' signed requests:
 * make one (its secret shown once), deactivate, activate or delete them.
 */
export const AccessKeysPage: FC<AccessKeysProps> = ({ session, keys, once, created, info, error }) => (
  <Layout title="Your access keys" session={session}>
    <h1>Your access keys</h1>
    {error ? <Notice kind="error">{error}</Notice> : null}
    {info ? <Notice kind="info">{info}</Notice> : null}
    {created ? (
      <section class="card" aria-labelledby="new-key">
        <h2 id="new-key">New access key</h2>
        <p>Copy the secret key now: it is shown only this once, and cannot be shown again.</p>
        <dl class="facts">
          <dt>Access key (AK)</dt>
          <dd>
            <code data-field="access">{created.access}</code>
          </dd>
          <dt>Secret key (SK)</dt>
          <dd>
            <code data-field="secret">{created.secret}</code>
          </dd>
        </dl>
      </section>
    ) : null}
    <p>
      Access keys sign requests as the Huawei Cloud SDKs do (<code>BasicCredentials</code> with the access
      key, the secret key and the project id <code>{session.principal.projectId}</code>). At most{' '}
      {ACCESS_KEYS_PER_USER} per user.
    </p>
    {keys.length === 0 ? (
      <p class="muted">You have no access key.</p>
    ) : (
      <section class="table-wrap" aria-label="Access keys" tabindex={0}>
        <table>
          <caption class="sr-only">Your access keys</caption>
          <thead>
            <tr>
              <th scope="col">Access key</th>
              <th scope="col">Status</th>
              <th scope="col">Description</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr data-access={key.access}>
                <td>
                  <code>{key.access}</code>
                </td>
                <td data-field="status">{key.status}</td>
                <td class="name">{key.description || <span class="muted">—</span>}</td>
                <td>{formatTime(Date.parse(key.create_time))}</td>
                <td>
                  <div class="who">
                    {key.status === 'active' ? (
                      <KeyAction
                        session={session}
                        access={key.access}
                        action="deactivate"
                        label="Deactivate"
                      />
                    ) : (
                      <KeyAction session={session} access={key.access} action="activate" label="Activate" />
                    )}
                    <KeyAction session={session} access={key.access} action="delete" label="Delete" />
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    )}
    {keys.length < ACCESS_KEYS_PER_USER ? (
      <form method="post" action="/ui/access-keys" class="filters">
        <input type="hidden" name="csrf" value={session.csrfToken} />
        <input type="hidden" name="once" value={once} />
        <div class="field">
          <label for="description">
            Description <span class="hint">(optional, up to 255 characters)</span>
          </label>
          <input id="description" name="description" maxlength={255} />
        </div>
        <button type="submit">Create an access key</button>
      </form>
    ) : null}
  </Layout>
);
