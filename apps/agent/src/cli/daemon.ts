import { hostname } from 'node:os';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import {
  EXIT,
  IO_TIMEOUT_WHEN,
  SIGNAL_EXIT,
  say,
  UsageError,
  uploadContext,
  uploadOptions,
  wholeNumber,
} from './shared.js';
import { killIfStuck } from './stall.js';

function leaseSeconds(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 10 || Number(value) > 3600)
    throw new InvalidArgumentError('expected whole seconds 10..3600');
  return Number(value);
}

/**
 * `--name` (default the host name), as the server takes it: a task's `CONSISTENCY_AGENT` names
 * one. Checked here, so that a bad one is told at the start, not as every poll failing.
 */
async function agentName(name: string, given: boolean): Promise<string> {
  const [{ AgentNameSchema }, v] = await Promise.all([import('@sms/domain'), import('valibot')]);
  const parsed = v.safeParse(AgentNameSchema, name);
  if (!parsed.success)
    throw new UsageError(
      `${given ? '--name' : 'the host name (the default --name)'} ${JSON.stringify(name)}: ${parsed.issues.map((i) => i.message).join('; ')}${given ? '' : '; give --name'}`,
    );
  return parsed.output;
}

export function registerDaemon(program: Command): void {
  uploadOptions(
    program
      .command('daemon')
      .summary('take verification requests from the server and run them (for a systemd unit)')
      .description(
        'long-poll the server for the verification requests of the tasks of the project\n' +
          '("Verify now", schedules) that this agent may take (a task whose CONSISTENCY_AGENT\n' +
          'is set goes only to the agent of that --name), take one at a time with a lease\n' +
          '(renewed every third of it), run it as sms-agent run --task would, and finish it\n' +
          "done with the run's verdict, or failed with the error (a key the task lacks fails\n" +
          'the request, not the daemon). A renewal refused (the lease expired and another\n' +
          'agent took the request) abandons the run. Network errors and server restarts are\n' +
          'waited out (1 s doubling to 30 s); it never exits for them. SIGTERM or SIGINT:\n' +
          'take no more requests, interrupt the running one and hand it back (release),\n' +
          'exit 0; a second signal exits at once. One line on stderr per event.',
      )
      .option(
        '--lease <seconds>',
        'the lease of a claim, 10..3600 s; renewed every third of it',
        leaseSeconds,
        120,
      )
      .option(
        '--name <name>',
        "the agent's name, sent with polls and claims: a task's CONSISTENCY_AGENT names it (default: the host name)",
      )
      .option(
        '--once',
        'poll once (waiting as a poll does, 30 s), run the request taken if any, then exit (for cron): 0 when it was done or none was pending; 3 when the server could not be reached, or the request could not be taken or finished (pending again); 2 when the server refused the poll (its credentials, say) or the request failed',
      )
      .option(
        '--workers <n>',
        'threads that read and compare in each run (as verify --workers, but at least 1: the lease is renewed from the main thread, which a large file compared there would hold up until the lease ran out)',
        wholeNumber(64, 1),
      )
      .option(
        '--io-timeout <seconds>',
        `fail the request ${IO_TIMEOUT_WHEN}; a daemon left with such a thread takes no more requests and ends itself so`,
        wholeNumber(86_400),
        0,
      ),
  ).action(async (flags) => {
    const name = await agentName(flags.name ?? hostname(), flags.name !== undefined);
    const context = await uploadContext(flags);
    const { runDaemon } = await import('./daemon-loop.js');
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (stop.signal.aborted) {
        killIfStuck(say);
        process.exit(SIGNAL_EXIT[signal] ?? 1);
      }
      say(`sms-agent daemon: ${signal}: taking no more requests (a second ${signal} exits at once)`);
      stop.abort(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    let ended: Awaited<ReturnType<typeof runDaemon>>;
    try {
      ended = await runDaemon({
        context,
        name,
        leaseSeconds: flags.lease,
        once: flags.once ?? false,
        workers: flags.workers,
        ioTimeoutSeconds: flags.ioTimeout,
        stop: stop.signal,
        log: (line) => say(line.startsWith('sms-agent') ? line : `sms-agent daemon: ${line}`),
      });
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    say('sms-agent daemon: stopped');
    // --once whose poll could not reach the server, or whose request could not be taken or its end
    // not told (pending again): as an upload kept for later, 3; the poll refused (its credentials,
    // say) or the request taken failed: 2
    process.exitCode =
      ended === 'unreachable'
        ? EXIT.spooled
        : ended === 'refused' || ended === 'failed' || ended === 'stuck'
          ? EXIT.error
          : EXIT.consistent;
  });
}
