/**
 * PostgreSQL's upload as one function call, one round trip and one statement
 * (its own transaction, committed before the call answers): the task's row is
 * locked (`FOR NO KEY UPDATE`, a row lock: uploads to other tasks and reads go
 * on), so that uploads to one task from several connections or instances
 * apply one after the other; then, each statement of a VOLATILE function
 * taking a fresh snapshot, the current rows of the upload's directories are
 * read as the upload that held the lock before left them. A directory's row is
 * replaced unless it is newer than the upload (at the same time the upload,
 * stored later, wins), and the task's sums move by the difference: the fold
 * of `changeOf` (`storage/directory-state.ts`), which SQLite runs in the server.
 * An idempotency key already used for the task inserts nothing and answers
 * the earlier upload's hash and time for the caller to compare.
 *
 * The upload's run is `p_run_id` (migration 0011 added it).
 *
 * Answers one row: `stored`, `replayed` (with `request_hash`, `finished_time`, `run_id`)
 * or `task-missing`; no row when the key conflicted and the earlier upload was gone.
 */
export const STORE_UPLOAD_FUNCTION = `
create or replace function sms_store_upload(
  p_task_id text, p_finished_time bigint, p_check_result text, p_idempotency_key text,
  p_request_hash text, p_results text, p_dir_check text[], p_num_total_files bigint[],
  p_num_different_files bigint[], p_num_target_miss_files bigint[], p_num_target_more_files bigint[],
  p_run_id text
) returns table (outcome text, request_hash text, finished_time bigint, run_id text)
language plpgsql volatile
-- planned for each call: a plan cached while a task's directories were few would scan them all later
set plan_cache_mode = force_custom_plan
as $fn$
declare
  t record;
  d record;
  v_id bigint;
  v_old text;
  v_new text;
begin
  select * into t from tasks where id = p_task_id for no key update;
  if not found then
    return query select 'task-missing'::text, null::text, null::bigint, null::text;
    return;
  end if;
  with v as (
    select * from unnest(p_dir_check, p_num_total_files, p_num_different_files,
      p_num_target_miss_files, p_num_target_more_files) as v(dir_check, total, different, miss, more)
  ), c as (
    -- by the primary key, whatever the plan: a task's other directories are never read
    select * from task_directories td where td.task_id = p_task_id and td.dir_check = any(p_dir_check)
  ), fresh as (
    select v.*, c.task_id is not null as replaces, c.num_total_files as o_total,
      c.num_different_files as o_different, c.num_target_miss_files as o_miss,
      c.num_target_more_files as o_more
    from v left join c on c.dir_check = v.dir_check
    where c.task_id is null or c.finished_time <= p_finished_time
  )
  select
    count(*) filter (where not replaces) as dir_count,
    count(*) filter (where different + miss + more > 0)
      - count(*) filter (where replaces and o_different + o_miss + o_more > 0) as inconsistent_dirs,
    coalesce(sum(total), 0) - coalesce(sum(o_total), 0) as num_total_files,
    coalesce(sum(different), 0) - coalesce(sum(o_different), 0) as num_different_files,
    coalesce(sum(miss), 0) - coalesce(sum(o_miss), 0) as num_target_miss_files,
    coalesce(sum(more), 0) - coalesce(sum(o_more), 0) as num_target_more_files
  into d from fresh;

  insert into consistency_uploads (task_id, finished_time, check_result, idempotency_key, request_hash,
    results, dir_count, num_total_files, num_different_files, num_target_miss_files, num_target_more_files,
    task_dir_count, task_inconsistent_dirs, task_num_total_files, task_num_different_files,
    task_num_target_miss_files, task_num_target_more_files, run_id)
  values (p_task_id, p_finished_time, p_check_result, p_idempotency_key, p_request_hash, p_results,
    cardinality(p_dir_check),
    (select coalesce(sum(x), 0) from unnest(p_num_total_files) x),
    (select coalesce(sum(x), 0) from unnest(p_num_different_files) x),
    (select coalesce(sum(x), 0) from unnest(p_num_target_miss_files) x),
    (select coalesce(sum(x), 0) from unnest(p_num_target_more_files) x),
    t.dir_count + d.dir_count, t.inconsistent_dirs + d.inconsistent_dirs,
    t.num_total_files + d.num_total_files, t.num_different_files + d.num_different_files,
    t.num_target_miss_files + d.num_target_miss_files, t.num_target_more_files + d.num_target_more_files,
    p_run_id)
  on conflict (task_id, idempotency_key) do nothing
  returning id into v_id;
  if v_id is null then
    return query select 'replayed'::text, u.request_hash, u.finished_time, u.run_id from consistency_uploads u
      where u.task_id = p_task_id and u.idempotency_key = p_idempotency_key;
    return;
  end if;

  insert into task_directories (task_id, dir_check, num_total_files, num_different_files,
    num_target_miss_files, num_target_more_files, upload_id, finished_time)
  select p_task_id, v.dir_check, v.total, v.different, v.miss, v.more, v_id, p_finished_time
  from unnest(p_dir_check, p_num_total_files, p_num_different_files, p_num_target_miss_files,
    p_num_target_more_files) as v(dir_check, total, different, miss, more)
  left join (select td.dir_check, td.finished_time from task_directories td
    where td.task_id = p_task_id and td.dir_check = any(p_dir_check)) c on c.dir_check = v.dir_check
  where c.finished_time is null or c.finished_time <= p_finished_time
  on conflict (task_id, dir_check) do update set num_total_files = excluded.num_total_files,
    num_different_files = excluded.num_different_files,
    num_target_miss_files = excluded.num_target_miss_files,
    num_target_more_files = excluded.num_target_more_files,
    upload_id = excluded.upload_id, finished_time = excluded.finished_time;

  update tasks set dir_count = t.dir_count + d.dir_count,
    inconsistent_dirs = t.inconsistent_dirs + d.inconsistent_dirs,
    num_total_files = t.num_total_files + d.num_total_files,
    num_different_files = t.num_different_files + d.num_different_files,
    num_target_miss_files = t.num_target_miss_files + d.num_target_miss_files,
    num_target_more_files = t.num_target_more_files + d.num_target_more_files,
    latest_upload_id = case when t.latest_finished_time is null
      or p_finished_time >= t.latest_finished_time then v_id else t.latest_upload_id end,
    latest_finished_time = case when t.latest_finished_time is null
      or p_finished_time >= t.latest_finished_time then p_finished_time else t.latest_finished_time end
  where id = p_task_id;
  -- the verdict's change, for the project's webhooks, in this same transaction (storage/webhook-outbox.ts
  -- builds the same event on SQLite)
  v_old := case when t.latest_upload_id is null then 'never' when t.dir_count = 0 then 'no-result'
    when t.inconsistent_dirs > 0 then 'inconsistent' else 'consistent' end;
  v_new := case when t.dir_count + d.dir_count = 0 then 'no-result'
    when t.inconsistent_dirs + d.inconsistent_dirs > 0 then 'inconsistent' else 'consistent' end;
  if v_new <> v_old and v_new in ('consistent', 'inconsistent') then
    insert into webhook_events (webhook_id, event_id, type, payload, created_at, state, attempts, next_attempt_at)
    select w.id, gen_random_uuid()::text, 'verdict.changed', json_build_object(
        'task_id', p_task_id, 'task_name', t.name, 'previous_verdict', v_old, 'verdict', v_new,
        'run_id', p_run_id, 'totals', json_build_object(
          'dir_count', t.dir_count + d.dir_count, 'inconsistent_dirs', t.inconsistent_dirs + d.inconsistent_dirs,
          'num_total_files', t.num_total_files + d.num_total_files,
          'num_different_files', t.num_different_files + d.num_different_files,
          'num_target_miss_files', t.num_target_miss_files + d.num_target_miss_files,
          'num_target_more_files', t.num_target_more_files + d.num_target_more_files))::text,
      p_finished_time, 'pending', 0, p_finished_time
    from webhooks w where w.project_id = t.project_id;
  end if;
  return query select 'stored'::text, null::text, p_finished_time, p_run_id;
end
$fn$`;
