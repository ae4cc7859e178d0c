import { EventEmitter, setMaxListeners } from 'node:events';
import {
  Actions,
  type ClaimRequest,
  type ClaimResponse,
  ErrorCodes,
  type FinishRequest,
  latestScheduledTime,
  NotFoundError,
  nextScheduledTime,
  SmsError,
  type VerificationRequest,
} from '@sms/domain';
import type { Logger } from '../logger.js';
import type { ConfigurationStore, VerificationStore } from '../storage/storage.js';
import type { AuthService, Principal } from './auth-service.js';
import type { TaskService } from './task-service.js';

/** How often a long poll looks at the database again (another server may have made a request). */
const POLL_EVERY_MS = 1000;
/**
 * How much sooner than a second a poll's look may come and still sweep again: its timer of a
 * second, set after its look (a sweep it shared), may fire a fraction of a millisecond short of
 * a second after that sweep, which then counted as the same second and was skipped until the next.
 */
const TIMER_SLACK_MS = 100;
/** Requests a poll answers at most. */
const POLL_LIMIT = 20;
/** Projects whose polls' shared read is kept before those not looked at since an earlier sweep go. */
const PENDING_FOR_PROJECTS = 1000;

function leaseLost(id: string): SmsError {
  return new SmsError(
    ErrorCodes.LeaseHeld,
    `The verification request ${id} is not held with this lease: it ran out and the request went back to pending, or another agent took it. Stop working on it and take another.`,
  );
}

/** A request as the API shows it: without its project and its lease id. */
function asShown({
  project_id: _project,
  lease_id: _lease,
  ...request
}: VerificationRequest & { project_id: string; lease_id: string | null }): VerificationRequest {
  return request;
}

/**
 * Verification requests (ours): "Verify now" and schedules make them; agents'
 * daemons take them with a lease and say how they ended. Several servers on
 * one database agree through its unique indexes and conditional updates.
 */
export class VerificationService {
  private readonly verifications: VerificationStore;
  private readonly configurations: ConfigurationStore;
  /** Wakes the long polls of this server when it makes a request. */
  private readonly made = new EventEmitter();
  /** Aborted when the server stops: long polls answer at once (`endPolls`). */
  private readonly stopping = new AbortController();

  constructor(
    stores: { verifications: VerificationStore; configurations: ConfigurationStore },
    private readonly tasks: TaskService,
    private readonly auth: AuthService,
    private readonly clock: () => number = Date.now,
    private readonly logger?: Logger,
  ) {
    this.verifications = stores.verifications;
    this.configurations = stores.configurations;
    this.made.setMaxListeners(0);
    // every long poll waiting listens to it: hundreds of daemons are no leak
    setMaxListeners(0, this.stopping.signal);
  }

  /** When the polls' last sweep of ended leases ran (a monotonic clock, and the service's), and the one running. */
  private lastPollSweep = { monotonic: Number.NEGATIVE_INFINITY, clock: Number.NEGATIVE_INFINITY };
  private pollSweep: Promise<unknown> | undefined;

  /**
   * Puts the requests whose lease ended back to pending for the long polls: at most once a
   * `POLL_EVERY_MS` however many polls wait (each daemon of a fleet polls), the polls of that
   * moment sharing one sweep. The calls that show or change a request sweep on their own. Again
   * once a second has passed on a monotonic clock, or the service's clock has moved by a second
   * either way since: that clock may be frozen (tests, which move it by hand) or stepped back (a
   * server's time corrected), and the sweep must not stop then.
   */
  private sweepForPolls(): Promise<unknown> {
    const monotonic = performance.now();
    const clock = this.clock();
    const last = this.lastPollSweep;
    if (
      this.pollSweep &&
      monotonic - last.monotonic < POLL_EVERY_MS - TIMER_SLACK_MS &&
      Math.abs(clock - last.clock) < POLL_EVERY_MS
    )
      return this.pollSweep;
    this.lastPollSweep = { monotonic, clock };
    const sweep = this.verifications.expireLeases(clock).catch((error: unknown) => {
      // the next poll tries again rather than meeting this failure for the rest of the second
      if (this.pollSweep === sweep) this.pollSweep = undefined;
      throw error;
    });
    this.pollSweep = sweep;
    return sweep;
  }

  /**
   * Each project's agents that its pending requests are for, as the long polls last read them
   * (`pendingAgents`), and the sweep and the generation of this server's requests they were read
   * after.
   */
  private readonly pendingFor = new Map<
    string,
    { sweep: Promise<unknown>; generation: number; agents: Promise<Set<string | null>> }
  >();
  /** Moved on by each request this server makes pending (`made`): the polls read again. */
  private generation = 0;

  /** A request was made pending here: the long polls waiting read again, at once. */
  private announce(): void {
    this.generation++;
    this.made.emit('request');
  }

  /**
   * Whether the project may have a pending request that the agent named `agent` may take. The
   * polls waiting in a project share one read of it after each shared sweep (a second), read again
   * when this server makes a request: a fleet's waiting daemons cost a read a second, not one
   * each. A poll that is answered yes reads its requests itself (`pending`), as exact as before.
   * What this server does not announce (a request made by another server, a lease ended and swept
   * by another call, a task's `CONSISTENCY_AGENT` changed) a waiting poll sees about two seconds
   * later at most. `sweep`: the sweep this poll waited for, which the read follows.
   */
  private mayHavePending(
    projectId: string,
    agent: string | undefined,
    sweep: Promise<unknown>,
  ): Promise<boolean> {
    let known = this.pendingFor.get(projectId);
    if (!known || known.sweep !== sweep || known.generation !== this.generation) {
      // the entries of projects no poll has looked at since an earlier sweep go (a project removed)
      if (this.pendingFor.size >= PENDING_FOR_PROJECTS)
        for (const [project, entry] of this.pendingFor)
          if (entry.sweep !== sweep) this.pendingFor.delete(project);
      const entry = {
        sweep,
        generation: this.generation,
        agents: this.verifications.pendingAgents(projectId).catch((error: unknown) => {
          // the next poll reads again rather than meeting this failure until the next sweep
          if (this.pendingFor.get(projectId) === entry) this.pendingFor.delete(projectId);
          throw error;
        }),
      };
      known = entry;
      this.pendingFor.set(projectId, entry);
    }
    return known.agents.then((agents) => agents.has(null) || (agent !== undefined && agents.has(agent)));
  }

  /** "Verify now": a new pending request, or the task's open one (`created: false`). */
  async request(
    principal: Principal,
    taskId: string,
  ): Promise<{ request: VerificationRequest; created: boolean }> {
    await this.tasks.find(principal, taskId, Actions.requestConsistencyCheck);
    // a lease that ended is pending again: the answer does not show a request running that is not
    await this.verifications.expireLeases(this.clock());
    for (let attempt = 1; ; attempt++) {
      const made = await this.verifications.create(taskId, 'manual', this.clock(), {
        createdBy: principal.userName,
      });
      if (made.request) {
        if (made.created) this.announce();
        return { request: made.request, created: made.created };
      }
      // the open request it met ended between the insert and the read (an agent finished it): once more
      if (attempt >= 3) throw new Error('no open verification request after three conflicts');
    }
  }

  /** A task's requests, newest first (read permission as for its results). */
  async list(principal: Principal, taskId: string, limit = 20): Promise<VerificationRequest[]> {
    await this.tasks.find(principal, taskId, Actions.getConsistencyCheckResult);
    await this.verifications.expireLeases(this.clock());
    return this.verifications.list(taskId, limit);
  }

  /**
   * The pending requests of the caller's project, oldest first; with `wait`,
   * waits up to that many seconds for one (a long poll), looking again when
   * this server makes one and every second (another server may have).
   */
  async poll(
    principal: Principal,
    waitSeconds: number,
    signal?: AbortSignal,
    agent?: string,
  ): Promise<VerificationRequest[]> {
    this.auth.authorize(principal, Actions.runConsistencyCheck, `project:${principal.projectName}`);
    // on a monotonic clock: a wall clock stepped back would hold the poll open that much longer
    const until = performance.now() + waitSeconds * 1000;
    const stopping = this.stopping.signal;
    for (let first = true; ; first = false) {
      // a request this server makes during this look is looked for again at once, not in a second
      const generation = this.generation;
      const sweep = this.sweepForPolls();
      await sweep;
      // the first look is the poll's own (exact, as a list without a wait must be); the looks
      // while it waits share the project's
      const pending =
        first || (await this.mayHavePending(principal.projectId, agent, sweep))
          ? await this.verifications.pending(principal.projectId, POLL_LIMIT, agent)
          : [];
      const left = until - performance.now();
      if (pending.length > 0 || left <= 0 || signal?.aborted || stopping.aborted) return pending;
      if (this.generation !== generation) continue;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.made.off('request', done);
          signal?.removeEventListener('abort', done);
          stopping.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(POLL_EVERY_MS, left));
        this.made.on('request', done);
        signal?.addEventListener('abort', done);
        stopping.addEventListener('abort', done);
      });
    }
  }

  /**
   * The server is stopping: long polls in flight answer now with what their last look found
   * (agents poll again, another server or this one restarted, and their first look is exact),
   * and later ones do not wait. A poll waits up to 30 s, longer than the shutdown's timeout: it
   * held every stop until that timeout.
   */
  endPolls(): void {
    this.stopping.abort();
  }

  /** The request, if the principal may run it: 404 when not in its project, 403 for a role that may not. */
  private async runnable(principal: Principal, id: string) {
    const request = await this.verifications.get(id);
    if (!request || request.project_id !== principal.projectId)
      throw new NotFoundError('verification request', id);
    this.auth.authorizeTask(principal, Actions.runConsistencyCheck, {
      id: request.task_id,
      project_id: request.project_id,
    });
    return request;
  }

  /** Takes a pending request with a lease: 409 `SMS.1008` when another agent holds it. */
  async claim(principal: Principal, id: string, claim: ClaimRequest): Promise<ClaimResponse> {
    await this.runnable(principal, id);
    const now = this.clock();
    await this.verifications.expireLeases(now);
    const agent = `${principal.userName}@${claim.agent}`;
    const taken = await this.verifications.claim(id, agent, claim.lease_seconds * 1000, now, claim.agent);
    if (!taken) {
      const request = await this.verifications.get(id);
      const assigned = request
        ? (await this.configurations.configuration(request.task_id)).find(
            (e) => e.config_key === 'CONSISTENCY_AGENT',
          )?.config_value
        : undefined;
      if (request?.state === 'pending' && assigned !== undefined && assigned !== claim.agent)
        throw new SmsError(
          ErrorCodes.LeaseHeld,
          `The verification request ${id} is for the agent named ${JSON.stringify(assigned)} (its task's CONSISTENCY_AGENT), not ${JSON.stringify(claim.agent)}. Take another.`,
        );
      throw new SmsError(
        ErrorCodes.LeaseHeld,
        `The verification request ${id} is not pending: another agent holds it, or it has ended. Take another.`,
      );
    }
    this.logger?.info('verification request taken', { id, task: taken.request.task_id, agent });
    return { request: taken.request, lease_id: taken.leaseId };
  }

  /** Renews the lease (and notes the run once the agent has one). */
  async heartbeat(
    principal: Principal,
    id: string,
    beat: { lease_id: string; lease_seconds: number; run_id?: string | undefined },
  ): Promise<VerificationRequest> {
    await this.runnable(principal, id);
    const now = this.clock();
    await this.verifications.expireLeases(now);
    const updated = await this.verifications.update(id, beat.lease_id, {
      kind: 'heartbeat',
      leaseExpiresAt: now + beat.lease_seconds * 1000,
      ...(beat.run_id ? { runId: beat.run_id } : {}),
    });
    if (!updated) throw leaseLost(id);
    return updated;
  }

  /** Ends a request `done` (with its run and verdict) or `failed` (with the agent's error); sent again, answered again. */
  async finish(principal: Principal, id: string, finish: FinishRequest): Promise<VerificationRequest> {
    await this.runnable(principal, id);
    const now = this.clock();
    // a lease that ended is not this agent's any more, whether or not a poll has swept it yet
    await this.verifications.expireLeases(now);
    const updated = await this.verifications.update(id, finish.lease_id, {
      kind: 'finish',
      state: finish.state,
      now,
      ...(finish.run_id ? { runId: finish.run_id } : {}),
      ...(finish.state === 'done' ? { checkResult: finish.check_result } : { error: finish.error }),
    });
    if (updated) {
      this.logger?.info('verification request finished', { id, state: updated.state, run: updated.run_id });
      return updated;
    }
    // the same finish again (its answer was lost, or both were sent at once): the request ended
    // with this lease; read after the update, which another call may have made meanwhile
    const current = await this.verifications.get(id);
    if (current && current.lease_id === finish.lease_id && current.state === finish.state)
      return asShown(current);
    throw leaseLost(id);
  }

  /** Hands a running request back (the agent stops): pending again; sent again, answered again. */
  async release(principal: Principal, id: string, leaseId: string): Promise<VerificationRequest> {
    await this.runnable(principal, id);
    // a lease that ended is not this agent's any more, whether or not a poll has swept it yet
    await this.verifications.expireLeases(this.clock());
    const updated = await this.verifications.update(id, leaseId, { kind: 'release' });
    if (updated) {
      this.announce();
      return updated;
    }
    const current = await this.verifications.get(id);
    if (current && current.lease_id === leaseId && current.state === 'pending') return asShown(current);
    throw leaseLost(id);
  }

  /**
   * Makes the requests the tasks' schedules ask for: for each task with a
   * `CONSISTENCY_SCHEDULE`, the latest scheduled time at or before `now` and
   * after `since` (the previous tick) asks once; a time asked for already (by
   * this server or another) is not asked again. Returns the requests made.
   */
  async schedule(since: number, now: number): Promise<number> {
    let made = 0;
    // a task whose request's lease ended is free for its scheduled time (the open request is no more)
    await this.verifications.expireLeases(now);
    for (const task of await this.configurations.schedules()) {
      let slot: number | undefined;
      try {
        slot = latestScheduledTime(task.schedule, task.timezone, since, now);
      } catch (error) {
        this.logger?.warn('a task schedule cannot be read', { task: task.task_id, err: String(error) });
        continue;
      }
      if (slot === undefined || slot < task.since) continue;
      // a request open at that time, or made since, served it (what a restart looks back over
      // may have been folded into one then, leaving no row of its own)
      if (await this.verifications.coveredSince(task.task_id, slot)) continue;
      const result = await this.verifications.create(task.task_id, 'schedule', now, { scheduledFor: slot });
      if (result.created) {
        made++;
        this.logger?.info('scheduled verification requested', {
          task: task.task_id,
          for: new Date(slot).toISOString(),
        });
      }
    }
    if (made > 0) this.announce();
    return made;
  }

  /** When the task's schedule asks next, or undefined without one. */
  async nextScheduled(taskId: string): Promise<number | undefined> {
    const entries = await this.configurations.configuration(taskId);
    const schedule = entries.find((e) => e.config_key === 'CONSISTENCY_SCHEDULE')?.config_value;
    const timezone = entries.find((e) => e.config_key === 'CONSISTENCY_TIMEZONE')?.config_value;
    return schedule ? nextScheduledTime(schedule, timezone, this.clock()) : undefined;
  }
}
