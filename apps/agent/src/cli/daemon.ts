import { hostname } from 'node:os';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { positiveInteger, SIGNAL_EXIT, say, uploadContext, uploadOptions } from './shared.js';

function leaseSeconds(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 10 || Number(value) > 3600)
    throw new InvalidArgumentError('expected whole seconds 10..3600');
  return Number(value);
}

export function registerDaemon(program: Command): void {
  uploadOptions(
    program
      .command('daemon')
      .summary('take verification requests from the server and run them (for a systemd unit)')
      .description(
        'long-poll the server for the verification requests of the tasks of the project\n' +
          '("Verify now", schedules), take one at a time with a lease (renewed every third\n' +
          "of it), run it as sms-agent run --task would, and finish it done with the run's\n" +
          'verdict, or failed with the error (a key the task lacks fails the request, not\n' +
          'the daemon). A renewal refused (the lease expired and another agent took the\n' +
          'request) abandons the run. Network errors and server restarts are waited out\n' +
          '(1 s doubling to 30 s); it never exits for them. SIGTERM or SIGINT: take no more\n' +
          'requests, interrupt the running one and hand it back (release), exit 0; a\n' +
          'second signal exits at once. One line on stderr per event.',
      )
      .option(
        '--lease <seconds>',
        'the lease of a claim, 10..3600 s; renewed every third of it',
        leaseSeconds,
        120,
      )
      .option('--name <name>', 'the agent name sent with claims (default: the host name)')
      .option('--once', 'take at most one request, then exit')
      .option(
        '--workers <n>',
        'threads that read and compare in each run (as verify --workers)',
        positiveInteger(64),
      ),
  ).action(async (flags) => {
    const context = await uploadContext(flags);
    const { runDaemon } = await import('./daemon-loop.js');
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (stop.signal.aborted) process.exit(SIGNAL_EXIT[signal] ?? 1);
      say(`sms-agent daemon: ${signal}: taking no more requests (a second ${signal} exits at once)`);
      stop.abort(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      await runDaemon({
        context,
        name: flags.name ?? hostname(),
        leaseSeconds: flags.lease,
        once: flags.once ?? false,
        workers: flags.workers,
        stop: stop.signal,
        log: (line) => say(line.startsWith('sms-agent') ? line : `sms-agent daemon: ${line}`),
      });
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    say('sms-agent daemon: stopped');
    process.exitCode = 0;
  });
}
