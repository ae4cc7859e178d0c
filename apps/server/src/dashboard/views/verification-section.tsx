import { createHash } from 'node:crypto';
import {
  CONFIG_KEYS,
  type ConfigurationEntry,
  SMS_CONFIG_KEYS,
  type VerificationRequest,
  verdictOf,
} from '@sms/domain';
import type { FC } from 'hono/jsx';
import type { Session } from '../../services/auth-service.js';
import { formatAgo, formatTime } from '../format.js';
import { Notice } from './layout.js';
import { shortRun, VerdictBadge } from './parts.js';

/** What the task page shows of how the task is verified. */
export interface VerificationView {
  configuration: ConfigurationEntry[];
  requests: VerificationRequest[];
  /** When the schedule asks next. */
  next: number | undefined;
  /** An admin: may edit the configuration and ask for a verification. */
  canEdit: boolean;
  /** The form's values after a refused save, and why it was refused. */
  form?: Record<string, string>;
  /** After a refused save: the digests of what the page had shown before it (`shownDigest`). */
  shown?: Record<string, string>;
  error?: string;
  done?: string;
}

/** The prefix of the hidden fields that hold a digest of each key's value as the page showed it. */
export const SHOWN_PREFIX = 'shown:';

/**
 * A short digest of a value as the page showed it: a value may be 64 KiB, and the form holds
 * one per key beside the fields (the whole form may be 64 KiB).
 */
export function shownDigest(value: string): string {
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}

/** What each key holds, in the form's words. */
const KEY_HINT: Record<(typeof CONFIG_KEYS)[number], string> = {
  CONSISTENCY_DIR: 'directories to verify, absolute on the source: ["/root/data","/var/www"]',
  CONSISTENCY_MODE: 'quick or content',
  CONSISTENCY_RECHECK: 'true or false',
  CONSISTENCY_SOURCE: "where the source's root is on the agent's host (default /)",
  CONSISTENCY_TARGET: "the target's root: /mnt/target, host:/path or ssh://user@host/path",
  CONSISTENCY_EXCLUDE: 'patterns left out: ["*.tmp","cache/**"]',
  CONSISTENCY_METADATA: 'also compare: ["mode","uid","gid"]',
  CONSISTENCY_SCHEDULE: 'a cron expression: 0 3 * * * (03:00 every day)',
  CONSISTENCY_TIMEZONE: "the schedule's time zone (default UTC): Europe/Berlin",
  CONSISTENCY_AGENT:
    "the one agent that may take this task's requests: its daemon's --name, default the source host's name (unset: any agent of the project)",
};

const STATE_LABEL: Record<VerificationRequest['state'], string> = {
  pending: 'Waiting for an agent',
  running: 'Running',
  done: 'Done',
  failed: 'Failed',
};

/** The task page's section on verification: configuration, "Verify now", and the requests. */
export const VerificationSection: FC<{
  taskId: string;
  view: VerificationView;
  session: Session;
  now: number;
}> = ({ taskId, view, session, now }) => {
  const values = new Map(view.configuration.map((e) => [e.config_key, e.config_value]));
  const base = `/ui/tasks/${encodeURIComponent(taskId)}`;
  const open = view.requests.find((r) => r.state === 'pending' || r.state === 'running');
  return (
    <section aria-labelledby="verification">
      <h2 id="verification">Verification</h2>
      {view.error ? <Notice kind="error">{view.error}</Notice> : null}
      {view.done ? <Notice kind="info">{view.done}</Notice> : null}
      <p class="muted">
        An agent running <code>sms-agent daemon</code> (or <code>sms-agent run --task {taskId}</code>)
        verifies this task with this configuration. The first three keys are SMS's; the others are ours.
      </p>
      {view.canEdit ? (
        <form method="post" action={`${base}/configuration`} class="configuration">
          <input type="hidden" name="csrf" value={session.csrfToken} />
          {CONFIG_KEYS.map((key) => (
            <p>
              <label for={`config-${key}`}>
                <code>{key}</code>
                {(SMS_CONFIG_KEYS as readonly string[]).includes(key) ? '' : ' (ours)'}
              </label>
              <input
                id={`config-${key}`}
                name={key}
                value={view.form?.[key] ?? values.get(key) ?? ''}
                aria-describedby={`hint-${key}`}
              />
              {/* what the page showed: a save writes only the keys changed here (see verification-forms.tsx) */}
              <input
                type="hidden"
                name={`${SHOWN_PREFIX}${key}`}
                value={view.shown?.[key] ?? shownDigest(values.get(key) ?? '')}
              />
              <span id={`hint-${key}`} class="muted">
                {KEY_HINT[key]}
              </span>
            </p>
          ))}
          <p>
            <button type="submit">Save the configuration</button>{' '}
            <span class="muted">an empty field removes its key</span>
          </p>
        </form>
      ) : view.configuration.length === 0 ? (
        <p>No configuration is set; an admin sets it here.</p>
      ) : (
        <dl class="facts" data-configuration>
          {view.configuration.map((e) => (
            <>
              <dt>
                <code>{e.config_key}</code>
              </dt>
              <dd>
                <code>{e.config_value}</code>
              </dd>
            </>
          ))}
        </dl>
      )}
      <p data-next-scheduled>
        {view.next === undefined
          ? 'No schedule: verifications happen when asked for.'
          : `Next scheduled verification: ${formatTime(view.next)} (${formatAgo(view.next, now)}).`}
      </p>
      {view.canEdit ? (
        <form method="post" action={`${base}/verify-now`}>
          <input type="hidden" name="csrf" value={session.csrfToken} />
          <button type="submit">{open ? 'Verify now (one is already open)' : 'Verify now'}</button>
        </form>
      ) : null}
      {view.requests.length === 0 ? (
        <p>No verification has been asked for yet.</p>
      ) : (
        <section class="table-wrap" aria-label="Verification requests" tabindex={0}>
          <table class="requests">
            <thead>
              <tr>
                <th scope="col">Asked (UTC)</th>
                <th scope="col">By</th>
                <th scope="col">State</th>
                <th scope="col">Agent</th>
                <th scope="col">Run</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {view.requests.map((r) => (
                <tr data-request={r.id} data-state={r.state}>
                  <td>
                    <time datetime={new Date(r.created_at).toISOString()}>{formatTime(r.created_at)}</time>
                  </td>
                  <td>{r.origin === 'schedule' ? 'the schedule' : (r.created_by ?? '')}</td>
                  <td>
                    {r.state === 'pending' && values.has('CONSISTENCY_AGENT')
                      ? `Waiting for the agent ${values.get('CONSISTENCY_AGENT')}`
                      : STATE_LABEL[r.state]}
                  </td>
                  <td>{r.agent ?? ''}</td>
                  <td>{r.run_id ? <code title={r.run_id}>{shortRun(r.run_id)}</code> : ''}</td>
                  <td>
                    {r.state === 'done' && r.check_result ? (
                      <VerdictBadge verdict={verdictOf(r.check_result)} />
                    ) : r.state === 'failed' ? (
                      (r.error ?? '')
                    ) : (
                      ''
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </section>
  );
};
