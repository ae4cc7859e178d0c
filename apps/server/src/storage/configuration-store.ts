import { CONFIG_KEYS, type ConfigurationEntry } from '@sms/domain';
import { Store } from './handle.js';

/** A task's agent configuration (configuration-setting): one row per key set. */
export class ConfigurationStore extends Store {
  /** The keys set for the task, in the order of `CONFIG_KEYS`. */
  async configuration(taskId: string): Promise<ConfigurationEntry[]> {
    return this.run('read configuration', async () => {
      const rows = await this.db
        .selectFrom('task_configurations')
        .select(['config_key', 'config_value'])
        .where('task_id', '=', taskId)
        .execute();
      const order = (key: string) => (CONFIG_KEYS as readonly string[]).indexOf(key);
      return rows.sort((a, b) => order(a.config_key) - order(b.config_key));
    });
  }

  /** Sets the given keys (a value `""` removes its key), together. */
  async update(taskId: string, entries: readonly ConfigurationEntry[], now: number): Promise<void> {
    await this.run('update configuration', () =>
      this.db.transaction().execute(async (trx) => {
        for (const { config_key, config_value } of entries) {
          if (config_value === '') {
            const removed = await trx
              .deleteFrom('task_configurations')
              .where('task_id', '=', taskId)
              .where('config_key', '=', config_key)
              .executeTakeFirst();
            // the schedule's times change with its time zone: the schedule takes its new form now
            if (config_key === 'CONSISTENCY_TIMEZONE' && Number(removed.numDeletedRows) > 0)
              await trx
                .updateTable('task_configurations')
                .set({ updated_at: now })
                .where('task_id', '=', taskId)
                .where('config_key', '=', 'CONSISTENCY_SCHEDULE')
                .execute();
            continue;
          }
          await trx
            .insertInto('task_configurations')
            .values({ task_id: taskId, config_key, config_value, updated_at: now })
            // a value saved again unchanged keeps when it was set (the scheduler asks only for the
            // times after a schedule took its present form)
            .onConflict((oc) =>
              oc
                .columns(['task_id', 'config_key'])
                .doUpdateSet({ config_value, updated_at: now })
                .where('task_configurations.config_value', '!=', config_value),
            )
            .execute();
        }
      }),
    );
  }

  /** Every task with a schedule: its id, schedule, time zone and creation time (for the scheduler). */
  /**
   * Every task's schedule, with `since`: when it took its present form (the task's creation, or
   * the last change of its schedule or time zone); an earlier time was not this schedule's to ask.
   */
  async schedules(): Promise<
    { task_id: string; schedule: string; timezone: string | undefined; since: number }[]
  > {
    return this.run('read schedules', async () => {
      const rows = await this.db
        .selectFrom('task_configurations as s')
        .innerJoin('tasks as t', 't.id', 's.task_id')
        .leftJoin('task_configurations as z', (join) =>
          join.onRef('z.task_id', '=', 's.task_id').on('z.config_key', '=', 'CONSISTENCY_TIMEZONE'),
        )
        .select([
          's.task_id',
          's.config_value as schedule',
          's.updated_at as schedule_set',
          'z.config_value as timezone',
          'z.updated_at as timezone_set',
          't.create_date',
        ])
        .where('s.config_key', '=', 'CONSISTENCY_SCHEDULE')
        .execute();
      return rows.map((r) => ({
        task_id: r.task_id,
        schedule: r.schedule,
        timezone: r.timezone ?? undefined,
        since: Math.max(Number(r.create_date), Number(r.schedule_set), Number(r.timezone_set ?? 0)),
      }));
    });
  }
}
