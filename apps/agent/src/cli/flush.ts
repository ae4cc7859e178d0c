import type { Command } from 'commander';
import { plural } from '../plural.js';
import { deliveryExit, EXIT, say, summarizeDeliveries, uploadContext, uploadOptions } from './shared.js';

export function registerFlush(program: Command): void {
  uploadOptions(
    program
      .command('flush')
      .summary('deliver the spooled uploads')
      .description(
        'deliver the uploads waiting in the spool (each with the idempotency key it was spooled with),\n' +
          'and say how many the server refused for good wait in spool/failed/.\n' +
          'Exit status: 0 all delivered, 2 one refused for good (or a broken file), 3 one still kept in the spool.',
      ),
  ).action(async (flags) => {
    const { spool, client, upload } = await uploadContext(flags);
    const { outcomes, broken } = await upload.flushSpool(client, spool, undefined, {
      onWait: (note) => say(`spool: ${note}`),
    });
    for (const b of broken)
      say(`error: ${b.file} is not a readable spooled upload (${b.reason}); it was left in place`);
    if (outcomes.length === 0 && broken.length === 0)
      say(`nothing to deliver in ${spool.dir}${spool.absence}`);
    else for (const line of summarizeDeliveries(outcomes, spool.dir)) say(line);
    // refused uploads of earlier runs wait too: say so every time, with what to do
    const refusedBefore =
      spool.listFailed().entries.length - outcomes.filter((o) => o.status === 'refused').length;
    if (refusedBefore > 0)
      say(
        `${plural(refusedBefore, 'upload')} refused earlier ${refusedBefore === 1 ? 'waits' : 'wait'} in ${spool.dir}/failed: sms-agent spool list shows why; once fixed, sms-agent spool retry --all, then sms-agent flush (or sms-agent spool drop ID)`,
      );
    process.exitCode = broken.length > 0 ? EXIT.error : deliveryExit(outcomes);
  });
}
