import { randomUUID } from 'node:crypto';
import type { CheckResult, VerificationRequest, VerificationState } from '@sms/domain';
import type { Selectable } from 'kysely';
import type { Database } from '../db/schema.js';
import { Store } from './handle.js';

type Row = Selectable<Database['verification_requests']>;

/** The configuration key that names the one agent that may take a task's requests. */
const AGENT_KEY = 'CONSISTENCY_AGENT';

/** A request as the API shows it (the lease id stays with the agent that holds it). */
export function requestOf(row: Row): VerificationRequest {
  const optional = <K extends string, T>(key: K, value: T | null) =>
    (value === null ? {} : { [key]: value }) as { [P in K]?: T };
  return {
    id: row.id,
    task_id: row.task_id,
    state: row.state as VerificationState,
    origin: row.origin === 'schedule' ? 'schedule' : 'manual',
    created_at: Number(row.created_at),
    ...optional('created_by', row.created_by),
    ...optional('agent', row.agent),
    ...optional('run_id', row.run_id),
    ...optional('started_at', row.started_at === null ? null : Number(row.started_at)),
    ...optional(
      'lease_expires_at',
      row.state === 'running' && row.lease_expires_at !== null ? Number(row.lease_expires_at) : null,
    ),
    ...optional('finished_at', row.finished_at === null ? null : Number(row.finished_at)),
    ...optional('check_result', row.check_result as CheckResult | null),
    ...optional('error', row.error),
  };
}

/**
 * Verification requests: made by "Verify now" or a schedule, at most one
 * open (pending or running) per task, each scheduled time once (unique
 * indexes, so that several servers agree); taken by one agent at a time with
 * a lease, which its heartbeats renew; a lease that ran out puts the request
 * back to pending.
 */
export class VerificationStore extends Store {
  /**
   * A new pending request; when the task has an open one already (or, for a
   * schedule, this time was asked for already), none is made and the open one
   * (if any) is answered with `created: false`.
   */
  async create(
    taskId: string,
    origin: 'manual' | 'schedule',
    now: number,
    options: { createdBy?: string; scheduledFor?: number } = {},
  ): Promise<{ request: VerificationRequest | undefined; created: boolean }> {
    return this.run('create verification request', async () => {
      const id = randomUUID();
      const inserted = await this.db
        .insertInto('verification_requests')
        .values({
          id,
          task_id: taskId,
          state: 'pending',
          origin,
          created_at: now,
          created_by: options.createdBy ?? null,
          scheduled_for: options.scheduledFor ?? null,
          agent: null,
          lease_id: null,
          lease_expires_at: null,
          run_id: null,
          started_at: null,
          finished_at: null,
          check_result: null,
          error: null,
        })
        .onConflict((oc) => oc.doNothing())
        .returningAll()
        .executeTakeFirst();
      if (inserted) return { request: requestOf(inserted), created: true };
      const open = await this.db
        .selectFrom('verification_requests')
        .selectAll()
        .where('task_id', '=', taskId)
        .where('state', 'in', ['pending', 'running'])
        .executeTakeFirst();
      return { request: open && requestOf(open), created: false };
    });
  }

  /**
   * Whether a request of the task covers `time`: one open then (made before it and not finished
   * by then), or made since. A scheduled time folded into a request open at it (a "Verify now"
   * running at 03:00) left no row of its own: this says it was served.
   */
  async coveredSince(taskId: string, time: number): Promise<boolean> {
    return this.run('read verification requests', async () => {
      const row = await this.db
        .selectFrom('verification_requests')
        .select('id')
        .where('task_id', '=', taskId)
        .where((eb) => eb.or([eb('finished_at', 'is', null), eb('finished_at', '>=', time)]))
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    });
  }

  async get(
    id: string,
  ): Promise<(VerificationRequest & { project_id: string; lease_id: string | null }) | undefined> {
    return this.run('read verification request', async () => {
      const row = await this.db
        .selectFrom('verification_requests as r')
        .innerJoin('tasks as t', 't.id', 'r.task_id')
        .selectAll('r')
        .select('t.project_id')
        .where('r.id', '=', id)
        .executeTakeFirst();
      return row && { ...requestOf(row), project_id: row.project_id, lease_id: row.lease_id };
    });
  }

  /** A task's requests, newest first. */
  async list(taskId: string, limit: number): Promise<VerificationRequest[]> {
    return this.run('read verification requests', async () => {
      const rows = await this.db
        .selectFrom('verification_requests')
        .selectAll()
        .where('task_id', '=', taskId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(requestOf);
    });
  }

  /** Puts back to pending the running requests whose lease ended before `now`. */
  async expireLeases(now: number): Promise<number> {
    return this.run('expire leases', async () => {
      const result = await this.db
        .updateTable('verification_requests')
        .set({
          state: 'pending',
          lease_id: null,
          lease_expires_at: null,
          agent: null,
          started_at: null,
          run_id: null,
        })
        .where('state', '=', 'running')
        .where('lease_expires_at', '<', now)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    });
  }

  /** A project's pending requests (`r`), their tasks (`t`) and each task's `CONSISTENCY_AGENT` (`a`, if set). */
  private pendingOf(projectId: string) {
    return this.db
      .selectFrom('verification_requests as r')
      .innerJoin('tasks as t', 't.id', 'r.task_id')
      .leftJoin('task_configurations as a', (join) =>
        join.onRef('a.task_id', '=', 'r.task_id').on('a.config_key', '=', AGENT_KEY),
      )
      .where('t.project_id', '=', projectId)
      .where('r.state', '=', 'pending');
  }

  /**
   * The pending requests of a project's tasks that the agent named `agent` may take (those whose
   * task has no `CONSISTENCY_AGENT`, or that name; without a name, only the former), oldest first.
   */
  async pending(projectId: string, limit: number, agent?: string): Promise<VerificationRequest[]> {
    return this.run('read pending requests', async () => {
      const rows = await this.pendingOf(projectId)
        .selectAll('r')
        .where((eb) =>
          agent === undefined
            ? eb('a.config_value', 'is', null)
            : eb.or([eb('a.config_value', 'is', null), eb('a.config_value', '=', agent)]),
        )
        .orderBy('r.created_at')
        .orderBy('r.id')
        .limit(limit)
        .execute();
      return rows.map(requestOf);
    });
  }

  /**
   * Who may take the project's pending requests: the `CONSISTENCY_AGENT` of each of their tasks,
   * null for a task without one (any agent may take its requests), each once. The long polls of a
   * project share this one read a second, and read their own requests only when it names them.
   */
  async pendingAgents(projectId: string): Promise<Set<string | null>> {
    return this.run('read pending requests', async () => {
      const rows = await this.pendingOf(projectId).select('a.config_value').distinct().execute();
      return new Set(rows.map((row) => row.config_value));
    });
  }

  /**
   * Takes a pending request for the agent named `name` (shown as `agent`): running, with a new
   * lease; undefined when it was not pending, or its task's `CONSISTENCY_AGENT` names another.
   */
  async claim(
    id: string,
    agent: string,
    leaseMs: number,
    now: number,
    name: string,
  ): Promise<{ request: VerificationRequest; leaseId: string } | undefined> {
    return this.run('claim verification request', async () => {
      const leaseId = randomUUID();
      const row = await this.db
        .updateTable('verification_requests')
        .set({ state: 'running', agent, lease_id: leaseId, lease_expires_at: now + leaseMs, started_at: now })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        // in the same statement: a key set meanwhile is not missed
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('task_configurations as a')
                .select('a.task_id')
                .whereRef('a.task_id', '=', 'verification_requests.task_id')
                .where('a.config_key', '=', AGENT_KEY)
                .where('a.config_value', '!=', name),
            ),
          ),
        )
        .returningAll()
        .executeTakeFirst();
      return row && { request: requestOf(row), leaseId };
    });
  }

  /**
   * Changes a running request held by `leaseId`: renews its lease, notes its
   * run, finishes it, or hands it back. Undefined when the lease is no
   * longer that one (it ran out and the request went back, or another took it).
   */
  async update(
    id: string,
    leaseId: string,
    change:
      | { kind: 'heartbeat'; leaseExpiresAt: number; runId?: string }
      | {
          kind: 'finish';
          state: 'done' | 'failed';
          now: number;
          runId?: string;
          checkResult?: CheckResult;
          error?: string;
        }
      | { kind: 'release' },
  ): Promise<VerificationRequest | undefined> {
    return this.run('update verification request', async () => {
      const set =
        change.kind === 'heartbeat'
          ? { lease_expires_at: change.leaseExpiresAt, ...(change.runId ? { run_id: change.runId } : {}) }
          : change.kind === 'finish'
            ? {
                state: change.state,
                finished_at: change.now,
                lease_expires_at: null,
                // the run the finish names, or none: a request that failed before its run began
                // showed the run its heartbeats had named, which never happened
                run_id: change.runId ?? null,
                check_result: change.checkResult ?? null,
                error: change.error ?? null,
              }
            : {
                // handed back: the lease id stays, so that the same release sent again is known
                state: 'pending',
                lease_expires_at: null,
                agent: null,
                started_at: null,
                run_id: null,
              };
      return this.db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('verification_requests')
          .set(set)
          .where('id', '=', id)
          .where('state', '=', 'running')
          .where('lease_id', '=', leaseId)
          .returningAll()
          .executeTakeFirst();
        // a failed request is an event for the project's webhooks, in this same transaction
        if (row && change.kind === 'finish' && change.state === 'failed') {
          const task = await trx
            .selectFrom('tasks')
            .select(['name', 'project_id'])
            .where('id', '=', row.task_id)
            .executeTakeFirstOrThrow();
          const webhooks = await trx
            .selectFrom('webhooks')
            .select('id')
            .where('project_id', '=', task.project_id)
            .execute();
          const eventId = randomUUID();
          for (const webhook of webhooks) {
            await trx
              .insertInto('webhook_events')
              .values({
                webhook_id: webhook.id,
                event_id: eventId,
                type: 'request.failed',
                payload: JSON.stringify({
                  task_id: row.task_id,
                  task_name: task.name,
                  request_id: row.id,
                  agent: row.agent,
                  run_id: row.run_id,
                  error: row.error,
                }),
                created_at: change.now,
                state: 'pending',
                next_attempt_at: change.now,
              })
              .execute();
          }
        }
        return row && requestOf(row);
      });
    });
  }
}
