import type { Command } from 'commander';
import { say, taskId, UsageError, uploadContext, uploadOptions } from './shared.js';

export function registerConfig(program: Command): void {
  uploadOptions(
    program
      .command('config')
      .summary("show or set a task's configuration on the server (what run and daemon verify)")
      .description(
        "without KEY=VALUE: print the task's configuration, one KEY=VALUE a line\n" +
          "(--json: the server's body). With KEY=VALUE (repeatable; an admin's\n" +
          'credentials): set those keys, then print it; KEY= removes a key. A bad value\n' +
          'or an unknown key: exit 2 naming it, nothing set. Keys and their values:\n' +
          '  CONSISTENCY_DIR       JSON array of absolute directories: \'["/root/data"]\'\n' +
          '  CONSISTENCY_MODE      quick or content\n' +
          '  CONSISTENCY_RECHECK   true or false\n' +
          "  CONSISTENCY_SOURCE    where the source's / is on the agent's host (default /)\n" +
          "  CONSISTENCY_TARGET    where the target's / is: /mnt/target, host:/, ssh://h/\n" +
          '  CONSISTENCY_EXCLUDE   JSON array of --exclude patterns: \'["*.log","tmp/"]\'\n' +
          '  CONSISTENCY_METADATA  JSON array of mode, uid, gid: \'["mode","uid"]\'\n' +
          '  CONSISTENCY_SCHEDULE  cron expression: when the server asks for a verification\n' +
          '  CONSISTENCY_TIMEZONE  the time zone of the schedule (default UTC)\n' +
          "  CONSISTENCY_AGENT     the daemon that takes the task's requests: its --name\n" +
          '                        (default its host name); unset, any daemon of the project',
      )
      .requiredOption('--task <id>', 'the task')
      .option('--json', 'print the configuration as the server answers it')
      .argument('[assignments...]', 'KEY=VALUE to set (KEY= removes the key)'),
  ).action(async (assignments: string[], flags) => {
    const task = await taskId(flags.task);
    const entries = assignments.map((assignment) => {
      const at = assignment.indexOf('=');
      if (at <= 0)
        throw new UsageError(
          `${assignment}: expected KEY=VALUE, such as 'CONSISTENCY_DIR=["/root/data"]' (KEY= removes the key)`,
        );
      return { config_key: assignment.slice(0, at), config_value: assignment.slice(at + 1) };
    });
    const { client } = await uploadContext(flags);
    if (entries.length > 0) {
      const { isSmsValidationError } = await import('@sms/client');
      try {
        await client.updateConfiguration(task, entries);
      } catch (error) {
        if (isSmsValidationError(error)) throw new UsageError(`nothing set: ${error.message}`);
        throw error;
      }
      say(`set ${entries.map((e) => e.config_key).join(', ')} of task ${task}`);
    }
    const answer = await client.getConfiguration(task);
    process.stdout.write(
      flags.json
        ? `${JSON.stringify(answer, null, 2)}\n`
        : answer.configurations.map((e) => `${e.config_key}=${e.config_value}\n`).join(''),
    );
  });
}
