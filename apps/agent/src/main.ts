import { main } from './cli/index.js';
import { EXIT } from './cli/shared.js';
import { describeError } from './engine/listing.js';

// The entry of the agent's bundles, both CommonJS scripts (so no top-level await): the package's
// dist/sms-agent.cjs (scripts/bundle.mjs), which bin/sms-agent.js loads and a host reached over ssh
// runs as a copy, and the single executable's (scripts/build-exe.mjs). In an executable,
// process.argv[1] is the executable itself, as process.argv[0].
let ended = false;
void main(process.argv.slice(2)).finally(() => {
  ended = true;
});
// A run whose work stopped waiting for something that can no longer happen (nothing left to run,
// the command not ended) must not exit 0, which `verify` means as "consistent": an ES module's
// top-level await exits 13 then; this says so and exits 2. (Not on process.exit, which the daemon
// calls on a second signal: 'beforeExit' is only for an event loop that ran empty.)
process.on('beforeExit', () => {
  if (ended || process.exitCode === EXIT.error) return;
  process.stderr.write(
    'sms-agent: stopped before its command ended (an internal error): the result is unknown\n',
  );
  process.exitCode = EXIT.error;
});

// A standard output that cannot be written (a full disk, a reader gone as with `| head`): what the
// run printed is incomplete, so it fails (exit 2), never 0 ("consistent") or 1, and says why, once.
let stdoutFailed = false;
process.stdout.on('error', (error) => {
  // a command that writes its own output there (manifest) says it in its own words
  if (!stdoutFailed && process.stdout.listenerCount('error') === 1)
    process.stderr.write(
      `sms-agent: cannot write to standard output: ${describeError(error)}: what this run printed is incomplete (give a file with room, or read all of it)\n`,
    );
  stdoutFailed = true;
});
// A standard error that cannot be written (a closed pipe: the ssh session that ran this gone, a
// logger that died): its messages are lost, but the run goes on to its verdict, its spool and its
// exit code (a write error there was an uncaught exception: exit 1, "inconsistent", and a verdict
// never spooled).
process.stderr.on('error', () => {});
// Anything thrown that nothing caught is this agent's failure, never a verdict: exit 2 (Node's own
// is 1, which verify means as "inconsistent").
process.on('uncaughtException', (error) => {
  try {
    process.stderr.write(`sms-agent: internal error: ${error?.stack ?? String(error)}\n`);
  } catch {
    // nowhere to say it
  }
  process.exit(EXIT.error);
});
process.on('exit', (code) => {
  // what stays as it was: 2 already, 3 (kept in the spool: flush them), 130 and 143 (interrupted)
  if (stdoutFailed && (code === EXIT.consistent || code === EXIT.inconsistent)) process.exitCode = EXIT.error;
});
