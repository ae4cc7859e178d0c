import type { Command } from 'commander';
import { crypto } from '../builtins.js';
import { deliveryExit, say, summarizeDeliveries, taskId, uploadContext, uploadOptions } from './shared.js';

export function registerUpload(program: Command): void {
  uploadOptions(
    program
      .command('upload')
      .summary('upload a saved verify --json result')
      .description('upload a result saved with verify --json (in uploads of at most 30 directories)')
      .requiredOption('--task <id>', 'the task to upload to')
      .argument('<result.json>', 'the output of sms-agent verify --json'),
  ).action(async (file: string, flags) => {
    const task = await taskId(flags.task);
    const results = (await import('../consistency-file.js')).read(file);
    const { spool, client, upload } = await uploadContext(flags);
    // the uploads of one saved result are one run, as those of the verify that made it would have been
    const outcomes = await upload.uploadResults(client, spool, task, results, crypto().randomUUID());
    for (const line of summarizeDeliveries(outcomes, spool.dir)) say(line);
    process.exitCode = deliveryExit(outcomes);
  });
}
