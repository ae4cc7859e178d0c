import type { FC } from 'hono/jsx';
import type { Session } from '../../services/auth-service.js';
import type { WebhookDelivery } from '../../services/webhook-service.js';
import { formatTime } from '../format.js';
import { Layout, Notice } from './layout.js';

export interface WebhooksProps {
  session: Session;
  hooks: { id: string; url: string; created_at: number }[];
  deliveries: WebhookDelivery[];
  /** The add form's one-time token (`FormOnce`): a reload of its answer does not add a second webhook. */
  once: string;
  /** The webhook just made: its secret is on this page only, once. */
  created?: { id: string; url: string; secret: string } | undefined;
  info?: string | undefined;
  error?: string | undefined;
}

const STATE: Record<string, string> = {
  pending: 'Waiting (retried)',
  delivered: 'Delivered',
  failed: 'Given up after 24 hours',
  superseded: 'Merged into a later change of its task (not sent)',
};

/** The project's webhooks (admins): add, delete, and each event's delivery. */
export const WebhooksPage: FC<WebhooksProps> = ({
  session,
  hooks,
  deliveries,
  once,
  created,
  info,
  error,
}) => (
  <Layout title="Webhooks" session={session}>
    <h1>Webhooks of project {session.principal.projectName}</h1>
    {error ? <Notice kind="error">{error}</Notice> : null}
    {info ? <Notice kind="info">{info}</Notice> : null}
    {created ? (
      <Notice kind="info">
        Webhook added for {created.url}. Its secret, shown this once:{' '}
        <code data-secret>{created.secret}</code>. The receiver checks that X-Sms-Signature is sha256= and the
        hex HMAC-SHA256 of the body with it.
      </Notice>
    ) : null}
    <p class="muted">
      Each event (a task's verdict changed to consistent or inconsistent, a verification request failed) is
      posted as JSON to every webhook of the project, signed, and retried with growing waits for up to 24
      hours until the receiver answers 2xx. An event has an id (X-Sms-Event-Id): a receiver that gets it twice
      takes it once.
    </p>
    <form method="post" action="/ui/webhooks">
      <input type="hidden" name="csrf" value={session.csrfToken} />
      <input type="hidden" name="once" value={once} />
      <p>
        <label for="webhook-url">URL</label> <input id="webhook-url" name="url" type="url" required />{' '}
        <button type="submit">Add a webhook</button>
      </p>
    </form>
    {hooks.length === 0 ? (
      <p>No webhook yet.</p>
    ) : (
      <ul class="webhooks">
        {hooks.map((h) => (
          <li data-webhook={h.id}>
            <code>{h.url}</code> <span class="muted">added {formatTime(h.created_at)}</span>
            <form method="post" action={`/ui/webhooks/${h.id}/delete`}>
              <input type="hidden" name="csrf" value={session.csrfToken} />
              <button type="submit" class="secondary" aria-label={`Delete the webhook ${h.url}`}>
                Delete
              </button>
            </form>
          </li>
        ))}
      </ul>
    )}
    <h2>Deliveries</h2>
    {deliveries.length === 0 ? (
      <p>No event yet.</p>
    ) : (
      <section class="table-wrap" aria-label="Deliveries" tabindex={0}>
        <table class="deliveries">
          <thead>
            <tr>
              <th scope="col">Event (UTC)</th>
              <th scope="col">Type</th>
              <th scope="col">To</th>
              <th scope="col">State</th>
              <th scope="col" class="num">
                Attempts
              </th>
              <th scope="col">Last answer</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((d) => (
              <tr data-event={d.event_id} data-state={d.state}>
                <td>{formatTime(d.created_at)}</td>
                <td>{d.type}</td>
                <td>
                  <code>{d.url}</code>
                </td>
                <td>{STATE[d.state] ?? d.state}</td>
                <td class="num">{d.attempts}</td>
                <td>{d.last_status ?? d.last_error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    )}
  </Layout>
);
