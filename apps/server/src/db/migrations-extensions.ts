import { type ColumnDefinitionBuilder, type Kysely, type Migration, sql } from 'kysely';
import { STORE_UPLOAD_FUNCTION } from './postgres-store-upload.js';
import type { Dialect } from './schema.js';

/** Migrations 0011 on: our extensions beside the SMS API (findings, configuration and verification requests, webhooks). */
export function extensionMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0011_findings': {
      async up(db: Kysely<unknown>) {
        // runs (X-Sms-Run-Id) on uploads; null for uploads stored before: each its own run
        await db.schema.alterTable('consistency_uploads').addColumn('run_id', 'text').execute();
        await db.schema
          .createIndex('uploads_task_run')
          .on('consistency_uploads')
          .columns(['task_id', 'run_id'])
          .execute();
        const id = (c: ColumnDefinitionBuilder) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement();
        const idType = dialect === 'postgres' ? 'bigserial' : 'integer';
        // one findings upload (one request): its rows are seen only once it is `done`
        await db.schema
          .createTable('finding_batches')
          .addColumn('id', idType, id)
          .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
          .addColumn('run_id', 'text', (c) => c.notNull())
          .addColumn('idempotency_key', 'text')
          .addColumn('request_hash', 'text')
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('stored', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('superseded', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('dirs', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('finding_batches_task_key')
          .unique()
          .on('finding_batches')
          .columns(['task_id', 'idempotency_key'])
          .execute();
        await db.schema
          .createTable('findings')
          .addColumn('id', idType, id)
          .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
          .addColumn('dir_check', 'text', (c) => c.notNull())
          .addColumn('run_id', 'text', (c) => c.notNull())
          .addColumn('batch_id', 'bigint', (c) => c.notNull())
          .addColumn('category', 'text', (c) => c.notNull())
          .addColumn('path', 'text', (c) => c.notNull())
          .addColumn('path_base64', 'text')
          .addColumn('reason', 'text', (c) => c.notNull())
          .execute();
        // a directory's findings of one run in the order they came: pages, counts and sweeps seek here
        await db.schema
          .createIndex('findings_task_dir_run')
          .on('findings')
          .columns(['task_id', 'dir_check', 'run_id', 'id'])
          .execute();
        // each directory's findings of a run, once stored: how many, and whether the agent cut the list
        await db.schema
          .createTable('finding_directories')
          .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
          .addColumn('dir_check', 'text', (c) => c.notNull())
          .addColumn('run_id', 'text', (c) => c.notNull())
          .addColumn('findings', 'bigint', (c) => c.notNull())
          .addColumn('truncated', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('finding_directories_pk', ['task_id', 'dir_check', 'run_id'])
          .execute();
        if (dialect === 'postgres') {
          await sql
            .raw(
              'drop function if exists sms_store_upload(text, bigint, text, text, text, text, text[], bigint[], bigint[], bigint[], bigint[])',
            )
            .execute(db);
          await sql.raw(STORE_UPLOAD_FUNCTION).execute(db);
        }
      },
    },
    '0012_configuration_and_requests': {
      async up(db: Kysely<unknown>) {
        // a task's agent configuration (configuration-setting): one row per key set
        await db.schema
          .createTable('task_configurations')
          .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
          .addColumn('config_key', 'text', (c) => c.notNull())
          .addColumn('config_value', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('task_configurations_pk', ['task_id', 'config_key'])
          .execute();
        // verification requests ("Verify now", schedules), taken by agents' daemons with a lease
        await db.schema
          .createTable('verification_requests')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('task_id', 'text', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('origin', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('created_by', 'text')
          .addColumn('scheduled_for', 'bigint')
          .addColumn('agent', 'text')
          .addColumn('lease_id', 'text')
          .addColumn('lease_expires_at', 'bigint')
          .addColumn('run_id', 'text')
          .addColumn('started_at', 'bigint')
          .addColumn('finished_at', 'bigint')
          .addColumn('check_result', 'text')
          .addColumn('error', 'text')
          .execute();
        await db.schema
          .createIndex('verification_requests_task')
          .on('verification_requests')
          .columns(['task_id', 'created_at'])
          .execute();
        await db.schema
          .createIndex('verification_requests_state')
          .on('verification_requests')
          .columns(['state', 'created_at'])
          .execute();
        // at most one open request per task, whoever asks (two admins, a schedule, several servers)
        await sql`create unique index verification_requests_open on verification_requests (task_id) where state in ('pending', 'running')`.execute(
          db,
        );
        // each scheduled time of a task asks once, however many servers share the database
        await sql`create unique index verification_requests_slot on verification_requests (task_id, scheduled_for) where scheduled_for is not null`.execute(
          db,
        );
      },
    },
    '0013_webhooks': {
      async up(db: Kysely<unknown>) {
        const id = (c: ColumnDefinitionBuilder) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement();
        // a project's webhooks: where its events go, and the secret (sealed) that signs them
        await db.schema
          .createTable('webhooks')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('secret_sealed', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('webhooks_project').on('webhooks').column('project_id').execute();
        // the outbox: one row per event and webhook, written with the change that causes it
        await db.schema
          .createTable('webhook_events')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', id)
          .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
          .addColumn('last_status', 'integer')
          .addColumn('last_error', 'text')
          .addColumn('delivered_at', 'bigint')
          .execute();
        await db.schema
          .createIndex('webhook_events_due')
          .on('webhook_events')
          .columns(['state', 'next_attempt_at'])
          .execute();
        await db.schema
          .createIndex('webhook_events_webhook')
          .on('webhook_events')
          .columns(['webhook_id', 'created_at'])
          .execute();
        if (dialect === 'postgres') await sql.raw(STORE_UPLOAD_FUNCTION).execute(db);
      },
    },
  };
}
