import * as v from 'valibot';
import { CheckResultSchema, EpochMillisSchema } from '../consistency-result/consistency-result.js';
import { RunIdSchema } from '../findings/findings.js';
import { TaskIdSchema } from '../task-id/index.js';

/**
 * Verification requests (ours): "verify now" and schedules ask for a
 * verification of a task; an agent's daemon takes the request with a lease,
 * runs it as `sms-agent run` would, and reports how it ended.
 *
 * - `POST /v3/tasks/{task_id}/consistency-check` (admin): a new request,
 *   201; while one is pending or running, that one, 200.
 * - `GET /v3/tasks/{task_id}/consistency-checks` (admin, viewer): the newest first.
 * - `GET /v3/consistency-checks?wait=0..30&agent=NAME` (admin, agent): the
 *   pending requests of the project's tasks that `NAME` may take (those whose
 *   `CONSISTENCY_AGENT` is unset or is `NAME`), waiting up to `wait` seconds for one.
 * - `POST /v3/consistency-checks/{id}/claim` `{ lease_seconds, agent }`: 200
 *   with a `lease_id`, or 409 `SMS.1008` when another agent holds it or the
 *   task's `CONSISTENCY_AGENT` names another.
 * - `POST /v3/consistency-checks/{id}/heartbeat` `{ lease_id, lease_seconds }`,
 *   `…/finish` `{ lease_id, state: done, run_id, check_result } | { lease_id,
 *   state: failed, error }`, `…/release` `{ lease_id }` (back to pending): 409
 *   `SMS.1008` when the lease is no longer this one's.
 * A running request whose lease expired goes back to pending.
 */

export const VERIFICATION_STATES = ['pending', 'running', 'done', 'failed'] as const;
export const VerificationStateSchema = v.picklist(VERIFICATION_STATES);
export type VerificationState = v.InferOutput<typeof VerificationStateSchema>;

/** What asked for it: a person ("Verify now", the API) or the task's schedule. */
export const VerificationOriginSchema = v.picklist(['manual', 'schedule']);

export const VerificationLimits = {
  /** A lease: 10 s to an hour; the daemon renews it well before it ends. */
  leaseSecondsMin: 10,
  leaseSecondsMax: 3600,
  /** The longest long poll. */
  waitSecondsMax: 30,
  /** An agent's error, kept for the page. */
  errorMaxLength: 1024,
  /** The name an agent gives itself (its host). */
  agentMaxLength: 255,
} as const;

/** A request id: a UUID the server makes. */
export const VerificationIdSchema = v.pipe(
  v.string(),
  v.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'expected a request id (a UUID)'),
);

export const VerificationRequestSchema = v.strictObject({
  id: VerificationIdSchema,
  task_id: TaskIdSchema,
  state: VerificationStateSchema,
  origin: VerificationOriginSchema,
  created_at: EpochMillisSchema,
  /** The user who asked ("Verify now"), absent for a schedule. */
  created_by: v.optional(v.string()),
  /** While running and after: the agent that took it (its user and the name it gave), its run, when. */
  agent: v.optional(v.string()),
  run_id: v.optional(RunIdSchema),
  started_at: v.optional(EpochMillisSchema),
  lease_expires_at: v.optional(EpochMillisSchema),
  finished_at: v.optional(EpochMillisSchema),
  /** done: the run's verdict. */
  check_result: v.optional(CheckResultSchema),
  /** failed: what the agent said. */
  error: v.optional(v.pipe(v.string(), v.maxLength(VerificationLimits.errorMaxLength))),
});
export type VerificationRequest = v.InferOutput<typeof VerificationRequestSchema>;

export const VerificationListSchema = v.strictObject({ requests: v.array(VerificationRequestSchema) });
export type VerificationList = v.InferOutput<typeof VerificationListSchema>;

/**
 * The name an agent gives itself (`sms-agent daemon --name`, default its host name): 1..255
 * characters, none a control character, no space at either end. A task's `CONSISTENCY_AGENT`
 * names one, matched exactly (case too: as the daemon prints it when it starts).
 */
export const AgentNameSchema = v.pipe(
  v.string(),
  v.minLength(1, "expected an agent name (its host name, or the daemon's --name)"),
  v.maxLength(VerificationLimits.agentMaxLength),
  v.check((name) => !/\p{Cc}/u.test(name), 'cannot hold a control character'),
  // matched exactly: a space typed at an end would leave its task's requests to no agent
  v.check((name) => name.trim() === name, 'cannot start or end with a space'),
);

/**
 * `?wait=` of the long poll: 0..30 seconds, as a string from the URL; `agent`: the polling agent's
 * name, which also lists the requests of the tasks whose `CONSISTENCY_AGENT` is that name.
 */
export const WaitQuerySchema = v.strictObject({
  agent: v.optional(AgentNameSchema),
  wait: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[0-9]{1,2}$/, 'expected whole seconds'),
      v.transform(Number),
      v.maxValue(VerificationLimits.waitSecondsMax),
    ),
  ),
});

const LeaseSecondsSchema = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(VerificationLimits.leaseSecondsMin),
  v.maxValue(VerificationLimits.leaseSecondsMax),
);
const LeaseIdSchema = VerificationIdSchema;

export const ClaimRequestSchema = v.strictObject({
  lease_seconds: LeaseSecondsSchema,
  agent: AgentNameSchema,
});
export type ClaimRequest = v.InferOutput<typeof ClaimRequestSchema>;

/** The claim's answer: the request, running, and the lease that its later calls name. */
export const ClaimResponseSchema = v.strictObject({
  request: VerificationRequestSchema,
  lease_id: LeaseIdSchema,
});
export type ClaimResponse = v.InferOutput<typeof ClaimResponseSchema>;

export const HeartbeatRequestSchema = v.strictObject({
  lease_id: LeaseIdSchema,
  lease_seconds: LeaseSecondsSchema,
  /** The run, once the agent has made it (so that the page can show it while it runs). */
  run_id: v.optional(RunIdSchema),
});

export const FinishRequestSchema = v.variant('state', [
  v.strictObject({
    lease_id: LeaseIdSchema,
    state: v.literal('done'),
    run_id: RunIdSchema,
    check_result: CheckResultSchema,
  }),
  v.strictObject({
    lease_id: LeaseIdSchema,
    state: v.literal('failed'),
    run_id: v.optional(RunIdSchema),
    error: v.pipe(v.string(), v.minLength(1), v.maxLength(VerificationLimits.errorMaxLength)),
  }),
]);
export type FinishRequest = v.InferOutput<typeof FinishRequestSchema>;

export const ReleaseRequestSchema = v.strictObject({ lease_id: LeaseIdSchema });
