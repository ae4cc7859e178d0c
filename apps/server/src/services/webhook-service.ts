import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Actions, ErrorCodes, NotFoundError, SmsError } from '@sms/domain';
import { keyFromMaster } from '../crypto/keys.js';
import { seal, unseal } from '../crypto/sealed.js';
import type { Logger } from '../logger.js';
import type { SignInStore } from '../storage/storage.js';
import type { DueEvent, WebhookDelivery, WebhookStore } from '../storage/webhook-store.js';

/** A delivery as the dashboard lists it. */
export type { WebhookDelivery } from '../storage/webhook-store.js';
export { VERDICT_HOLD_MAX_MS, VERDICT_HOLD_MS } from './webhook-verdicts.js';

import type { AuthService, Principal } from './auth-service.js';
import {
  postWebhook,
  urlAddressProblem,
  WebhookAddressError,
  type WebhookAddressPolicy,
} from './webhook-post.js';
import { coalesceVerdictChange, sentPayload, VERDICT_CHANGED, VERDICT_HOLD_MS } from './webhook-verdicts.js';

/** Headers of a delivery. */
export const WEBHOOK_SIGNATURE_HEADER = 'X-Sms-Signature';
export const WEBHOOK_EVENT_HEADER = 'X-Sms-Event-Id';
export const WEBHOOK_TIMESTAMP_HEADER = 'X-Sms-Timestamp';

/** Retries: for a day at most, waiting 5 s, 10 s, 20 s, … at most an hour (with jitter). */
export const WEBHOOK_RETRY_FOR_MS = 24 * 3600 * 1000;
const FIRST_WAIT_MS = 5000;
const LONGEST_WAIT_MS = 3600 * 1000;
/** One attempt's time: the receiver must answer within it. */
const ATTEMPT_TIMEOUT_MS = 10_000;
/** An event taken for an attempt is not taken again by another server before this. */
const TAKEN_FOR_MS = 60_000;
/** The events a pass takes, and at most how many of one webhook (a slow receiver's backlog leaves room for the others). */
const EVENTS_PER_PASS = 100;
const EVENTS_PER_WEBHOOK_PER_PASS = 3;

/** The key that seals webhook secrets at rest, derived from the server's master secret. */
export async function webhookSealingKey(signIn: SignInStore): Promise<Buffer> {
  return keyFromMaster(signIn, 'webhook-secret');
}

/** `sha256=` and the hex HMAC-SHA256 of the body with the webhook's secret: what `X-Sms-Signature` carries. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * A URL a webhook can post to: http or https, at most 2048 characters, without credentials, and
 * (when its host is an address) at an address `policy` allows (a name's addresses are checked at
 * each delivery, as they are looked up).
 */
export function checkWebhookUrl(url: string, policy: WebhookAddressPolicy = 'private'): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SmsError(
      ErrorCodes.InvalidParameter,
      `url: ${JSON.stringify(url.slice(0, 100))} is not a URL; give http(s)://host/path`,
    );
  }
  if (url.length > 2048 || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new SmsError(
      ErrorCodes.InvalidParameter,
      'url: expected an http:// or https:// URL of at most 2048 characters',
    );
  }
  // a secret in the URL would be shown on the dashboard and in logs
  if (parsed.username !== '' || parsed.password !== '') {
    throw new SmsError(
      ErrorCodes.InvalidParameter,
      'url: a user name or password in the URL (user:password@host) cannot be sent; the receiver can check the X-Sms-Signature of each event instead, or take a token in the path or query',
    );
  }
  const problem = urlAddressProblem(parsed, policy);
  if (problem) throw new SmsError(ErrorCodes.InvalidParameter, `url: ${problem}`);
  return parsed.toString();
}

/**
 * A project's webhooks and the delivery of its events from the outbox: each
 * event is posted (JSON, signed with the webhook's secret) until the receiver
 * answers 2xx, retried with exponential backoff for up to 24 hours, across
 * restarts (the outbox is in the database); several servers share the work
 * without posting an attempt twice.
 */
export class WebhookService {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Aborted by `stop`: the attempt in flight ends, and no other is begun. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly webhooks: WebhookStore,
    private readonly auth: AuthService,
    private readonly sealingKey: Buffer,
    private readonly options: {
      clock?: () => number;
      /** The dashboard's address as people reach it, for the events' links (`SMS_PUBLIC_URL`, else the listening URL). */
      publicUrl?: () => string | undefined;
      logger?: Logger;
      /** How long an attempt waits for the answer (tests shorten it). */
      attemptTimeoutMs?: number;
      /** How long a verdict change waits for the task's next ones (`VERDICT_HOLD_MS`). */
      verdictHoldMs?: number;
      /** Which receivers' addresses are posted to (`SMS_WEBHOOK_ADDRESSES`; default `private`). */
      addresses?: WebhookAddressPolicy;
    } = {},
  ) {}

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  /** A new webhook of a project; its secret is answered this once. */
  async add(projectId: string, url: string): Promise<{ id: string; url: string; secret: string }> {
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    const checked = checkWebhookUrl(url, this.options.addresses);
    await this.webhooks.add({
      id,
      project_id: projectId,
      url: checked,
      secret_sealed: seal(secret, this.sealingKey, id),
      created_at: this.now(),
    });
    return { id, url: checked, secret };
  }

  /** Webhooks are the project's admins' to see and change. */
  private authorizeAdmin(principal: Principal): void {
    this.auth.authorize(principal, Actions.manageUsers, `project:${principal.projectName}`);
  }

  /** The webhooks of the principal's project (admins), and their newest deliveries. */
  async forProject(principal: Principal) {
    this.authorizeAdmin(principal);
    const [hooks, deliveries] = await Promise.all([
      this.webhooks.list(principal.projectId),
      this.webhooks.recent(principal.projectId, 50),
    ]);
    return { hooks: hooks.map(({ secret_sealed: _s, ...h }) => h), deliveries };
  }

  async addFor(principal: Principal, url: string) {
    this.authorizeAdmin(principal);
    return this.add(principal.projectId, url);
  }

  async deleteFor(principal: Principal, id: string): Promise<void> {
    this.authorizeAdmin(principal);
    if (!(await this.webhooks.delete(id, principal.projectId))) throw new NotFoundError('webhook', id);
  }

  /** The body of one delivery: the event, with the time of this attempt (signed with it). */
  body(delivery: WebhookDelivery): string {
    const payload = sentPayload(delivery.payload);
    const base = this.options.publicUrl?.();
    const link =
      payload.task_id && base
        ? `${base.replace(/\/$/, '')}/ui/tasks/${encodeURIComponent(payload.task_id)}`
        : undefined;
    return JSON.stringify({
      event_id: delivery.event_id,
      type: delivery.type,
      occurred_at: new Date(delivery.created_at).toISOString(),
      sent_at: new Date(this.now()).toISOString(),
      ...payload,
      ...(link ? { link } : {}),
    });
  }

  /**
   * One pass over the due events (at most EVENTS_PER_WEBHOOK_PER_PASS of one webhook): each taken,
   * posted, and its outcome recorded. Each webhook's events go one after another and the webhooks
   * side by side, so that a receiver that never answers (each attempt waits 10 s) holds up only
   * its own; once one of its attempts gets no answer, all its events due wait for that attempt's
   * next time, rather than fail one by one.
   */
  async deliverDue(): Promise<number> {
    const lanes = new Map<string, DueEvent[]>();
    const held = { type: VERDICT_CHANGED, holdMs: this.holdMs };
    const due = await this.webhooks.due(this.now(), EVENTS_PER_PASS, held, EVENTS_PER_WEBHOOK_PER_PASS);
    for (const event of due) {
      const lane = lanes.get(event.webhook_id);
      if (lane) lane.push(event);
      else lanes.set(event.webhook_id, [event]);
    }
    let delivered = 0;
    // settled, all of them: a pass ends only once each lane has (the next waits for it)
    const ended = await Promise.allSettled(
      [...lanes.values()].map(async (lane) => {
        for (const due of lane) {
          if (this.stopping.signal.aborted) return;
          const event =
            due.type === VERDICT_CHANGED
              ? await coalesceVerdictChange(this.webhooks, due, this.now(), this.holdMs)
              : due;
          if (event === undefined) continue;
          const outcome = await this.attempt(event);
          if (outcome === 'stopped') return;
          if (outcome === 'delivered') delivered++;
          else if (outcome !== 'skipped' && !outcome.answered) {
            // no answer: the receiver is down or silent, and its other events would only wait
            // for it one by one (one it answers, refusing one event, does not hold the others)
            const now = this.now();
            await this.webhooks.postpone(event.webhook_id, now, outcome.next ?? now + FIRST_WAIT_MS);
            return;
          }
        }
      }),
    );
    const failed = ended.find((e) => e.status === 'rejected');
    if (failed?.status === 'rejected') throw failed.reason;
    return delivered;
  }

  private get holdMs(): number {
    return this.options.verdictHoldMs ?? VERDICT_HOLD_MS;
  }

  /** One event taken and posted, its outcome recorded: `skipped` when another server took it first. */
  private async attempt(
    event: DueEvent,
  ): Promise<'delivered' | 'skipped' | 'stopped' | { next: number | undefined; answered: boolean }> {
    const attemptMs = this.options.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS;
    const taken = await this.webhooks.takeForAttempt(
      event.id,
      event.next_attempt_at,
      this.now() + TAKEN_FOR_MS,
    );
    if (!taken) return 'skipped';
    const secret = unseal(event.secret_sealed, this.sealingKey, event.webhook_id);
    if (secret === undefined) {
      await this.webhooks.attempted(event.id, {
        delivered: false,
        status: null,
        error: 'the webhook secret cannot be unsealed',
        next: undefined,
      });
      return { next: undefined, answered: false };
    }
    // what it says now: another server's merge may have rewritten it since it was read
    const body = this.body({ ...event, payload: taken.payload });
    let status: number | null = null;
    /** What the project's admins see on the delivery's row: coarse, as they may not know the network. */
    let error = '';
    /** What the operator's log says: the error itself (the URL's origin only). */
    let detail = '';
    try {
      status = await postWebhook(
        event.url,
        {
          'content-type': 'application/json',
          'user-agent': 'sms-server-webhooks',
          [WEBHOOK_EVENT_HEADER]: event.event_id,
          [WEBHOOK_TIMESTAMP_HEADER]: String(Math.floor(this.now() / 1000)),
          [WEBHOOK_SIGNATURE_HEADER]: webhookSignature(secret, body),
        },
        body,
        {
          policy: this.options.addresses ?? 'private',
          signal: AbortSignal.any([AbortSignal.timeout(attemptMs), this.stopping.signal]),
        },
      );
      if (status >= 200 && status < 300) {
        await this.webhooks.attempted(event.id, { delivered: true, status, now: this.now() });
        return 'delivered';
      }
      error = `the receiver answered ${status}`;
      detail = error;
    } catch (caught) {
      // cut by the server's stop: not an attempt of the receiver's; the event stays taken for a
      // minute, then this server (restarted) or another posts it again (receivers tell a
      // repeat by its X-Sms-Event-Id)
      if (this.stopping.signal.aborted) return 'stopped';
      detail = (caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught))
        // errors may quote the URL, and it may hold a secret: its origin only
        .replaceAll(event.url, originOf(event.url));
      // Node's errors name the address a name resolved to, a closed port, a service that is not
      // HTTP: a way to map the server's network for whoever adds webhooks. The row says less.
      error =
        caught instanceof WebhookAddressError
          ? "not posted: the receiver's address is not one this server posts webhooks to (SMS_WEBHOOK_ADDRESSES); the server's log says which"
          : caught instanceof Error && (caught.name === 'AbortError' || caught.name === 'TimeoutError')
            ? `no answer within ${attemptMs / 1000} s`
            : "could not reach the receiver or read its answer; the server's log says why";
    }
    const wait = Math.min(LONGEST_WAIT_MS, FIRST_WAIT_MS * 2 ** event.attempts);
    const next = this.now() + Math.round(wait * (0.5 + Math.random() / 2));
    const givenUp = next - event.created_at > WEBHOOK_RETRY_FOR_MS;
    await this.webhooks.attempted(event.id, {
      delivered: false,
      status,
      error,
      next: givenUp ? undefined : next,
    });
    const hours = WEBHOOK_RETRY_FOR_MS / 3_600_000;
    this.options.logger?.warn(
      givenUp
        ? `webhook delivery failed; given up (its event is more than ${hours} hours old)`
        : 'webhook delivery failed; it is tried again',
      {
        event: event.event_id,
        // the origin only: receivers often carry a secret in the path or query (or user:password@)
        url: originOf(event.url),
        error: detail,
      },
    );
    return { next: givenUp ? undefined : next, answered: status !== null };
  }

  /** Delivers every `everyMs` until `stop`. */
  start(everyMs = 1000): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.deliverDue()
        .then(
          () => {},
          (error: unknown) =>
            this.options.logger?.warn('webhook deliveries failed; tried again', { err: String(error) }),
        )
        .finally(() => {
          this.running = undefined;
        });
    }, everyMs);
    this.timer.unref();
  }

  /** Stops delivering: the attempt in flight is cut (the server's stop waits for nothing more). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.running;
  }
}

/** A URL's scheme, host and port, for logs: never its path, query or credentials. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}
