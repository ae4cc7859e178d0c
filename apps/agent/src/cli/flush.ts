import type { Command } from 'commander';
import { EXIT, say, summarizeDeliveries, uploadContext, uploadOptions } from './shared.js';

export function registerFlush(program: Command): void {
  uploadOptions(
    program
      .command('flush')
      .summary('deliver the spooled uploads')
      .description(
        'deliver the uploads waiting in the spool (each with the idempotency key it was spooled with)',
      ),
  ).action(async (flags) => {
    const { spool, client, upload } = await uploadContext(flags);
    const { outcomes, broken } = await upload.flushSpool(client, spool);
    for (const b of broken)
      say(`error: ${b.file} is not a readable spooled upload (${b.reason}); it was left in place`);
    if (outcomes.length === 0 && broken.length === 0) say(`nothing to deliver in ${spool.dir}`);
    else for (const line of summarizeDeliveries(outcomes, spool.dir).lines) say(line);
    process.exitCode =
      outcomes.every((o) => o.status === 'delivered') && broken.length === 0 ? EXIT.consistent : EXIT.error;
  });
}
