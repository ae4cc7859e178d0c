import type { Generated } from 'kysely';

/** The tables, as Kysely sees them. Times are ms since the epoch. */
export interface Database {
  secrets: { name: string; value: string };
  auth_failures: { key: string; window_start: number; failures: number };
  sessions: {
    id_hash: string;
    user_id: string;
    project_id: string;
    token_generation: number;
    csrf_token: string;
    created_at: number;
    expires_at: number;
  };
  projects: { id: string; name: string; created_at: number };
  users: { id: string; name: string; password_hash: string; token_generation: number; created_at: number };
  memberships: { user_id: string; project_id: string; role: string };
  /** A user's access keys (AK/SK): the secret only sealed with the server's key (AES-256-GCM). */
  access_keys: {
    access_key: string;
    user_id: string;
    /** `seal(secret, key derived from the master secret, access_key)`: never the secret itself. */
    secret_sealed: string;
    /** `active` or `inactive` */
    status: string;
    description: string;
    created_at: number;
  };
  tasks: {
    id: string;
    project_id: string;
    name: string;
    type: string;
    state: string;
    create_date: number;
    start_date: number | null;
    finish_date: number | null;
    /** The task's newest upload (by finished_time, then id), and its time; null before the first. */
    latest_upload_id: number | null;
    latest_finished_time: number | null;
    /**
     * The sums over the newest result of each of the task's directories (rows of
     * `task_directories`), moved by each upload: a list of thousands of tasks reads one row each.
     */
    dir_count: Generated<number>;
    inconsistent_dirs: Generated<number>;
    num_total_files: Generated<number>;
    num_different_files: Generated<number>;
    num_target_miss_files: Generated<number>;
    num_target_more_files: Generated<number>;
  };
  /** Each directory of each task with its newest result, and the upload that brought it. */
  task_directories: {
    task_id: string;
    dir_check: string;
    num_total_files: number;
    num_different_files: number;
    num_target_miss_files: number;
    num_target_more_files: number;
    upload_id: number;
    finished_time: number;
  };
  consistency_uploads: {
    id: Generated<number>;
    task_id: string;
    finished_time: number;
    check_result: string;
    idempotency_key: string | null;
    request_hash: string;
    /** The upload's `consistency_result` array, as JSON text. */
    results: string;
    dir_count: number;
    num_total_files: number;
    num_different_files: number;
    num_target_miss_files: number;
    num_target_more_files: number;
    /** The task's sums right after this upload was stored: the gap over time, at the task's level. */
    task_dir_count: Generated<number>;
    task_inconsistent_dirs: Generated<number>;
    task_num_total_files: Generated<number>;
    task_num_different_files: Generated<number>;
    task_num_target_miss_files: Generated<number>;
    task_num_target_more_files: Generated<number>;
    /** The run (`X-Sms-Run-Id`, or one made for the upload); null for uploads stored before runs were kept. */
    run_id: string | null;
  };
  /** One findings upload (one request); its findings are seen once it is `done`. */
  finding_batches: {
    id: Generated<number>;
    task_id: string;
    run_id: string;
    idempotency_key: string | null;
    /** SHA-256 (base64url) of the uploaded NDJSON, decompressed: what a replay is compared by. */
    request_hash: string | null;
    /** `open` while its lines arrive, `done` once all were stored. */
    state: string;
    stored: Generated<number>;
    /** The directories whose lines were dropped for a later run's result (JSON array). */
    superseded: Generated<string>;
    /** The directories it stored findings of (JSON array): what an abandoned batch's clean-up deletes. */
    dirs: Generated<string>;
    created_at: number;
    updated_at: number;
  };
  /** The per-path findings behind the counts: current when their run made the directory's newest result. */
  findings: {
    id: Generated<number>;
    task_id: string;
    dir_check: string;
    run_id: string;
    batch_id: number;
    category: string;
    path: string;
    path_base64: string | null;
    reason: string;
  };
  /** Each directory's stored findings of a run: how many, and whether the agent cut the list (1) or not (0). */
  /** A project's webhooks: the URL its events go to, and the secret (sealed) that signs them. */
  webhooks: { id: string; project_id: string; url: string; secret_sealed: string; created_at: number };
  /** The outbox: one row per event and webhook, written in the transaction of the change that causes it. */
  webhook_events: {
    id: Generated<number>;
    webhook_id: string;
    /** The event's id, the same for each webhook it goes to: what receivers deduplicate by. */
    event_id: string;
    type: string;
    /** What happened, as JSON; the body sent is made from it. */
    payload: string;
    created_at: number;
    /** pending, delivered or failed (after 24 hours of retries). */
    state: string;
    attempts: Generated<number>;
    next_attempt_at: number;
    last_status: number | null;
    last_error: string | null;
    delivered_at: number | null;
  };
  /** A task's agent configuration: one row per key set (configuration-setting). */
  task_configurations: { task_id: string; config_key: string; config_value: string; updated_at: number };
  /** Verification requests: "Verify now" and schedules; taken by agents with a lease. */
  verification_requests: {
    id: string;
    task_id: string;
    /** pending, running, done, failed */
    state: string;
    /** manual or schedule */
    origin: string;
    created_at: number;
    created_by: string | null;
    /** The schedule's time it was made for (one request per time and task). */
    scheduled_for: number | null;
    agent: string | null;
    lease_id: string | null;
    lease_expires_at: number | null;
    run_id: string | null;
    started_at: number | null;
    finished_at: number | null;
    check_result: string | null;
    error: string | null;
  };
  finding_directories: {
    task_id: string;
    dir_check: string;
    run_id: string;
    findings: number;
    truncated: number;
  };
}

export type Dialect = 'sqlite' | 'postgres';

/** The columns of an upload that keep its task's sums right after it. */
export const TASK_TOTAL_COLUMNS = [
  'task_dir_count',
  'task_inconsistent_dirs',
  'task_num_total_files',
  'task_num_different_files',
  'task_num_target_miss_files',
  'task_num_target_more_files',
] as const;
