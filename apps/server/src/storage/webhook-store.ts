import { sql } from 'kysely';
import { Store } from './handle.js';

export interface WebhookRow {
  id: string;
  project_id: string;
  url: string;
  secret_sealed: string;
  created_at: number;
}

export interface WebhookDelivery {
  id: number;
  webhook_id: string;
  url: string;
  event_id: string;
  type: string;
  payload: string;
  created_at: number;
  state: string;
  attempts: number;
  next_attempt_at: number;
  last_status: number | null;
  last_error: string | null;
  delivered_at: number | null;
}

/** An event read as due for an attempt, with its webhook's sealed secret. */
export type DueEvent = WebhookDelivery & { secret_sealed: string };

/** Webhooks and their outbox of events. */
export class WebhookStore extends Store {
  async add(row: WebhookRow): Promise<void> {
    await this.run('add webhook', () => this.db.insertInto('webhooks').values(row).execute());
  }

  async list(projectId?: string): Promise<(WebhookRow & { project_name: string })[]> {
    return this.run('list webhooks', async () => {
      let query = this.db
        .selectFrom('webhooks as w')
        .innerJoin('projects as p', 'p.id', 'w.project_id')
        .select([
          'w.id',
          'w.project_id',
          'w.url',
          'w.secret_sealed',
          'w.created_at',
          'p.name as project_name',
        ]);
      if (projectId !== undefined) query = query.where('w.project_id', '=', projectId);
      const rows = await query.orderBy('w.created_at').execute();
      return rows.map((r) => ({ ...r, created_at: Number(r.created_at) }));
    });
  }

  /** Deletes a webhook (and its undelivered events); false when there is none (in that project). */
  async delete(id: string, projectId?: string): Promise<boolean> {
    return this.run('delete webhook', async () => {
      let query = this.db.deleteFrom('webhooks').where('id', '=', id);
      if (projectId !== undefined) query = query.where('project_id', '=', projectId);
      const result = await query.executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  /**
   * Events due for a delivery attempt, oldest first; one of type `held` is due only once `holdMs`
   * old (its change may be followed by others: they are sent as one, see `pendingOf`).
   */
  async due(
    now: number,
    limit: number,
    held?: { type: string; holdMs: number },
    perWebhook = limit,
  ): Promise<DueEvent[]> {
    return this.run('read due webhook events', async () => {
      // the due events ranked within their webhook, so that one webhook's backlog cannot fill the
      // `limit` (window functions: SQLite 3.25 and PostgreSQL)
      let ranked = this.db
        .selectFrom('webhook_events as d')
        .select([
          'd.id',
          sql<number>`row_number() over (partition by d.webhook_id order by d.next_attempt_at, d.id)`.as(
            'rank',
          ),
        ])
        .where('d.state', '=', 'pending')
        .where('d.next_attempt_at', '<=', now);
      if (held)
        ranked = ranked.where((eb) =>
          eb.or([eb('d.type', '<>', held.type), eb('d.created_at', '<=', now - held.holdMs)]),
        );
      const rows = await this.db
        .selectFrom('webhook_events as e')
        .innerJoin(ranked.as('r'), 'r.id', 'e.id')
        .innerJoin('webhooks as w', 'w.id', 'e.webhook_id')
        .selectAll('e')
        .select(['w.url', 'w.secret_sealed'])
        .where('r.rank', '<=', perWebhook)
        .orderBy('e.next_attempt_at')
        .orderBy('e.id')
        .limit(limit)
        .execute();
      return rows.map(deliveryOf);
    });
  }

  /**
   * Takes an event for one attempt, if it still has the time read (another server did not take it
   * meanwhile): its next attempt moved to `until` and the attempt counted at once (a post cut by a
   * stop or a crash may have reached its receiver too); answers what it says now (a merge by
   * another server may have rewritten it), or undefined when it was not taken.
   */
  async takeForAttempt(
    id: number,
    seenNext: number,
    until: number,
  ): Promise<{ payload: string } | undefined> {
    return this.run('take webhook event', async () => {
      const row = await this.db
        .updateTable('webhook_events')
        .set((eb) => ({ next_attempt_at: until, attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .where('next_attempt_at', '=', seenNext)
        .returning('payload')
        .executeTakeFirst();
      return row;
    });
  }

  /** Moves an event's next attempt to `until` (no attempt), if it still has the time read. */
  async take(id: number, seenNext: number, until: number): Promise<boolean> {
    return this.run('take webhook event', async () => {
      const result = await this.db
        .updateTable('webhook_events')
        .set({ next_attempt_at: until })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .where('next_attempt_at', '=', seenNext)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    });
  }

  /** A webhook's pending events of one type, oldest first (the few a task's changes leave). */
  async pendingOf(webhookId: string, type: string): Promise<WebhookDelivery[]> {
    return this.run('read pending webhook events', async () => {
      const rows = await this.db
        .selectFrom('webhook_events as e')
        .innerJoin('webhooks as w', 'w.id', 'e.webhook_id')
        .selectAll('e')
        .select('w.url')
        .where('e.webhook_id', '=', webhookId)
        .where('e.type', '=', type)
        .where('e.state', '=', 'pending')
        .orderBy('e.id')
        .execute();
      return rows.map(deliveryOf);
    });
  }

  /** What a pending event will say (events merged into it: see `coalesceVerdictChange`). */
  async setPayload(id: number, payload: string): Promise<void> {
    await this.run('rewrite webhook event', () =>
      this.db
        .updateTable('webhook_events')
        .set({ payload })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .execute(),
    );
  }

  /**
   * Marks pending events `superseded`: a later event of the same webhook says what they said, and
   * more; with `unattempted`, only those no server has begun to post (how many were marked).
   */
  async supersede(ids: number[], unattempted = false): Promise<number> {
    if (ids.length === 0) return 0;
    return this.run('supersede webhook events', async () => {
      let query = this.db
        .updateTable('webhook_events')
        .set({ state: 'superseded' })
        .where('id', 'in', ids)
        .where('state', '=', 'pending');
      if (unattempted) query = query.where('attempts', '=', 0);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    });
  }

  /**
   * Moves a webhook's events due by `now` to `until` (no attempt counted): its receiver has just
   * failed one, and the rest would only wait for it one by one.
   */
  async postpone(webhookId: string, now: number, until: number): Promise<void> {
    await this.run('postpone webhook events', () =>
      this.db
        .updateTable('webhook_events')
        .set({ next_attempt_at: until })
        .where('webhook_id', '=', webhookId)
        .where('state', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .execute(),
    );
  }

  /** What an attempt (counted when it was taken) came to: delivered, or tried again at `next` (or given up: `failed`). */
  async attempted(
    id: number,
    outcome:
      | { delivered: true; status: number; now: number }
      | { delivered: false; status: number | null; error: string; next: number | undefined },
  ): Promise<void> {
    await this.run('record webhook attempt', () =>
      this.db
        .updateTable('webhook_events')
        .set({
          last_status: outcome.status,
          ...(outcome.delivered
            ? { state: 'delivered', delivered_at: outcome.now, last_error: null }
            : outcome.next === undefined
              ? { state: 'failed', last_error: outcome.error.slice(0, 500) }
              : { next_attempt_at: outcome.next, last_error: outcome.error.slice(0, 500) }),
        })
        .where('id', '=', id)
        .execute(),
    );
  }

  /** A project's newest deliveries, for the dashboard. */
  async recent(projectId: string, limit: number): Promise<WebhookDelivery[]> {
    return this.run('read webhook deliveries', async () => {
      const rows = await this.db
        .selectFrom('webhook_events as e')
        .innerJoin('webhooks as w', 'w.id', 'e.webhook_id')
        .selectAll('e')
        .select('w.url')
        .where('w.project_id', '=', projectId)
        .orderBy('e.id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(deliveryOf);
    });
  }
}

function deliveryOf<T extends Record<string, unknown>>(row: T) {
  return {
    ...row,
    id: Number(row.id),
    created_at: Number(row.created_at),
    attempts: Number(row.attempts),
    next_attempt_at: Number(row.next_attempt_at),
    delivered_at: row.delivered_at === null ? null : Number(row.delivered_at),
    last_status: row.last_status === null ? null : Number(row.last_status),
  } as unknown as WebhookDelivery & T;
}
